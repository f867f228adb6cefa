// Ingress gateway bench: `meshlet gateway` vs nginx (Debian's package) as an ingress in front
// of the same node:http backend, plain HTTP and TLS, and HTTP/2 from the client (h2c with prior
// knowledge, and h2 over TLS by ALPN; the backend hop stays HTTP/1.1 for both proxies), measured
// side by side in one run, variants
// interleaved per round. Per variant and round: a closed loop (c connections, as fast as the proxy
// goes) gives throughput and the proxy's CPU per request (from /proc: requests per CPU-second
// is "throughput per core"); an open loop at a fixed rate gives p50/p99 latency measured from
// each request's intended send time. Medians over rounds, min–max in brackets. Never fails on a
// timing; numbers from a loaded machine are provisional.
//
//   node --import tsx bench/gateway.ts [--rounds 3] [--seconds 4] [--rate 500] [--connections 16]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { track, untrack } from './lib/cleanup.js';
import { ensureNginx, freePort } from './lib/nginx.js';
import { CLIENT_CPU, pinned, pinPid, SERVER_CPU } from './lib/pin.js';
import { childPids, cpuMicros, sumOver } from './lib/procstat.js';
import { median, percentile } from './lib/stats.js';

const SELF = fileURLToPath(import.meta.url);
const HOST = 'shop.example.com';

interface LoadJob { url: string; tls?: { ca: string }; h2?: boolean; mode: 'closed' | 'rate'; connections: number; seconds: number; rate: number }
interface LoadResult { requests: number; errors: number; rps: number; p50Us: number; p99Us: number; firstError?: string }

// ---------------------------------------------------------------- load-generator child
async function runLoad(job: LoadJob): Promise<LoadResult> {
  // HTTP/2: undici multiplexes the closed loop's requests as streams (h2c by prior knowledge in
  // plain text; a Pool reads useH2c only from `connect`).
  const connect = { ...(job.tls ? { ca: job.tls.ca, servername: HOST } : {}), ...(job.h2 && !job.tls ? { useH2c: true } : {}) };
  const pool = new Pool(job.url, { connections: job.connections, pipelining: 1, ...(job.h2 ? { allowH2: true } : {}), connect } as Pool.Options);
  const lat: number[] = [];
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const one = async (intended: number): Promise<void> => {
    try {
      const res = await pool.request({ path: '/tiny', method: 'GET', headers: { host: HOST } });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      requests++;
      lat.push((performance.now() - intended) * 1000);
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  };
  // Warm the connections.
  await Promise.all(Array.from({ length: job.connections }, () => one(performance.now())));
  requests = 0; errors = 0; lat.length = 0;
  const start = performance.now();
  const end = start + job.seconds * 1000;
  if (job.mode === 'closed') {
    await Promise.all(Array.from({ length: job.connections }, async () => { while (performance.now() < end) await one(performance.now()); }));
  } else {
    const interval = 1000 / job.rate;
    const inflight: Promise<void>[] = [];
    for (let i = 0; ; i++) {
      const due = start + i * interval;
      if (due >= end) break;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(one(due));
    }
    await Promise.all(inflight);
  }
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  return { requests, errors, rps: requests / elapsed, p50Us: percentile(lat, 50), p99Us: percentile(lat, 99), ...(firstError ? { firstError } : {}) };
}

if (process.argv.includes('--child')) {
  process.on('message', (job: LoadJob) => void runLoad(job).then((r) => process.send!(r)));
} else {
  await main();
}

// ---------------------------------------------------------------- orchestration
function load(child: ChildProcess, job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve) => { child.once('message', (r) => resolve(r as LoadResult)); child.send(job); });
}

async function waitPort(port: number, what: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(t); untrack(child.pid); resolve(); });
    child.kill('SIGTERM');
  });
}

function nginxConfig(dir: string, plain: number, tlsPort: number, upstream: number, h2c: number, h2: number): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 120s; keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:${upstream}; keepalive 128; }
  server {
    listen 127.0.0.1:${plain};
    listen 127.0.0.1:${tlsPort} ssl;
    listen 127.0.0.1:${h2c} http2;
    listen 127.0.0.1:${h2} ssl http2;
    server_name ${HOST};
    ssl_certificate ${dir}/tls.crt; ssl_certificate_key ${dir}/tls.key; ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' }, connections: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 3);
  const seconds = Number(values.seconds ?? 4);
  const rate = Number(values.rate ?? 500);
  const connections = Number(values.connections ?? 16);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const nginx = ensureNginx(log);
  const { testPki } = await import('../test/helpers/tls-certs.js');
  const { createControlServer } = await import('../src/control/index.js');
  const { parseConfig } = await import('../src/config/index.js');
  const pki = await testPki();
  const leaf = await pki.leaf(HOST, { dns: [HOST] });
  const files = await pki.writeFiles('shop', leaf);
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-gw-'));
  try {
    // The backend: node:http, keep-alive, a 2-byte body, on the client CPU with the load generator.
    const backendPort = await freePort();
    const backendSrc = `const h=require('node:http');const b=Buffer.from('ok');const s=h.createServer((q,r)=>{q.resume();r.writeHead(200,{'content-type':'text/plain','content-length':2});r.end(b)});s.keepAliveTimeout=120000;s.listen(${backendPort},'127.0.0.1')`;
    const [bc, ba] = pinned(CLIENT_CPU, process.execPath, ['-e', backendSrc]);
    const backend = spawn(bc, ba, { stdio: 'ignore' });
    children.push(backend); track(backend.pid);
    await waitPort(backendPort, 'backend', backend);
    // The control plane (in this process; idle while measuring) with the gateway config.
    const control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
    const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: backend }
spec:
  hosts: [backend.bench]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${backendPort} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bench }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ['*']
  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { mode: SIMPLE, serverCertificate: ${files.cert}, privateKey: ${files.key} }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bench }
spec:
  hosts: ['*']
  gateways: [bench]
  http:
  - route: [{ destination: { host: backend.bench, port: { number: 80 } } }]
`;
    await control.store.apply(parseConfig(yaml, 'bench.yaml').resources);
    await control.settled();
    // meshlet gateway, its own process on the server CPU.
    const gwPlain = await freePort();
    const gwTls = await freePort();
    // The gateway as users run it: the built CLI (dist/), unless BENCH_SOURCE=1 or there is no
    // build (bin/meshlet.js then runs the sources through tsx, whose keep-names helper wraps
    // every closure the hot path creates).
    const distCli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    const useDist = !process.env['BENCH_SOURCE'] && existsSync(distCli);
    const bin = useDist ? fileURLToPath(new URL('./lib/run-dist-cli.mjs', import.meta.url)) : fileURLToPath(new URL('../bin/meshlet.js', import.meta.url));
    log(`gateway from ${useDist ? 'dist/ (the build)' : 'the sources (tsx)'}`);
    // BENCH_GATEWAY_FLAGS: node flags for the gateway process only (e.g. --cpu-prof --cpu-prof-dir=DIR).
    const gwFlags = (process.env['BENCH_GATEWAY_FLAGS'] ?? '').split(' ').filter(Boolean);
    const [gc, ga] = pinned(SERVER_CPU, process.execPath, [...gwFlags, bin, 'gateway', '--control-plane', `127.0.0.1:${control.xdsPort}`, '--host', '127.0.0.1', '--port', `80=${gwPlain}`, '--port', `443=${gwTls}`]);
    const gateway = spawn(gc, ga, { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(gateway); track(gateway.pid);
    await waitPort(gwPlain, 'meshlet gateway', gateway);
    await waitPort(gwTls, 'meshlet gateway (TLS)', gateway);
    // nginx, one worker, on the server CPU.
    let nginxPorts: { plain: number; tls: number; h2c: number; h2: number } | undefined;
    let nginxChild: ChildProcess | undefined;
    if (nginx.ok) {
      mkdirSync(join(dir, 'tmp'));
      chmodSync(dir, 0o755); chmodSync(join(dir, 'tmp'), 0o777);
      writeFileSync(join(dir, 'tls.crt'), leaf.cert); writeFileSync(join(dir, 'tls.key'), leaf.key);
      nginxPorts = { plain: await freePort(), tls: await freePort(), h2c: await freePort(), h2: await freePort() };
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, nginxPorts.plain, nginxPorts.tls, backendPort, nginxPorts.h2c, nginxPorts.h2));
      const [nc, na] = pinned(SERVER_CPU, nginx.bin, ['-p', dir, '-c', join(dir, 'nginx.conf')]);
      nginxChild = spawn(nc, na, { stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(nginxChild); track(nginxChild.pid);
      await waitPort(nginxPorts.tls, 'nginx', nginxChild);
    } else log(`nginx unavailable: ${nginx.reason}`);
    const loader = fork(SELF, ['--child'], { execArgv: ['--import', 'tsx'] });
    children.push(loader);
    pinPid(loader.pid!, CLIENT_CPU);
    type Proto = 'plain' | 'tls' | 'h2c' | 'h2';
    type Variant = { name: string; proto: Proto; port: number; pids: () => number[] };
    // The meshlet gateway serves HTTP/1.1 and HTTP/2 on the same ports (codec AUTO); nginx needs a port per protocol.
    const variants: Variant[] = [
      { name: 'meshlet gateway', proto: 'plain', port: gwPlain, pids: () => [gateway.pid!] },
      { name: 'meshlet gateway', proto: 'tls', port: gwTls, pids: () => [gateway.pid!] },
      { name: 'meshlet gateway', proto: 'h2c', port: gwPlain, pids: () => [gateway.pid!] },
      { name: 'meshlet gateway', proto: 'h2', port: gwTls, pids: () => [gateway.pid!] },
      // A/A: the first variant again, measured as its own variant (the spread two identical variants show).
      { name: 'meshlet gateway (A/A)', proto: 'plain', port: gwPlain, pids: () => [gateway.pid!] },
    ];
    if (nginxPorts && nginxChild) {
      const master = nginxChild.pid!;
      for (const proto of ['plain', 'tls', 'h2c', 'h2'] as const) variants.push({ name: 'nginx', proto, port: nginxPorts[proto], pids: () => [master, ...childPids(master)] });
    }
    const jobOf = (v: Variant) => ({
      url: `${v.proto === 'tls' || v.proto === 'h2' ? 'https' : 'http'}://127.0.0.1:${v.port}`,
      ...(v.proto === 'tls' || v.proto === 'h2' ? { tls: { ca: pki.caPem } } : {}),
      ...(v.proto === 'h2c' || v.proto === 'h2' ? { h2: true } : {}),
    });
    const results = new Map<Variant, Array<{ rps: number; perCore: number; p50: number; p99: number; errors: number }>>();
    // Warm-up (JIT, connection pools, TLS session state): one short closed loop per variant, discarded.
    for (const v of variants) {
      await load(loader, { ...jobOf(v), connections, seconds: Math.min(2, seconds), rate, mode: 'closed' });
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const base = { ...jobOf(v), connections, seconds, rate };
        const cpu0 = sumOver(v.pids(), cpuMicros);
        const closed = await load(loader, { ...base, mode: 'closed' });
        const cpu = (sumOver(v.pids(), cpuMicros) - cpu0) / 1e6;
        const open = await load(loader, { ...base, mode: 'rate' });
        if (closed.firstError || open.firstError) log(`${v.name} ${v.proto}: ${closed.firstError ?? open.firstError}`);
        const list = results.get(v) ?? [];
        list.push({ rps: closed.rps, perCore: cpu > 0 ? closed.requests / cpu : NaN, p50: open.p50Us, p99: open.p99Us, errors: closed.errors + open.errors });
        results.set(v, list);
        log(`round ${r + 1} ${v.name} ${v.proto}: ${closed.rps.toFixed(0)} rps, ${(closed.requests / cpu).toFixed(0)} req/CPU-s, p99 ${(open.p99Us / 1000).toFixed(2)} ms @ ${rate} rps`);
      }
    }
    const fmtRange = (xs: number[], d = 0) => `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;
    const lines = ['| variant | proto | throughput rps (c=' + connections + ') | req per CPU-second of the proxy | p50 ms @ ' + rate + ' rps | p99 ms @ ' + rate + ' rps | errors |', '|---|---|---|---|---|---|---|'];
    for (const [v, xs] of results) {
      lines.push(`| ${v.name} | ${v.proto} | ${fmtRange(xs.map((x) => x.rps))} | ${fmtRange(xs.map((x) => x.perCore))} | ${fmtRange(xs.map((x) => x.p50 / 1000), 2)} | ${fmtRange(xs.map((x) => x.p99 / 1000), 2)} | ${xs.reduce((s, x) => s + x.errors, 0)} |`);
    }
    for (const proto of ['plain', 'tls', 'h2c', 'h2'] as const) {
      const m = [...results].find(([v]) => v.name === 'meshlet gateway' && v.proto === proto)?.[1];
      const n = [...results].find(([v]) => v.name === 'nginx' && v.proto === proto)?.[1];
      if (m && n) lines.push(`\n${proto}: meshlet/nginx throughput per core ${(median(m.map((x) => x.perCore)) / median(n.map((x) => x.perCore))).toFixed(2)}× (goal with TLS ≥ 0.5×), raw throughput ${(median(m.map((x) => x.rps)) / median(n.map((x) => x.rps))).toFixed(2)}×`);
    }
    const a = [...results].find(([v]) => v.name === 'meshlet gateway' && v.proto === 'plain')?.[1];
    const aa = [...results].find(([v]) => v.name === 'meshlet gateway (A/A)')?.[1];
    if (a && aa) {
      const spread = median(aa.map((x) => x.perCore)) / median(a.map((x) => x.perCore));
      lines.push(`\nA/A (meshlet plain twice): ${spread.toFixed(3)}× per core${Math.abs(spread - 1) > 0.03 ? ' — outside ±3%: this run is void' : ''}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    await control.close();
  } finally {
    await Promise.all(children.map(stop));
    rmSync(dir, { recursive: true, force: true });
    await pki.remove();
  }
}
