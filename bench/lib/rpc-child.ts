// A bench helper process (load generator, origin server) spawned pinned to one CPU, spoken to by
// request/response messages over IPC. Stopped by its own PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track, untrack } from './cleanup.js';
import { pinned } from './pin.js';

export class RpcChild {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess, readonly name: string) {
    child.on('message', (msg: { id: number; ok?: unknown; error?: string }) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error !== undefined) w.reject(new Error(`${name}: ${msg.error}`));
      else w.resolve(msg.ok);
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      untrack(child.pid);
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  get pid(): number { return this.child.pid!; }

  /** Spawns `script` (a .ts file next to the caller, given as a URL) with tsx, pinned to `cpu`. */
  static start(script: URL, name: string, cpu: number, nodeFlags: string[] = []): RpcChild {
    // taskset execs node in place, so the IPC channel and the PID carry over.
    const [cmd, args] = pinned(cpu, process.execPath, [...nodeFlags, '--import', 'tsx', fileURLToPath(script)]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], });
    track(child.pid);
    return new RpcChild(child, name);
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...args, cmd, id });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.exited || this.child.exitCode !== null) return resolve();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      this.child.once('exit', () => { clearTimeout(timer); resolve(); });
      this.child.kill('SIGTERM');
    });
  }
}

/** The child side: answers each {cmd, id} with the handler's result. */
export function serveRpc(handlers: Record<string, (msg: Record<string, unknown>) => unknown>): void {
  process.on('message', async (msg: Record<string, unknown> & { cmd: string; id: number }) => {
    const h = handlers[msg.cmd];
    try {
      if (!h) throw new Error(`unknown command ${msg.cmd}`);
      process.send!({ id: msg.id, ok: (await h(msg)) ?? null });
    } catch (err) {
      process.send!({ id: msg.id, error: (err as Error)?.stack ?? String(err) });
    }
  });
  // Exit with the parent: a bench interrupted half-way must not leave processes behind.
  process.on('disconnect', () => process.exit(0));
}
