// What the mesh adds to one HTTP request in client CPU: raw undici vs mesh.dispatcher (a host
// with no traffic policy, and one with LB + retry + breaker + deadline + outlier), closed loop at
// 16 in flight. Every measurement is a fresh process (pinned to the client core), so one
// variant's JIT state (V8 sometimes settles a hot undici function into a slow shape) cannot
// colour the others; launches are interleaved across variants and reported as medians. The
// origin and the control server run in their own processes on the other core.
//
// CPU per request is steadier than throughput on a shared 2-core VM, so this is the number to
// watch while working on the hot path. The mesh is the bundled build (`npm run build`), as users
// run it; `--source` measures the TypeScript through tsx instead.
//
//   npm run bench:overhead
//   npm run bench:overhead -- --rounds 9 --requests 20000 --payload 1k
//   BENCH_CLIENT_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:overhead -- --rounds 1
//   npm run bench:overhead -- --before /work/wt/before --variants 'raw;raw (A/A);mesh features + metrics'
//
// `--before <dir>`: another checkout (a `git worktree` of an older commit, built there) whose
// dist/ is measured beside this one's in the same run: every mesh variant gets a `before: …`
// twin. `--variants` picks variants by name (separated by ';'). `--alloc`: V8 heap bytes
// allocated per request (v8.GCProfiler; its per-GC statistics cost CPU, so use a separate run).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, type Dispatcher } from 'undici';
import { FEATURES_HOST, meshBenchConfig, PLAIN_HOST } from './cases/http-mesh-config.js';
import { track, untrack } from './lib/cleanup.js';
import { startControlProcess } from './lib/control-process.js';
import { measureAlloc } from './lib/alloc.js';
import { profilePhase } from './lib/profile-phase.js';
import { DIST_ENTRY, meshLib, meshLibAt } from './lib/mesh-lib.js';
import { callgrindTable, interleaved, median, runFreshChild } from './lib/fresh-process.js';
import { pinPid, SERVER_CPU } from './lib/pin.js';
import { RpcChild } from './lib/rpc-child.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    payload: { type: 'string', default: 'tiny' },
    warmup: { type: 'string', default: '5000' },
    // Instructions per request under valgrind's callgrind (repeatable on a loaded machine): each
    // variant runs at --requests and 3× --requests with the same warm-up; the difference per request.
    callgrind: { type: 'boolean', default: false },
    // Callgrind children run at once (their counts do not depend on the load).
    jobs: { type: 'string', default: '1' },
    source: { type: 'boolean', default: false },
    before: { type: 'string' },
    variants: { type: 'string' },
    alloc: { type: 'boolean', default: false },
    // A CPU profile of each child's measured loop (after the warm-up) into this directory.
    profile: { type: 'string' },
    child: { type: 'string' },
    port: { type: 'string' },
    xds: { type: 'string' },
  },
});

// `metrics on` is pass-through with createMesh({ metricsPort: 0 }): Istio's standard metrics
// recorded for every request (the A/A pair bounds what the difference can resolve). `mesh
// features + metrics` is every feature of issue 15's goal at once: LB, retries, breaker, timeout,
// outlier detection and the standard metrics.
// `raw, Host header` is raw undici sending the mesh host's name as Host, as every mesh call must
// (Envoy forwards the original authority): the part of the difference that is undici's, not ours.
const ALL = ['raw', 'raw (A/A)', 'raw, Host header', 'mesh pass-through', 'mesh pass-through, metrics on', 'mesh features', 'mesh features + metrics'] as const;
type BaseId = (typeof ALL)[number];
type VariantId = BaseId | `before: ${BaseId}`;
const picked = args.variants ? args.variants.split(';').map((v) => v.trim()) : [...ALL];
for (const v of picked) if (!(ALL as readonly string[]).includes(v)) throw new Error(`unknown variant "${v}" (${ALL.join(', ')})`);
if (!picked.includes('raw')) picked.unshift('raw');
const VARIANTS: VariantId[] = (ALL as readonly BaseId[]).filter((v) => picked.includes(v)).flatMap((v): VariantId[] =>
  args.before && v.startsWith('mesh') ? [v, `before: ${v}`] : [v]);
interface Sample { rps: number; cpuUs: number; errors: number; allocBytes?: number }

async function closedLoop(d: Dispatcher, origin: string, path: string, requests: number, concurrency: number, host?: string): Promise<Sample> {
  let issued = 0;
  let errors = 0;
  const headers = host === undefined ? undefined : { host };
  const one = async (): Promise<void> => {
    const res = await d.request({ origin, path, method: 'GET', headers });
    for await (const _ of res.body) { /* drain */ }
    if (res.statusCode !== 200) errors++;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (issued < requests) { issued++; await one().catch(() => { errors++; }); }
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rps: (requests * 1000) / ms, cpuUs: (cpu.user + cpu.system) / requests, errors };
}

/** One measurement in this (child) process: set up the variant, warm up, measure, print JSON. */
async function child(variant: VariantId): Promise<void> {
  const before = variant.startsWith('before: ');
  const id = (before ? variant.slice('before: '.length) : variant) as BaseId;
  const port = Number(args.port);
  const path = `/${args.payload}`;
  const requests = Number(args.requests);
  const concurrency = Number(args.concurrency);
  let dispatcher: Dispatcher;
  let origin: string;
  let close: () => Promise<void>;
  let host: string | undefined;
  if (id === 'raw' || id === 'raw (A/A)' || id === 'raw, Host header') {
    if (id === 'raw, Host header') host = PLAIN_HOST;
    const agent = new Agent({ connections: 64, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 });
    dispatcher = agent;
    origin = `http://127.0.0.1:${port}`;
    close = () => agent.close();
  } else {
    const lib = before ? await meshLibAt(args.before!) : await meshLib(args.source);
    const metrics = id.includes('metrics') ? { metricsPort: 0 } : {};
    const mesh = await lib.createMesh({ controlPlane: `127.0.0.1:${args.xds}`, service: 'bench-client', strict: true, initialFetchTimeoutMs: 15_000, ...metrics });
    dispatcher = mesh.dispatcher;
    origin = `http://${id.startsWith('mesh features') ? FEATURES_HOST : PLAIN_HOST}`;
    close = () => mesh.close();
  }
  await closedLoop(dispatcher, origin, path, Number(args.warmup), concurrency, host); // warm-up (JIT, pools)
  let sample: Sample;
  if (args.alloc) {
    const r = await measureAlloc(() => closedLoop(dispatcher, origin, path, requests, concurrency, host));
    sample = { ...r.value, allocBytes: r.bytes / requests };
  } else if (args.profile) sample = await profilePhase(args.profile, variant, () => closedLoop(dispatcher, origin, path, requests, concurrency, host));
  else sample = await closedLoop(dispatcher, origin, path, requests, concurrency, host);
  await close();
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}

function runChild(id: VariantId, port: number, xdsPort: number, requests = args.requests!): Promise<Sample & { instructions?: number }> {
  return runFreshChild<Sample>(new URL(import.meta.url), id, ['--port', String(port), '--xds', String(xdsPort),
    '--requests', requests, '--warmup', args.warmup!, '--concurrency', args.concurrency!, '--payload', args.payload!,
    ...(args.source ? ['--source'] : []), ...(args.before ? ['--before', args.before] : []), ...(args.alloc ? ['--alloc'] : []), ...(args.profile ? ['--profile', args.profile] : [])]);
}


async function main(): Promise<void> {
  const load0 = loadavg();
  if (!args.source) {
    if (!existsSync(DIST_ENTRY)) throw new Error('dist/index.js is missing: run `npm run build` first (or pass --source)');
  }
  const origin = RpcChild.start(new URL('./lib/origin-server.ts', import.meta.url), 'origin', SERVER_CPU);
  const port = await origin.call<number>('listen');
  const control = await startControlProcess();
  track(control.pid);
  pinPid(control.pid, SERVER_CPU);
  try {
    await control.admin('/apply', { method: 'POST', body: meshBenchConfig(port) });
    if (args.callgrind) return await callgrindTable(VARIANTS, 'raw', Number(args.requests), `instructions per request, payload ${args.payload}, c=${args.concurrency}`, (id, units) => runChild(id, port, control.xdsPort, String(units)), Number(args.jobs));
    const rounds = Number(args.rounds);
    const samples = await interleaved(VARIANTS, rounds, (id) => runChild(id, port, control.xdsPort));
    const base = median(samples.get('raw')!.map((s) => s.cpuUs));
    const baseRps = median(samples.get('raw')!.map((s) => s.rps));
    console.log(`payload ${args.payload}, c=${args.concurrency}, ${args.requests} requests per launch × ${rounds} launches per variant, ${args.source ? 'src via tsx' : 'dist bundle'}${args.before ? `, before = ${args.before}/dist` : ''}, node ${process.version}, load average ${load0.map((x) => x.toFixed(1)).join(' ')} (start) → ${loadavg().map((x) => x.toFixed(1)).join(' ')} (end)`);
    console.log(`| variant | client CPU µs/req: median [min–max] | added µs/req | CPU ratio | rps (median) | rps ratio | errors |${args.alloc ? ' heap bytes/req |' : ''}`);
    console.log(`| --- | --- | --- | --- | --- | --- | --- |${args.alloc ? ' --- |' : ''}`);
    for (const id of VARIANTS) {
      const s = samples.get(id)!;
      const cpus = s.map((x) => x.cpuUs);
      const cpu = median(cpus);
      const rps = median(s.map((x) => x.rps));
      console.log(`| ${id} | ${cpu.toFixed(1)} [${Math.min(...cpus).toFixed(1)}–${Math.max(...cpus).toFixed(1)}] | ${(cpu - base).toFixed(1)} | ${(cpu / base).toFixed(2)}× | ${rps.toFixed(0)} | ${(rps / baseRps).toFixed(2)}× | ${s.reduce((n, x) => n + x.errors, 0)} |${args.alloc ? ` ${median(s.map((x) => x.allocBytes!)).toFixed(0)} |` : ''}`);
    }
  } finally {
    await control.stop();
    untrack(control.pid);
    await origin.stop();
  }
}

if (args.child) child(args.child as VariantId).catch((err) => { console.error(err); process.exitCode = 1; });
else main().catch((err) => { console.error(err); process.exitCode = 1; });
