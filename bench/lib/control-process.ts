import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A control server in its own process, so its memory and CPU are measured apart from clients. */
export interface ControlProcess {
  pid: number;
  xdsPort: number;
  adminUrl: string;
  admin<T>(path: string, init?: { method?: string; body?: string }): Promise<T>;
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export async function startControlProcess(extraArgs: string[] = []): Promise<ControlProcess> {
  const child: ChildProcess = spawn(process.execPath, [
    // BENCH_SERVER_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") profiles the server alone.
    ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
    '--expose-gc', '--import', 'tsx', CLI, 'control', '--xds-port', '0', '--admin-port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`control server exited with ${code}`)));
  });
  const xds = /xDS \(ADS\) on [^:]+:(\d+)/.exec(line);
  const admin = /admin on (http:\/\/\S+?)(,|$)/.exec(line);
  if (!xds || !admin) throw new Error(`unexpected control server banner: ${line}`);
  const adminUrl = admin[1]!;
  return {
    pid: child.pid!,
    xdsPort: Number(xds[1]),
    adminUrl,
    async admin<T>(path: string, init?: { method?: string; body?: string }): Promise<T> {
      const res = await fetch(adminUrl + path, { method: init?.method ?? 'GET', ...(init?.body ? { body: init.body, headers: { 'content-type': 'application/yaml' } } : {}) });
      const text = await res.text();
      if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
