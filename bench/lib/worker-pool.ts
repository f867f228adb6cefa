import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Expectation } from './xds-client-worker.js';

const WORKER = fileURLToPath(new URL('./xds-client-worker.ts', import.meta.url));

/** xDS clients spread over worker processes, as real mesh clients live in their own processes. */
export class ClientPool {
  private nextId = 0;
  /** CPU µs the workers spent in measure() calls, summed over workers (reset by the caller). */
  workerCpuUs = 0;
  private constructor(private readonly workers: ChildProcess[]) {}

  /** `server` may be a list (priority order, for failover), or a function giving each worker its own list. */
  static async start(server: string | string[] | ((worker: number) => string | string[]), clients: number, workers: number, client: { delta?: boolean; endpoints?: string[] } = {}): Promise<ClientPool> {
    // BENCH_WORKER_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") profiles the client workers.
    const flags = process.env.BENCH_WORKER_FLAGS?.split(' ').filter(Boolean) ?? [];
    const procs = Array.from({ length: workers }, () => fork(WORKER, [], { execArgv: [...flags, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const pool = new ClientPool(procs);
    const per = Math.ceil(clients / workers);
    await Promise.all(procs.map((w, i) => pool.call(w, { cmd: 'start', ...client, server: typeof server === 'function' ? server(i) : server, first: i * per, count: Math.max(0, Math.min(per, clients - i * per)) })));
    return pool;
  }

  /**
   * Arms every worker for `expect`, runs `change` once all are armed, and resolves with each
   * client's delay in ms from the moment `change` started.
   */
  async measure(expect: Expectation, change: () => Promise<unknown>, timeoutMs = 10_000): Promise<number[]> {
    const armed: Array<Promise<void>> = [];
    const done = this.workers.map((w) => {
      const id = this.nextId++;
      let onArmed!: () => void;
      armed.push(new Promise<void>((r) => { onArmed = r; }));
      return new Promise<number[]>((resolve) => {
        const listener = (msg: { id: number; armed?: boolean; arrivals?: number[]; cpuUs?: number }) => {
          if (msg.id !== id) return;
          if (msg.armed) onArmed();
          if (msg.arrivals) { w.off('message', listener); this.workerCpuUs += msg.cpuUs ?? 0; resolve(msg.arrivals); }
        };
        w.on('message', listener);
        w.send({ cmd: 'expect', id, expect, timeoutMs });
      });
    });
    await Promise.all(armed);
    const start = performance.timeOrigin + performance.now();
    await change();
    return (await Promise.all(done)).flat().map((t) => t - start);
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.call(w, { cmd: 'stop' }).catch(() => undefined)));
  }

  private call(w: ChildProcess, msg: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const listener = (reply: { id: number }) => {
        if (reply.id !== id) return;
        w.off('message', listener);
        resolve(reply);
      };
      w.on('message', listener);
      w.send({ ...msg, id });
    });
  }
}
