// How long a config change takes to reach N connected meshlet xDS clients, and how much server
// memory each connected client costs. The control server runs in its own process; the clients
// in --workers processes (real mesh clients each live in their own process).
//
//   node --import tsx bench/xds-convergence.ts [--clients 100] [--changes 20] [--workers 4]
//     [--sotw] [--delta]   the clients' xDS protocol (default: the client's default, delta);
//                          both: a server and a client pool each, every change applied to each in turn
//     [--protocols sotw,delta,delta]   explicit list; a repeated one is an A/A row
//     [--services 20]      other services whose endpoints every client watches (as a mesh does)
//     [--kinds endpoint]   only these change kinds (route weight, endpoint, new cluster)
//     [--timeout 10000]    ms a change may take to reach every client; the initial sync gets 6×
import { parseArgs } from 'node:util';
import { startControlProcess, type ControlProcess } from './lib/control-process.js';
import { fmt, percentile } from './lib/stats.js';
import { ClientPool } from './lib/worker-pool.js';
import { destinationRule, serviceEntry, virtualService } from './lib/bench-config.js';
import { HOST, type Expectation } from './lib/xds-client-worker.js';

/** One (change kind, protocol) row. */
export interface ConvergenceRow {
  kind: string;
  /** The clients' xDS protocol ('default': the client's default, incremental). */
  protocol: Protocol;
  firstP50: number; p50: number; p99: number; max: number; lost: number;
  serverCpuMs: number; clientCpuUs: number;
  /** What the server wrote per change (every stream, every type): bytes and responses. */
  bytesPerChange: number; responsesPerChange: number;
}

export interface ConvergenceResult {
  clients: number;
  workers: number;
  changes: number;
  services: number;
  rows: ConvergenceRow[];
  /** Of the first protocol's server (one per protocol is started). */
  perClientRssKiB: number;
  perClientHeapKiB: number;
  /** Per server, in `protocols` order. */
  memory: Array<{ protocol: Protocol; rssKiB: number; heapKiB: number }>;
}

export type Protocol = 'default' | 'sotw' | 'delta';

/** The other services of the mesh (`--services`): each client also watches their endpoints, as a mesh client watches every cluster it may call. */
function otherService(i: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc${i} }
spec:
  hosts: [svc${i}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  endpoints:
  - { address: 10.1.${i >> 8}.${i & 255} }
  - { address: 10.2.${i >> 8}.${i & 255} }
`;
}

interface Side {
  protocol: Protocol;
  control: ControlProcess;
  pool?: ClientPool;
}

/**
 * Convergence per change kind. With several protocols, one control server (own process) and one
 * client pool per protocol run side by side, and every change is applied to each in turn
 * (interleaved, so machine load hits both alike); server CPU and bytes are per server.
 */
export async function runConvergence(opts: { clients: number; changes: number; workers: number; protocols?: Protocol[]; services?: number; kinds?: string[]; timeoutMs?: number }): Promise<ConvergenceResult> {
  const { clients: N, changes: CHANGES, workers, timeoutMs = 10_000 } = opts;
  const protocols = opts.protocols ?? ['default'];
  const services = opts.services ?? 0;
  const sides: Side[] = [];
  try {
    for (const protocol of protocols) sides.push({ protocol, control: await startControlProcess() });
    const apply = (side: Side, yaml: string) => side.control.admin('/apply', { method: 'POST', body: yaml });
    const endpoints = Array.from({ length: services }, (_, i) => `outbound|9080||svc${i}.default.svc.cluster.local`);
    for (const side of sides) {
      await apply(side, serviceEntry(1));
      await apply(side, destinationRule(0));
      await apply(side, virtualService(90));
      for (let i = 0; i < services; i++) await apply(side, otherService(i));
    }
    await new Promise((r) => setTimeout(r, 200));
    const idle: NodeJS.MemoryUsage[] = [];
    for (const side of sides) idle.push((await side.control.admin<{ memory: NodeJS.MemoryUsage }>('/debug/process?gc=1')).memory);
    for (const side of sides) {
      side.pool = await ClientPool.start(`127.0.0.1:${side.control.xdsPort}`, N, workers, { ...(side.protocol === 'default' ? {} : { delta: side.protocol === 'delta' }), endpoints });
      await side.pool.measure({ kind: 'synced', v1Weight: 90, weight: 1 }, async () => {}, 6 * timeoutMs);
    }
    await new Promise((r) => setTimeout(r, 500));
    const memory: ConvergenceResult['memory'] = [];
    for (const [i, side] of sides.entries()) {
      const loaded = (await side.control.admin<{ memory: NodeJS.MemoryUsage }>('/debug/process?gc=1')).memory;
      memory.push({ protocol: side.protocol, rssKiB: (loaded.rss - idle[i]!.rss) / N / 1024, heapKiB: (loaded.heapUsed - idle[i]!.heapUsed) / N / 1024 });
    }

    const all: Array<{ kind: string; change: (i: number) => string; expect: (i: number) => Expectation }> = [
      { kind: 'route weight', change: (i) => virtualService(10 + (i % 80)), expect: (i) => ({ kind: 'route', v1Weight: 10 + (i % 80) }) },
      { kind: 'endpoint', change: (i) => serviceEntry(2 + i), expect: (i) => ({ kind: 'endpoint', weight: 2 + i }) },
      { kind: 'new cluster', change: (i) => destinationRule(i + 1), expect: (i) => ({ kind: 'cluster', name: `outbound|9080|x${i}|${HOST}` }) },
    ];
    const kinds = opts.kinds ? all.filter((k) => opts.kinds!.includes(k.kind)) : all;
    type Stats = { samples: number[]; firsts: number[]; lost: number; cpu0: NodeJS.CpuUsage; xds0: { responses: number; bytes: number } };
    const process0 = (side: Side) => side.control.admin<{ cpu: NodeJS.CpuUsage; xds: { responses: number; bytes: number } }>('/debug/process');
    const rows: ConvergenceRow[] = [];
    for (const { kind, change, expect } of kinds) {
      const stats = new Map<Side, Stats>();
      for (const side of sides) {
        const p = await process0(side);
        stats.set(side, { samples: [], firsts: [], lost: 0, cpu0: p.cpu, xds0: p.xds });
        side.pool!.workerCpuUs = 0;
      }
      for (let i = 0; i < CHANGES; i++) {
        for (const side of sides) {
          const st = stats.get(side)!;
          const delays = await side.pool!.measure(expect(i), () => apply(side, change(i)), timeoutMs);
          st.lost += delays.filter((d) => Number.isNaN(d)).length;
          const ok = delays.filter((d) => !Number.isNaN(d));
          st.firsts.push(Math.min(...ok));
          st.samples.push(...ok);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      for (const side of sides) {
        const st = stats.get(side)!;
        const p = await process0(side);
        // CPU cost per change (server, includes the admin calls) and per client update (workers):
        // unlike the latencies, these hold steady when the machine is shared.
        const serverCpuMs = (p.cpu.user + p.cpu.system - st.cpu0.user - st.cpu0.system) / 1000 / CHANGES;
        const clientCpuUs = side.pool!.workerCpuUs / (CHANGES * N);
        rows.push({
          kind, protocol: side.protocol, firstP50: percentile(st.firsts, 50), p50: percentile(st.samples, 50), p99: percentile(st.samples, 99), max: Math.max(...st.samples), lost: st.lost,
          serverCpuMs, clientCpuUs, bytesPerChange: (p.xds.bytes - st.xds0.bytes) / CHANGES, responsesPerChange: (p.xds.responses - st.xds0.responses) / CHANGES,
        });
      }
    }
    return {
      clients: N, workers, changes: CHANGES, services, rows, memory,
      perClientRssKiB: memory[0]!.rssKiB,
      perClientHeapKiB: memory[0]!.heapKiB,
    };
  } finally {
    for (const side of sides) await side.pool?.stop();
    for (const side of sides) await side.control.stop();
  }
}

export function formatConvergence(r: ConvergenceResult): string {
  const lines = [
    `xDS convergence: ${r.clients} meshlet xDS clients in ${r.workers} processes ← control server (own process, one per protocol); ${r.changes} changes per kind${r.services ? `; ${r.services} other services whose endpoints every client watches` : ''}; delay from the admin /apply call to each client holding the new config`,
    '| change | protocol | first client p50 ms | p50 ms | p99 ms | max ms | lost | server CPU ms/change | server KiB sent/change | responses/change | client CPU µs/update |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.rows.map((x) => `| ${x.kind} | ${x.protocol} | ${fmt(x.firstP50)} | ${fmt(x.p50)} | ${fmt(x.p99)} | ${fmt(x.max)} | ${x.lost} | ${fmt(x.serverCpuMs, 2)} | ${fmt(x.bytesPerChange / 1024, 1)} | ${fmt(x.responsesPerChange, 0)} | ${fmt(x.clientCpuUs, 0)} |`),
    `server memory per connected client: ${r.memory.map((m) => `${m.protocol} RSS ${fmt(m.rssKiB)} KiB, heap ${fmt(m.heapKiB)} KiB`).join('; ')}`,
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: {
    clients: { type: 'string' }, changes: { type: 'string' }, workers: { type: 'string' }, services: { type: 'string' }, kinds: { type: 'string' }, timeout: { type: 'string' },
    delta: { type: 'boolean' }, sotw: { type: 'boolean' }, protocols: { type: 'string' },
  } });
  // --delta / --sotw pick the clients' protocol; both: one server and pool each, changes interleaved.
  // --protocols sotw,delta,delta repeats one for an A/A row (two servers with the same protocol).
  const protocols: Protocol[] = values.protocols ? (values.protocols.split(',') as Protocol[]) : values.delta || values.sotw ? [...(values.sotw ? ['sotw' as const] : []), ...(values.delta ? ['delta' as const] : [])] : ['default'];
  runConvergence({
    clients: Number(values.clients ?? 100), changes: Number(values.changes ?? 20), workers: Number(values.workers ?? 4), protocols,
    services: Number(values.services ?? 0), timeoutMs: Number(values.timeout ?? 10_000), ...(values.kinds ? { kinds: values.kinds.split(',') } : {}),
  })
    .then((r) => console.log(formatConvergence(r)))
    .catch((err) => { console.error(err); process.exitCode = 1; });
}
