// How long a config change takes to reach N connected meshlet xDS clients, and how much server
// memory each connected client costs. The control server runs in its own process; the clients
// in --workers processes (real mesh clients each live in their own process).
//
//   node --import tsx bench/xds-convergence.ts [--clients 100] [--changes 20] [--workers 4]
//     [--timeout 10000] (ms a change may take to reach every client; the initial sync gets 6×)
import { parseArgs } from 'node:util';
import { startControlProcess } from './lib/control-process.js';
import { fmt, percentile } from './lib/stats.js';
import { ClientPool } from './lib/worker-pool.js';
import { destinationRule, serviceEntry, virtualService } from './lib/bench-config.js';
import { HOST, type Expectation } from './lib/xds-client-worker.js';

export interface ConvergenceResult {
  clients: number;
  workers: number;
  changes: number;
  rows: Array<{ kind: string; firstP50: number; p50: number; p99: number; max: number; lost: number; serverCpuMs: number; clientCpuUs: number }>;
  perClientRssKiB: number;
  perClientHeapKiB: number;
}

export async function runConvergence(opts: { clients: number; changes: number; workers: number; timeoutMs?: number }): Promise<ConvergenceResult> {
  const { clients: N, changes: CHANGES, workers, timeoutMs = 10_000 } = opts;
  const control = await startControlProcess();
  const apply = (yaml: string) => control.admin('/apply', { method: 'POST', body: yaml });
  let pool: ClientPool | undefined;
  try {
    await apply(serviceEntry(1));
    await apply(destinationRule(0));
    await apply(virtualService(90));
    await new Promise((r) => setTimeout(r, 200));
    const idle = await control.admin<{ memory: NodeJS.MemoryUsage }>('/debug/process?gc=1');

    pool = await ClientPool.start(`127.0.0.1:${control.xdsPort}`, N, workers);
    await pool.measure({ kind: 'synced', v1Weight: 90, weight: 1 }, async () => {}, 6 * timeoutMs);
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await control.admin<{ memory: NodeJS.MemoryUsage; clients: number }>('/debug/process?gc=1');

    const kinds: Array<{ kind: string; change: (i: number) => string; expect: (i: number) => Expectation }> = [
      { kind: 'route weight', change: (i) => virtualService(10 + (i % 80)), expect: (i) => ({ kind: 'route', v1Weight: 10 + (i % 80) }) },
      { kind: 'endpoint', change: (i) => serviceEntry(2 + i), expect: (i) => ({ kind: 'endpoint', weight: 2 + i }) },
      { kind: 'new cluster', change: (i) => destinationRule(i + 1), expect: (i) => ({ kind: 'cluster', name: `outbound|9080|x${i}|${HOST}` }) },
    ];
    const rows: ConvergenceResult['rows'] = [];
    for (const { kind, change, expect } of kinds) {
      const samples: number[] = [];
      const firsts: number[] = [];
      let lost = 0;
      const cpu0 = (await control.admin<{ cpu: NodeJS.CpuUsage }>('/debug/process')).cpu;
      pool.workerCpuUs = 0;
      for (let i = 0; i < CHANGES; i++) {
        const delays = await pool.measure(expect(i), () => apply(change(i)), timeoutMs);
        lost += delays.filter((d) => Number.isNaN(d)).length;
        const ok = delays.filter((d) => !Number.isNaN(d));
        firsts.push(Math.min(...ok));
        samples.push(...ok);
        await new Promise((r) => setTimeout(r, 50));
      }
      const cpu1 = (await control.admin<{ cpu: NodeJS.CpuUsage }>('/debug/process')).cpu;
      // CPU cost per change (server, includes the admin calls) and per client update (workers):
      // unlike the latencies, these hold steady when the machine is shared.
      const serverCpuMs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000 / CHANGES;
      const clientCpuUs = pool.workerCpuUs / (CHANGES * N);
      rows.push({ kind, firstP50: percentile(firsts, 50), p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), lost, serverCpuMs, clientCpuUs });
    }
    return {
      clients: N, workers, changes: CHANGES, rows,
      perClientRssKiB: (loaded.memory.rss - idle.memory.rss) / N / 1024,
      perClientHeapKiB: (loaded.memory.heapUsed - idle.memory.heapUsed) / N / 1024,
    };
  } finally {
    await pool?.stop();
    await control.stop();
  }
}

export function formatConvergence(r: ConvergenceResult): string {
  const lines = [
    `xDS convergence: ${r.clients} meshlet xDS clients in ${r.workers} processes ← control server (own process); ${r.changes} changes per kind; delay from the admin /apply call to each client holding the new config`,
    '| change | first client p50 ms | p50 ms | p99 ms | max ms | lost | server CPU ms/change | client CPU µs/update |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.rows.map((x) => `| ${x.kind} | ${fmt(x.firstP50)} | ${fmt(x.p50)} | ${fmt(x.p99)} | ${fmt(x.max)} | ${x.lost} | ${fmt(x.serverCpuMs, 2)} | ${fmt(x.clientCpuUs, 0)} |`),
    `server memory per connected client: RSS ${fmt(r.perClientRssKiB)} KiB, heap ${fmt(r.perClientHeapKiB)} KiB`,
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, changes: { type: 'string' }, workers: { type: 'string' }, timeout: { type: 'string' } } });
  runConvergence({ clients: Number(values.clients ?? 100), changes: Number(values.changes ?? 20), workers: Number(values.workers ?? 4), timeoutMs: Number(values.timeout ?? 10_000) })
    .then((r) => console.log(formatConvergence(r)))
    .catch((err) => { console.error(err); process.exitCode = 1; });
}
