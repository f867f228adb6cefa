// Sidecar emulation: nginx as an HTTP/1.1 keep-alive reverse proxy (one worker, like a sidecar
// with one core's budget), installed from Debian's packages when missing, started with a
// generated config under a tmp dir, stopped by its master's PID.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { track, untrack } from './cleanup.js';
import { childPids } from './procstat.js';
import { pinned } from './pin.js';

export type NginxAvailability = { ok: true; bin: string } | { ok: false; reason: string };

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Finds nginx, installing it with apt-get (as root) when missing. Never throws. */
export function ensureNginx(log: (line: string) => void = () => {}): NginxAvailability {
  const found = which('nginx') ?? (which('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
  if (found) return { ok: true, bin: found };
  if (!which('apt-get')) return { ok: false, reason: 'nginx is not installed and apt-get is not available' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'nginx is not installed and installing it needs root (apt-get install -y nginx)' };
  log('nginx missing: apt-get update && apt-get install -y nginx …');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx'], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return { ok: false, reason: `apt-get install nginx failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-1)[0]}` };
  const bin = which('nginx') ?? '/usr/sbin/nginx';
  try { execFileSync(bin, ['-v'], { stdio: 'ignore' }); } catch { return { ok: false, reason: 'nginx was installed but does not run' }; }
  return { ok: true, bin };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as AddressInfo; s.close(() => resolve(port)); });
  });
}

function config(dir: string, listen: number, upstream: number): string {
  return `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  upstream up {
    server 127.0.0.1:${upstream};
    keepalive 128;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${listen} backlog=4096;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Buffers large enough for a 64 KB body, so nothing spills to a temp file.
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_busy_buffers_size 32k;
    }
  }
}
`;
}

export interface NginxHop {
  port: number;
  /** Master and worker PIDs, for CPU and RSS accounting. */
  pids(): number[];
  stop(): Promise<void>;
}

/** Starts one nginx proxying 127.0.0.1:<port> → 127.0.0.1:<upstream>, pinned to `cpu`. */
export async function startNginx(bin: string, upstream: number, cpu: number): Promise<NginxHop> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  // nginx workers drop to an unprivileged user; they must reach the temp dirs.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'tmp'), 0o777);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, config(dir, port, upstream));
  const [cmd, args] = pinned(cpu, bin, ['-p', dir, '-c', conf]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child.pid);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  await waitForPort(port, child, () => stderr);
  const master = child.pid!;
  return {
    port,
    pids: () => [master, ...childPids(master)],
    stop: () => new Promise<void>((resolve) => {
      const done = () => { untrack(master); rmSync(dir, { recursive: true, force: true }); resolve(); };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => { clearTimeout(timer); done(); });
      child.kill('SIGTERM'); // nginx: fast shutdown of master and its workers
    }),
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr().trim()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${stderr().trim()}`);
}
