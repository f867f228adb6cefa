// mTLS vs plaintext through the mesh, side by side in one run: client CPU per request and
// throughput for HTTP (keep-alive connections, so the handshake is amortised as in production)
// and gRPC, an A/A row (plaintext twice) that must agree within ±3% or the run is void, and TLS
// handshakes per second (a new connection per request). Two rows without the mesh (undici to a
// node:http and a node:https server, the same certificate as the secure mesh) show the floor: the
// per-request cost node's TLSSocket adds by itself, which no mesh code can remove.
//
// One server process (pinned to the server core) runs a control server with a CA and two server
// meshes: `plain` (no identity, plaintext) and `secure` (an identity, STRICT mTLS), each serving
// HTTP and gRPC. Every measurement is a fresh client process pinned to the client core, variants
// interleaved across rounds, medians reported with min–max.
//
//   node --import tsx bench/mtls.ts [--rounds 5] [--requests 20000] [--concurrency 16]
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { track, untrack } from './lib/cleanup.js';
import { interleaved, median, runFreshChild } from './lib/fresh-process.js';
import { pinned, SERVER_CPU } from './lib/pin.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    child: { type: 'string' },
    info: { type: 'string' },
  },
});

interface ServerInfo { xdsPort: number; securePort: number; token: string; rawHttp: number; rawHttps: number }
interface Sample { rps: number; cpuUs: number; errors: number; handshakes?: number }

const VARIANTS = ['http plaintext', 'http plaintext (A/A)', 'http mTLS', 'grpc plaintext', 'grpc mTLS', 'http mTLS new connection per request', 'http plaintext new connection per request', 'undici http, no mesh', 'undici https, no mesh'] as const;
type Variant = (typeof VARIANTS)[number];

/** Server process: control server with a CA, a plaintext mesh and an mTLS mesh serving HTTP and gRPC. */
async function serve(): Promise<void> {
  const { createControlServer } = await import('../src/control/index.js');
  const { createMesh } = await import('../src/mesh/create.js');
  const { ECHO_SERVICE } = await import('../src/testing/echo.js');
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-mtls-'));
  const control = await createControlServer({ caDir: dir, securePort: 0, xdsPort: 0, adminPort: null, debounceMs: 5 });
  const tokenFor = (sa: string) => control.ca!.createJoinToken({ namespace: 'default', serviceAccount: sa });
  const plain = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, service: 'plain' });
  const secure = await createMesh({ controlPlane: `127.0.0.1:${control.securePort}`, service: 'secure', token: await tokenFor('secure'), inboundTlsMode: () => 'STRICT' });
  const body = Buffer.from('ok');
  for (const m of [plain, secure]) {
    await m.listen((_req, res) => res.end(body), { port: 0, servicePort: 9080 });
    const g = m.grpc.createServer();
    g.server.addService(ECHO_SERVICE, { Call: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { from: 'x', metadata: {}, body: call.request }) });
    await g.bind('127.0.0.1:0');
  }
  // The floor: the same echo from node:http and node:https (the secure mesh's SVID, no client
  // certificate), reached by undici without the mesh.
  const { createServer: createHttp } = await import('node:http');
  const { createServer: createHttps } = await import('node:https');
  const svid = (secure as unknown as { tls: { current(): { keyPem: string; chainPem: string[] } } }).tls.current();
  const echo = (_req: unknown, res: { end(b: Buffer): void }) => res.end(body);
  const rawHttp = createHttp(echo).listen(0, '127.0.0.1');
  const rawHttps = createHttps({ key: svid.keyPem, cert: svid.chainPem.join('') }, echo).listen(0, '127.0.0.1');
  await Promise.all([rawHttp, rawHttps].map((s) => new Promise((r) => s.once('listening', r))));
  const portOf = (s: { address(): unknown }) => (s.address() as { port: number }).port;
  // gRPC ports differ per server: announce them under fixed service ports is not possible with
  // bind(), so the client finds them from EDS by service name.
  const info: ServerInfo = { xdsPort: control.xdsPort, securePort: control.securePort!, token: await tokenFor('bench-client'), rawHttp: portOf(rawHttp), rawHttps: portOf(rawHttps) };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.on('SIGTERM', () => {
    void Promise.all([plain.close(), secure.close()]).then(() => control.close()).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

/** Client process: one variant, warm up, measure, print JSON. */
async function client(variant: Variant, info: ServerInfo): Promise<void> {
  if (variant.endsWith('no mesh')) return rawClient(variant, info);
  const { createMesh } = await import('../src/mesh/create.js');
  const { EchoClient } = await import('../src/testing/echo.js');
  const { TYPE_URL } = await import('../src/xds/type-urls.js');
  const mtls = variant.includes('mTLS');
  const host = mtls ? 'secure' : 'plain';
  const mesh = await createMesh({
    controlPlane: `127.0.0.1:${mtls ? info.securePort : info.xdsPort}`,
    ...(mtls ? { token: info.token } : {}),
    service: 'bench-client',
    initialFetchTimeoutMs: 15_000,
  });
  const requests = Number(args.requests);
  const concurrency = Number(args.concurrency);
  const fresh = variant.includes('new connection');
  const total = fresh ? Math.max(500, requests >> 4) : requests;
  let one: () => Promise<boolean>;
  if (variant.startsWith('grpc')) {
    // The gRPC port: the one non-9080 port the host's EDS names.
    let port = 0;
    for (const name of mesh.xds.all(TYPE_URL.endpoint).keys()) {
      const m = new RegExp(`^outbound\\|(\\d+)\\|\\|${host}\\.`).exec(name);
      if (m && m[1] !== '9080') port = Number(m[1]);
    }
    const c = mesh.grpc.client(EchoClient, `${host}:${port}`) as unknown as grpc.Client & { Call: (r: unknown, cb: (e: Error | null) => void) => void };
    one = () => new Promise((resolve) => c.Call({}, (e) => resolve(!e)));
  } else {
    one = async () => {
      const res = await mesh.dispatcher.request({ origin: `http://${host}:9080`, path: '/', method: 'GET', ...(fresh ? { reset: true } : {}) });
      for await (const _ of res.body) { /* drain */ }
      return res.statusCode === 200;
    };
  }
  const sample = await measure(one, total, concurrency, (mesh as unknown as { tls?: { handshakes: number } }).tls);
  await mesh.close();
  process.stdout.write(`${JSON.stringify(sample)}\n`);
  process.exit(0);
}

/** Client process without the mesh: undici's Agent to the plain node:http / node:https echo. */
async function rawClient(variant: Variant, info: ServerInfo): Promise<void> {
  const { Agent } = await import('undici');
  const tls = variant.includes('https');
  // The server's certificate is the mesh SVID (no DNS name): this row measures the TLS record
  // path, not verification, which happens once per connection.
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const origin = tls ? `https://127.0.0.1:${info.rawHttps}` : `http://127.0.0.1:${info.rawHttp}`;
  const one = async (): Promise<boolean> => {
    const res = await agent.request({ origin, path: '/', method: 'GET' });
    for await (const _ of res.body) { /* drain */ }
    return res.statusCode === 200;
  };
  const sample = await measure(one, Number(args.requests), Number(args.concurrency), undefined);
  await agent.close();
  process.stdout.write(`${JSON.stringify(sample)}\n`);
  process.exit(0);
}

/** Warm up, then `total` calls of `one`, `concurrency` in flight: throughput and CPU per call. */
async function measure(one: () => Promise<boolean>, total: number, concurrency: number, tls: { handshakes: number } | undefined): Promise<Sample> {
  const loop = async (n: number): Promise<Sample> => {
    let issued = 0;
    let errors = 0;
    const hs0 = tls?.handshakes ?? 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (issued < n) { issued++; if (!(await one().catch(() => false))) errors++; }
    }));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { rps: (n * 1000) / ms, cpuUs: (cpu.user + cpu.system) / n, errors, handshakes: ((tls?.handshakes ?? 0) - hs0) * 1000 / ms };
  };
  await loop(Math.max(200, total >> 3)); // warm-up
  return loop(total);
}

async function main(): Promise<void> {
  const [cmd, cmdArgs] = pinned(SERVER_CPU, process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', 'server']);
  const server = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  track(server.pid);
  const info = await new Promise<ServerInfo>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as ServerInfo);
    });
    server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  try {
    const rounds = Number(args.rounds);
    const samples = await interleaved(VARIANTS, rounds, (v) => runFreshChild<Sample>(new URL(import.meta.url), v, ['--info', JSON.stringify(info), '--requests', args.requests!, '--concurrency', args.concurrency!]));
    const base = samples.get('http plaintext')!;
    const row = (v: Variant, ref: Variant | undefined) => {
      const s = samples.get(v)!;
      const rps = median(s.map((x) => x.rps));
      const cpu = median(s.map((x) => x.cpuUs));
      const refCpu = ref ? median(samples.get(ref)!.map((x) => x.cpuUs)) : cpu;
      const refRps = ref ? median(samples.get(ref)!.map((x) => x.rps)) : rps;
      const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
      const hs = v.includes('mTLS') ? ` | ${median(s.map((x) => x.handshakes ?? 0)).toFixed(0)} handshakes/s` : '';
      console.log(`| ${v.padEnd(42)} | ${rps.toFixed(0).padStart(6)} (${range(s.map((x) => x.rps))}) | ${cpu.toFixed(1).padStart(6)} µs | ${ref ? `${((cpu / refCpu - 1) * 100).toFixed(1)}% CPU (${cpu >= refCpu ? '+' : ''}${(cpu - refCpu).toFixed(1)} µs), ${((rps / refRps - 1) * 100).toFixed(1)}% rps vs ${ref}` : 'baseline'} | errors ${s.reduce((n, x) => n + x.errors, 0)}${hs}`);
    };
    console.log(`\nmTLS vs plaintext mesh, ${rounds} rounds × ${args.requests} requests, ${args.concurrency} in flight (medians, min–max rps)\n`);
    console.log('| variant | req/s | client CPU/req | vs | |');
    console.log('|---|---|---|---|---|');
    row('http plaintext', undefined);
    row('http plaintext (A/A)', 'http plaintext');
    row('http mTLS', 'http plaintext');
    row('grpc plaintext', undefined);
    row('grpc mTLS', 'grpc plaintext');
    row('undici http, no mesh', undefined);
    row('undici https, no mesh', 'undici http, no mesh');
    row('http plaintext new connection per request', undefined);
    row('http mTLS new connection per request', 'http plaintext new connection per request');
    const aa = median(samples.get('http plaintext (A/A)')!.map((x) => x.cpuUs)) / median(base.map((x) => x.cpuUs)) - 1;
    console.log(`\nA/A: ${(aa * 100).toFixed(1)}% — ${Math.abs(aa) <= 0.03 ? 'within ±3%, run valid' : 'OUTSIDE ±3%: run void'}`);
  } finally {
    server.kill('SIGTERM');
    untrack(server.pid);
  }
}

if (args.child === 'server') void serve();
else if (args.child) void client(args.child as Variant, JSON.parse(args.info!) as ServerInfo);
else void main();
