// Cold start: how long a fresh process takes from `node` to its first routed answer, and its
// RSS then, side by side in one run: a plain undici fetch (the baseline, and again as the A/A
// row), meshlet's mesh.fetch through the control server, raw grpc-js, grpc-js with undici loaded
// (meshlet gRPC's baseline), stock grpc-js-xds after `register()` dialing xds:///, and meshlet's
// mesh.grpc; then the goal lines (mesh over its raw client: ≤ +100 ms, ≤ +8 MiB). Each measurement is its own process
// (bench/cold-start-child.mjs, plain node, no tsx), pinned to the client core; launches are
// interleaved across variants; medians [min–max]. The origin, the echo server and the control
// server run in this process, pinned to the other core. meshlet is the bundled build.
//
//   npm run bench:cold-start                 (builds first)
//   npm run bench:cold-start -- --rounds 15
//   BENCH_DIST=/other/checkout/dist/index.js npm run bench:cold-start   (another build, for before/after)
//   BENCH_CLIENT_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p" npm run bench:cold-start -- --rounds 1 --only 'meshlet HTTP'
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createControlServer } from '../src/control/index.js';
import { parseConfig } from '../src/config/index.js';
import { startEchoServer } from '../src/testing/echo.js';
import { interleaved, runJsonChild } from './lib/fresh-process.js';
import { pinPid, SERVER_CPU } from './lib/pin.js';
import { fmt, percentile } from './lib/stats.js';
import { DIST_ENTRY } from './lib/mesh-lib.js';
import { ECHO_HOST, echoServiceEntry } from './lib/grpc-echo-config.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, only: { type: 'string', multiple: true } } });

const ALL = ['undici', 'undici (A/A)', 'meshlet HTTP', 'grpc-js', 'grpc-js + undici', 'grpc-js-xds', 'meshlet gRPC'] as const;
type Variant = (typeof ALL)[number];
/** `--only 'meshlet HTTP'` (repeatable) measures a subset; the undici baseline is always in. */
const VARIANTS: readonly Variant[] = args.only ? ALL.filter((v) => v === 'undici' || args.only!.includes(v)) : ALL;
interface Sample { imported: number; ready: number; first: number; cpu: number; rss: number; answer: string }

const CHILD = fileURLToPath(new URL('./cold-start-child.mjs', import.meta.url));

function runChild(variant: Variant, opts: Record<string, unknown>): Promise<Sample> {
  return runJsonChild<Sample>(variant, [CHILD, variant, JSON.stringify(opts)]);
}

async function main(): Promise<void> {
  if (!existsSync(DIST_ENTRY)) throw new Error('no dist/: run `npm run build` (npm run bench:cold-start does)');
  pinPid(process.pid, SERVER_CPU);
  const origin = createServer((_req, res) => res.end('hello'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originPort = (origin.address() as AddressInfo).port;
  const echo = await startEchoServer('echo');
  const control = await createControlServer({ xdsPort: 0, adminPort: null });
  const yaml = `${echoServiceEntry(echo.port)}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: hello }
spec:
  hosts: [hello.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${originPort} } }]
`;
  const parsed = parseConfig(yaml, 'cold-start.yaml');
  if (parsed.diagnostics.some((d) => d.severity === 'error')) throw new Error(JSON.stringify(parsed.diagnostics));
  await control.store.apply(parsed.resources);
  // BENCH_DIST=/other/checkout/dist/index.js measures another build (a before/after comparison).
  const dist = process.env.BENCH_DIST ?? DIST_ENTRY;
  const opts = { originPort, echoPort: echo.port, echoHost: ECHO_HOST, controlPlane: `127.0.0.1:${control.xdsPort}`, dist: new URL(`file://${dist}`).href };

  const rounds = Number(args.rounds);
  // One throw-away launch per variant: the first read of each file from disk is not a cold start.
  for (const v of VARIANTS) await runChild(v, opts);
  const samples = await interleaved(VARIANTS, rounds, (v) => runChild(v, opts));
  await control.close();
  await echo.close();
  origin.close();

  const stat = (xs: number[]) => `${fmt(percentile(xs, 50), 0)} [${fmt(Math.min(...xs), 0)}–${fmt(Math.max(...xs), 0)}]`;
  const med = (xs: number[]) => percentile(xs, 50);
  const base = samples.get('undici')!;
  const baseFirst = med(base.map((s) => s.first));
  const baseRss = med(base.map((s) => s.rss)) / 1048576;
  const baseCpu = med(base.map((s) => s.cpu));
  const delta = (x: number) => `${x >= 0 ? '+' : ''}${fmt(x, 0)}`;
  const lines = [
    `Cold start, ${rounds} fresh processes per variant (interleaved), Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ms since process start, median [min–max].`,
    '',
    '| variant | first answer (ms) | Δ vs undici | CPU to first answer (ms) | Δ CPU | imports done (ms) | set up (ms) | RSS at first answer (MiB) | Δ RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const v of VARIANTS) {
    const s = samples.get(v)!;
    const first = s.map((x) => x.first);
    const rss = s.map((x) => x.rss / 1048576);
    const cpu = s.map((x) => x.cpu);
    lines.push(`| ${v} | ${stat(first)} | ${v === 'undici' ? '' : delta(med(first) - baseFirst)} | ${stat(cpu)} | ${v === 'undici' ? '' : delta(med(cpu) - baseCpu)} | ${stat(s.map((x) => x.imported))} | ${stat(s.map((x) => x.ready))} | ${fmt(med(rss), 1)} [${fmt(Math.min(...rss), 1)}–${fmt(Math.max(...rss), 1)}] | ${v === 'undici' ? '' : `${med(rss) - baseRss >= 0 ? '+' : ''}${fmt(med(rss) - baseRss, 1)}`} |`);
  }
  // Issue 17's goal: a mesh client costs ≤ +100 ms to the first routed answer and ≤ +8 MiB of RSS
  // over the raw clients it wraps (HTTP: undici; gRPC: grpc-js + undici, which the mesh loads).
  const goal = (mesh: Variant, raw: Variant): string | undefined => {
    const m = samples.get(mesh);
    const r = samples.get(raw);
    if (!m || !r) return undefined;
    const dt = med(m.map((x) => x.first)) - med(r.map((x) => x.first));
    const dc = med(m.map((x) => x.cpu)) - med(r.map((x) => x.cpu));
    const dm = (med(m.map((x) => x.rss)) - med(r.map((x) => x.rss))) / 1048576;
    const met = dt <= 100 && dm <= 8;
    return `- ${mesh} over ${raw}: ${delta(dt)} ms (CPU ${delta(dc)} ms), ${dm >= 0 ? '+' : ''}${fmt(dm, 1)} MiB → goal (≤ +100 ms, ≤ +8 MiB) ${met ? 'met' : 'NOT met'}`;
  };
  // The A/A row must agree within ±3% (ARCHITECTURE "Benchmarks"), else wall times say nothing.
  const aa = samples.get('undici (A/A)');
  if (aa) {
    const off = (med(aa.map((x) => x.first)) - baseFirst) / baseFirst;
    if (Math.abs(off) > 0.03) lines.push('', `A/A is off by ${fmt(off * 100, 0)}%: this run's wall times are void (the machine is loaded); CPU and RSS deltas still say something.`);
  }
  const goals = [goal('meshlet HTTP', 'undici'), goal('meshlet gRPC', 'grpc-js + undici')].filter((g): g is string => g !== undefined);
  if (goals.length > 0) lines.push('', ...goals);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
