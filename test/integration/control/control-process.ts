// `meshlet control` as a real child process (the CLI from source through tsx), for tests that
// kill it the way an operator's bad day does: SIGKILL by PID, no shutdown hooks.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READY = /xDS \(ADS\) on ([^\s,]+):(\d+), admin on http:\/\/([^\s,]+):(\d+)/;

/** A free loopback TCP port, found by binding port 0 and closing it (the server binds it next). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** One run of `meshlet control`; `start()` resolves once it printed its addresses. */
export class ControlProcess {
  /** Tail of stdout+stderr, for failure messages. */
  output = '';
  xdsAddress = '';
  adminUrl = '';
  private exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Spawns `node --import tsx src/cli/main.ts control ...args` and waits for its ready line. */
  static async start(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; bin?: boolean } = {}): Promise<ControlProcess> {
    // `bin: true` runs bin/meshlet.js, what an operator runs (in a checkout it loads the sources through tsx).
    const entry = options.bin ? ['bin/meshlet.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
    const child = spawn(process.execPath, [...entry, 'control', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const cp = new ControlProcess(child);
    const keep = (chunk: Buffer) => {
      cp.output = (cp.output + chunk.toString('utf8')).slice(-16_384);
    };
    child.stderr!.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`meshlet control did not print its address within ${options.timeoutMs ?? 30_000} ms:\n${cp.output}`)), options.timeoutMs ?? 30_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.kill('SIGKILL');
        reject(err);
      };
      const onData = (chunk: Buffer) => {
        keep(chunk);
        const m = READY.exec(cp.output);
        if (!m) return;
        clearTimeout(timer);
        cp.xdsAddress = `${m[1]}:${m[2]}`;
        cp.adminUrl = `http://${m[3]}:${m[4]}`;
        resolve();
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code, signal) => fail(new Error(`meshlet control exited (${signal ?? code}) before it was ready:\n${cp.output}`)));
    });
    child.stdout!.on('data', keep);
    return cp;
  }

  /** SIGKILL by PID; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the CLI closes the server cleanly), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => { if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, 'SIGKILL'); }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
