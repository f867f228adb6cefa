// Control-plane figures the convergence bench does not take: server CPU per push (CPU time of the
// server process over a series of changes, from /proc) and a reconnect storm (the server is
// restarted on the same port with a changed config; how long until every client holds it).
// Kept apart from xds-convergence.ts, whose measurement logic is owned elsewhere; it reuses the
// same worker pool and client expectations.
import { virtualService } from './bench-config.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlProcess, type ControlProcess } from './control-process.js';
import { track, untrack } from './cleanup.js';
import { freePort } from './nginx.js';
import { cpuMicros } from './procstat.js';
import { summarize } from './summary.js';
import { ClientPool } from './worker-pool.js';
import { HOST } from './xds-client-worker.js';

const base = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 }, weight: 1 }
  - { address: 10.0.0.2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

export interface ControlExtras {
  clients: number;
  changes: number;
  /** Server CPU time per config change pushed to every client, ms. */
  cpuMsPerPush: number;
  /** The same per client response, µs. */
  cpuUsPerClientPush: number;
  storm: {
    /** From the restart (old server stopping) until the last client holds the new config, ms. */
    allConsistentMs: number;
    p50Ms: number;
    p99Ms: number;
    /** How long the new server took to start and listen, ms. */
    serverStartMs: number;
    lost: number;
  };
}

const FILE_WEIGHT = 33;

export async function runControlExtras(o: { clients: number; changes: number; workers: number; log?: (l: string) => void }): Promise<ControlExtras> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-control-'));
  writeFileSync(join(dir, 'base.yaml'), base);
  writeFileSync(join(dir, 'routes.yaml'), virtualService(90));
  const port = await freePort();
  const args = ['--config', dir, '--xds-port', String(port)];
  let control: ControlProcess = await startControlProcess(args);
  track(control.pid);
  let pool: ClientPool | undefined;
  try {
    pool = await ClientPool.start(`127.0.0.1:${port}`, o.clients, o.workers);
    await pool.measure({ kind: 'synced', v1Weight: 90, weight: 1 }, async () => {}, 120_000);
    await new Promise((r) => setTimeout(r, 300));

    // CPU per push: admin-applied route changes (they override the file's VirtualService).
    const c0 = cpuMicros(control.pid);
    for (let i = 0; i < o.changes; i++) {
      const w = 10 + (i % 80);
      await pool.measure({ kind: 'route', v1Weight: w }, () => control.admin('/apply', { method: 'POST', body: virtualService(w) }), 30_000);
    }
    const cpu = cpuMicros(control.pid) - c0;

    // The storm: the file now says FILE_WEIGHT (hidden behind the applied one, so nothing is
    // pushed); a restarted server forgets applied resources and serves the file's weight.
    writeFileSync(join(dir, 'routes.yaml'), virtualService(FILE_WEIGHT));
    await new Promise((r) => setTimeout(r, 800)); // past the directory poll, so the old server has read it
    let serverStartMs = NaN;
    const delays = await pool.measure({ kind: 'route', v1Weight: FILE_WEIGHT }, async () => {
      await control.stop();
      untrack(control.pid);
      const t = performance.now();
      control = await startControlProcess(args);
      track(control.pid);
      serverStartMs = performance.now() - t;
    }, 120_000);
    const ok = delays.filter((d) => !Number.isNaN(d));
    const s = summarize(ok);
    const sorted = [...ok].sort((a, b) => a - b);
    return {
      clients: o.clients, changes: o.changes,
      cpuMsPerPush: cpu / 1000 / o.changes,
      cpuUsPerClientPush: cpu / o.changes / o.clients,
      storm: {
        allConsistentMs: ok.length === delays.length ? s.max : NaN,
        p50Ms: s.median,
        p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? NaN,
        serverStartMs,
        lost: delays.length - ok.length,
      },
    };
  } finally {
    await pool?.stop();
    await control.stop();
    untrack(control.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}
