// The load-generator process: one per variant, all pinned to the client CPU, only one active at
// a time. Keeping each variant in its own process separates their CPU time, RSS and event-loop
// delay, and lets an idle variant keep its warm connections between rounds.
import { Agent, type Dispatcher } from 'undici';
import { LoopDelay } from './loop-delay.js';
import { pct } from './summary.js';
import { serveRpc } from './rpc-child.js';
import { createVariantDispatcher, type VariantTarget } from './variant-dispatcher.js';

export interface ClosedResult {
  requests: number;
  errors: number;
  elapsedMs: number;
  rps: number;
  cpuUsPerReq: number;
  loop: { p99Ms: number; maxMs: number };
  rssBytes: number;
  firstError?: string;
}

export interface RateResult {
  requests: number;
  errors: number;
  /** Latency from each request's intended send time (no coordinated omission), µs. */
  p50Us: number;
  p99Us: number;
  /** Completed requests per second over the phase; below the target means the variant fell behind. */
  achievedRps: number;
  loop: { p99Ms: number; maxMs: number };
  firstError?: string;
}

const now = () => performance.now();

if (process.send) {
  let dispatcher: Dispatcher | undefined;
  let origin = '';
  let close: () => Promise<void> = async () => {};
  const loop = new LoopDelay();

  // One GET, body read to the end (a client that does not read the body measures nothing).
  async function one(path: string): Promise<void> {
    const res = await dispatcher!.request({ origin, path, method: 'GET' });
    for await (const _ of res.body) { /* drain */ }
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  }

  // RSS after a full GC (the process runs with --expose-gc), so garbage does not read as cost.
  const settledRss = () => { (globalThis as { gc?: () => void }).gc?.(); return process.memoryUsage.rss(); };
  let rssBeforeSetup = settledRss();

  serveRpc({
    /** RSS the variant added to this process since before its setup (dispatcher, mesh, pools). */
    addedRss: () => settledRss() - rssBeforeSetup,
    async setup(msg) {
      rssBeforeSetup = settledRss();
      const made = await createVariantDispatcher(msg.target as VariantTarget, () => new Agent({ connections: 64, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 }));
      dispatcher = made.dispatcher;
      origin = made.origin;
      close = made.close;
      return null;
    },

    async closed(msg): Promise<ClosedResult> {
      const { path, concurrency, requests } = msg as unknown as { path: string; concurrency: number; requests: number };
      let issued = 0, errors = 0;
      let firstError: string | undefined;
      const cpu0 = process.cpuUsage();
      loop.reset();
      const t0 = now();
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (issued < requests) {
          issued++;
          try { await one(path); } catch (err) { errors++; firstError ??= String((err as Error)?.message ?? err); }
        }
      }));
      const elapsedMs = now() - t0;
      const cpu = process.cpuUsage(cpu0);
      return {
        requests, errors, elapsedMs, rps: ((requests - errors) * 1000) / elapsedMs,
        cpuUsPerReq: (cpu.user + cpu.system) / requests, loop: loop.read(), rssBytes: process.memoryUsage.rss(),
        ...(firstError ? { firstError } : {}),
      };
    },

    async rate(msg): Promise<RateResult> {
      const { path, rps, requests } = msg as unknown as { path: string; rps: number; requests: number };
      const interval = 1000 / rps;
      const latencies = new Float64Array(requests).fill(NaN);
      let errors = 0, sent = 0, done = 0;
      let firstError: string | undefined;
      loop.reset();
      const start = now() + 2;
      let finish!: () => void;
      const allDone = new Promise<void>((r) => { finish = r; });
      const send = (k: number, intended: number) => {
        one(path).then(
          () => { latencies[k] = (now() - intended) * 1000; },
          (err) => { errors++; firstError ??= String((err as Error)?.message ?? err); },
        ).finally(() => { if (++done === requests) finish(); });
      };
      // Requests go out by their intended start time; a late timer sends the backlog at once and
      // the lateness counts in their latency, as a real client's users would see it.
      const tick = () => {
        const t = now();
        while (sent < requests && start + sent * interval <= t) { send(sent, start + sent * interval); sent++; }
        if (sent < requests) setTimeout(tick, Math.max(0, start + sent * interval - now()));
      };
      setTimeout(tick, 2);
      await allDone;
      const elapsed = now() - start;
      const ok = latencies.filter((x) => !Number.isNaN(x));
      return {
        requests, errors, p50Us: pct(ok, 50), p99Us: pct(ok, 99), achievedRps: (ok.length * 1000) / elapsed, loop: loop.read(),
        ...(firstError ? { firstError } : {}),
      };
    },

    async close() { await close(); },
  });
  process.on('SIGTERM', () => { void close().finally(() => process.exit(0)); });
}
