// TLS passthrough through the meshlet gateway: the gateway process's CPU per MiB proxied and per
// connection (ClientHello read, chain and endpoint choice, upstream connect, TCP metrics), read
// from /proc for a child process that runs only the control server and the gateway. Two
// identical gateway variants (A and A') are measured interleaved per round: their agreement is the
// A/A check (±3% or the run is void). The TLS backend and the client share the parent process.
// Medians over rounds with min–max. Never fails on a timing.
//
//   node --import tsx bench/gateway-passthrough.ts [--rounds 5] [--mib 32] [--connections 200]
//   BENCH_PROF=/tmp/prof …   writes a --cpu-prof of each gateway process
//   node --import tsx bench/gateway-passthrough.ts --callgrind [--connections 100] [--mib 8]
//     instructions per connection and per MiB in the gateway process under valgrind's callgrind
//     (V8 --single-threaded; n vs 3n units after the same warm-up, twice: the A/A check)
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { track, untrack } from './lib/cleanup.js';
import { describeMachine } from './lib/machine.js';
import { cpuMicros } from './lib/procstat.js';
import { median } from './lib/stats.js';
import { testPki } from '../test/helpers/tls-certs.js';

const SELF = fileURLToPath(import.meta.url);
const HOST = 'bench.example.com';

if (process.argv.includes('--child')) {
  // The gateway process: a control server with the config, and a gateway with metrics on.
  const { createControlServer } = await import('../src/control/index.js');
  const { createGateway } = await import('../src/gateway/index.js');
  const { parseConfig } = await import('../src/config/index.js');
  process.once('SIGINT', () => process.exit(0)); // writes --cpu-prof output
  process.once('message', async (msg: { backend: number }) => {
    const server = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
    const { resources } = parseConfig(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: backend }
spec:
  hosts: [backend.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 443, name: tls, protocol: TLS }]
  endpoints: [{ address: 127.0.0.1, ports: { tls: ${msg.backend} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 443, name: tls, protocol: TLS }, hosts: ['*'], tls: { mode: PASSTHROUGH } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: backend }
spec:
  hosts: ['*.example.com']
  gateways: [gw]
  tls: [{ match: [{ sniHosts: ['*.example.com'] }], route: [{ destination: { host: backend.default.svc.cluster.local, port: { number: 443 } } }] }]
`, 'bench.yaml');
    await server.store.apply(resources);
    const gw = await createGateway({ controlPlane: `127.0.0.1:${server.xdsPort}`, host: '127.0.0.1', ports: { 443: 0 }, metricsPort: 0 });
    for (let i = 0; i < 500 && !gw.ports[443]; i++) await new Promise((r) => setTimeout(r, 10));
    if (process.send) process.send({ port: gw.ports[443] });
    else console.log(`PORT ${gw.ports[443]}`);
  });
  // Under callgrind the port comes on stdout and the backend port from argv.
  const at = process.argv.indexOf('--backend');
  if (at > 0) process.emit('message' as never, { backend: Number(process.argv[at + 1]) } as never);
} else {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, mib: { type: 'string', default: '32' }, connections: { type: 'string', default: '200' }, callgrind: { type: 'boolean', default: false } } });
  const rounds = Number(values.rounds);
  const mib = Number(values.mib);
  const connections = Number(values.connections);
  const pki = await testPki();
  const leaf = await pki.leaf('bench', { dns: ['*.example.com'] });
  const backend = tls.createServer({ ...leaf }, (s) => {
    s.on('error', () => {});
    s.pipe(s); // echo
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as { port: number }).port;

  const start = async (): Promise<{ child: ChildProcess; port: number }> => {
    const child = fork(SELF, ['--child'], { execArgv: ['--import', 'tsx', ...(process.env['BENCH_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_PROF']] : [])] });
    track(child.pid);
    const port = await new Promise<number>((resolve) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.send({ backend: backendPort });
    });
    return { child, port };
  };
  if (values.callgrind) {
    await callgrindRun(backendPort, pki.caPem, Number(values.connections), Number(values.mib));
    backend.close();
    await pki.remove();
    process.exit(0);
  }
  const variants = { A: await start(), "A'": await start() };

  /** Echoes `bytes` through one connection; resolves when all came back. */
  const bulk = (port: number, bytes: number): Promise<void> => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: pki.caPem }, () => {
      const chunk = randomBytes(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) { s.destroy(); resolve(); }
    });
    s.on('error', reject);
  });
  /** One short connection: handshake, one byte there and back. */
  const short = (port: number): Promise<void> => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: pki.caPem }, () => s.write('x'));
    s.once('data', () => { s.end(); resolve(); });
    s.on('error', reject);
  });

  const measure = async (pid: number, work: () => Promise<void>): Promise<number> => {
    const before = cpuMicros(pid);
    await work();
    await new Promise((r) => setTimeout(r, 50)); // let the gateway finish its closes
    return cpuMicros(pid) - before;
  };

  // Warm-up: JIT, pools, the first connection's lazy paths.
  for (const v of Object.values(variants)) {
    await firstAnswer(v.port, pki.caPem);
    await bulk(v.port, 4 * 2 ** 20);
    for (let i = 0; i < 20; i++) await short(v.port);
  }
  const perMib: Record<string, number[]> = { A: [], "A'": [] };
  const perConn: Record<string, number[]> = { A: [], "A'": [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['A', "A'"] as const) : (["A'", 'A'] as const);
    for (const name of order) {
      const v = variants[name];
      const bytes = mib * 2 ** 20;
      // Both directions: bytes up and the same bytes back.
      perMib[name]!.push((await measure(v.child.pid!, () => bulk(v.port, bytes))) / (2 * mib));
      perConn[name]!.push((await measure(v.child.pid!, async () => { for (let i = 0; i < connections; i++) await short(v.port); })) / connections);
    }
  }
  const row = (label: string, xs: number[]): string => `| ${label} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} |`;
  const aa = (m: Record<string, number[]>): string => `${(((median(m["A'"]!) / median(m['A']!)) - 1) * 100).toFixed(1)}%`;
  console.log(`machine: ${describeMachine()}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`rounds ${rounds}, ${mib} MiB echoed per round, ${connections} connections per round\n`);
  console.log('| gateway CPU | median µs | min–max |\n| --- | --- | --- |');
  console.log(row('per MiB proxied (A)', perMib['A']!));
  console.log(row("per MiB proxied (A')", perMib["A'"]!));
  console.log(row('per connection (A)', perConn['A']!));
  console.log(row("per connection (A')", perConn["A'"]!));
  console.log(`\nA/A: per MiB ${aa(perMib)}, per connection ${aa(perConn)} (void beyond ±3%)`);
  for (const v of Object.values(variants)) {
    untrack(v.child.pid);
    v.child.kill('SIGINT');
  }
  backend.close();
  await pki.remove();
}

/** One TLS connection through `port`: handshake, `bytes` echoed (at least one). */
function exchange(port: number, ca: string, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca }, () => {
      const chunk = randomBytes(Math.min(bytes, 64 * 1024));
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) { s.end(); resolve(); }
    });
    s.on('error', reject);
  });
}

/** The port is bound before the cluster's endpoints may have arrived: waits for a first answer. */
async function firstAnswer(port: number, ca: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      return await exchange(port, ca, 1);
    } catch (err) {
      if (tries > 120) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Instructions of a fresh gateway process under callgrind that served `work` after a warm-up. */
async function callgrindOnce(backendPort: number, ca: string, work: (port: number) => Promise<void>): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-cg-'));
  const out = join(dir, 'out');
  const p = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--dump-instr=no', process.execPath, '--single-threaded', '--import', 'tsx', SELF, '--child', '--backend', String(backendPort)], { stdio: ['ignore', 'pipe', 'ignore'] });
  track(p.pid);
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    p.stdout.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /PORT (\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    p.once('exit', (code) => reject(new Error(`gateway under callgrind exited ${code}`)));
  });
  try {
    await firstAnswer(port, ca);
    for (let i = 0; i < 20; i++) await exchange(port, ca, 1);
    await exchange(port, ca, 2 ** 20);
    await work(port);
  } catch (err) {
    p.kill('SIGKILL'); // an uncaught error would leave it running
    throw err;
  }
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGINT');
  await exited;
  untrack(p.pid);
  const m = /^(?:totals|summary): (\d+)/m.exec(readFileSync(out, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  if (!m) throw new Error('no callgrind totals');
  return Number(m[1]);
}

async function callgrindRun(backendPort: number, ca: string, n: number, mib: number): Promise<void> {
  const conns = (k: number) => async (port: number) => { for (let i = 0; i < k; i++) await exchange(port, ca, 1); };
  const bulk = (k: number) => async (port: number) => { for (let i = 0; i < k; i++) await exchange(port, ca, 2 ** 20); };
  const rows: string[] = [];
  for (const label of ['A', "A'"]) {
    const c1 = await callgrindOnce(backendPort, ca, conns(n));
    const c3 = await callgrindOnce(backendPort, ca, conns(3 * n));
    const b1 = await callgrindOnce(backendPort, ca, bulk(mib));
    const b3 = await callgrindOnce(backendPort, ca, bulk(3 * mib));
    // A 1 MiB exchange moves 2 MiB through the gateway (up and echoed back).
    const perConnection = (c3 - c1) / (2 * n);
    const perMib = ((b3 - b1) / (2 * mib) - perConnection) / 2;
    rows.push(`| ${label} | ${Math.round(perConnection).toLocaleString('en')} | ${Math.round(perMib).toLocaleString('en')} |`);
  }
  console.log(`gateway process instructions (callgrind, V8 --single-threaded; ${n} vs ${3 * n} connections, ${mib} vs ${3 * mib} × 1 MiB echoed), node ${process.version}`);
  console.log('| run | per connection | per MiB proxied |\n| --- | --- | --- |');
  for (const r of rows) console.log(r);
}
