// High availability on etcd (issue 18): how long a config change takes to reach N xDS clients
// with three control servers on a three-member etcd (clients spread over the servers as
// primaries, the change applied through one server) against one server on files, and how long
// after one of the three servers is SIGKILLed every client holds a change applied right after
// the kill (its clients fail over first). Needs /usr/bin/etcd and the etcd3 package.
//
//   node --import tsx bench/ha.ts [--clients 100] [--changes 20] [--workers 3]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdCluster } from '../test/helpers/etcd.js';
import { destinationRule, serviceEntry, virtualService } from './lib/bench-config.js';
import { startControlProcess, type ControlProcess } from './lib/control-process.js';
import { fmt, percentile } from './lib/stats.js';
import { ClientPool } from './lib/worker-pool.js';

interface Row { setup: string; p50: number; p99: number; max: number; lost: number }

async function converge(pool: ClientPool, apply: (yaml: string) => Promise<unknown>, changes: number, setup: string): Promise<Row> {
  const samples: number[] = [];
  let lost = 0;
  for (let i = 0; i < changes; i++) {
    const w = 10 + (i % 80);
    const delays = await pool.measure({ kind: 'route', v1Weight: w }, () => apply(virtualService(w)), 30_000);
    lost += delays.filter((d) => Number.isNaN(d)).length;
    samples.push(...delays.filter((d) => !Number.isNaN(d)));
  }
  return { setup, p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), lost };
}

async function seed(apply: (yaml: string) => Promise<unknown>): Promise<void> {
  await apply(serviceEntry(1));
  await apply(destinationRule(0));
  await apply(virtualService(90));
}

export async function runHa(opts: { clients: number; changes: number; workers: number }) {
  const { clients: N, changes, workers } = opts;
  const rows: Row[] = [];
  let failover: { p50: number; max: number; lost: number } | undefined;

  // One server on files.
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-bench-ha-'));
  await writeFile(join(dir, 'empty.yaml'), '');
  const files = await startControlProcess(['--config', dir]);
  let pool: ClientPool | undefined;
  try {
    const apply = (yaml: string) => files.admin('/apply', { method: 'POST', body: yaml });
    await seed(apply);
    pool = await ClientPool.start(`127.0.0.1:${files.xdsPort}`, N, workers);
    await pool.measure({ kind: 'synced', v1Weight: 90, weight: 1 }, async () => {}, 60_000);
    rows.push(await converge(pool, apply, changes, '1 server, files'));
  } finally {
    await pool?.stop();
    pool = undefined;
    await files.stop();
    await rm(dir, { recursive: true, force: true });
  }

  // Three servers on a three-member etcd.
  const etcd = await EtcdCluster.start(3);
  const servers: ControlProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await startControlProcess(['--store', `${etcd.url}/bench-${process.pid}`]));
    const addresses = servers.map((s) => `127.0.0.1:${s.xdsPort}`);
    const apply = (yaml: string) => servers[1]!.admin('/apply', { method: 'POST', body: yaml });
    await seed(apply);
    // Worker i's clients have server i % 3 as their primary.
    pool = await ClientPool.start((i) => [...addresses.slice(i % 3), ...addresses.slice(0, i % 3)], N, workers);
    await pool.measure({ kind: 'synced', v1Weight: 90, weight: 1 }, async () => {}, 60_000);
    rows.push(await converge(pool, apply, changes, '3 servers, etcd (3 members)'));

    // SIGKILL server 0, then apply through server 1: delay until every client holds the change.
    const delays = await pool.measure({ kind: 'route', v1Weight: 7 }, async () => {
      process.kill(servers[0]!.pid, 'SIGKILL');
      await apply(virtualService(7));
    }, 60_000);
    const ok = delays.filter((d) => !Number.isNaN(d));
    failover = { p50: percentile(ok, 50), max: Math.max(...ok), lost: delays.length - ok.length };
  } finally {
    await pool?.stop();
    await Promise.all(servers.slice(1).map((s) => s.stop()));
    await etcd.stop();
  }
  return { clients: N, changes, workers, rows, failover };
}

export function formatHa(r: Awaited<ReturnType<typeof runHa>>): string {
  return [
    `HA convergence: ${r.clients} meshlet xDS clients in ${r.workers} processes; ${r.changes} route-weight changes; delay from the admin /apply call to each client holding it`,
    '| setup | p50 ms | p99 ms | max ms | lost |',
    '| --- | --- | --- | --- | --- |',
    ...r.rows.map((x) => `| ${x.setup} | ${fmt(x.p50)} | ${fmt(x.p99)} | ${fmt(x.max)} | ${x.lost} |`),
    r.failover ? `one of three servers SIGKILLed, change applied through another: every client consistent after ${fmt(r.failover.max)} ms (p50 ${fmt(r.failover.p50)} ms, lost ${r.failover.lost})` : '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, changes: { type: 'string' }, workers: { type: 'string' } } });
  runHa({ clients: Number(values.clients ?? 100), changes: Number(values.changes ?? 20), workers: Number(values.workers ?? 3) })
    .then((r) => console.log(formatHa(r)))
    .catch((err) => { console.error(err); process.exitCode = 1; });
}
