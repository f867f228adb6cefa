// What the mesh adds to one unary gRPC call in client CPU: raw grpc-js vs `mesh.grpc.client()`
// (mesh:///), 16 calls in flight. Like bench/http-overhead.ts, every measurement is a fresh
// process pinned to the client core (no JIT state shared between variants, no grpc-js-xds
// registered beside us); launches are interleaved across variants and reported as medians. The
// origin runs in its own process on the other core, the control server in this one (idle while
// a child measures). The mesh is the bundled build (`npm run build`); `--source` uses tsx.
//
//   npm run build && node --import tsx bench/grpc-overhead.ts [--rounds 5] [--calls 20000]
//   … --before /work/wt/before --variants 'raw grpc-js;raw grpc-js (A/A);meshlet mesh:///;grpc-js-xds xds:///'
//
// `grpc-js-xds xds:///` is stock @grpc/grpc-js-xds (register(), a bootstrap naming our control
// server) on the same ServiceEntry, in its own fresh process like the others. `--before <dir>`,
// `--variants` and `--alloc` work as in bench/http-overhead.ts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { parseConfig } from '../src/config/index.js';
import { createControlServer } from '../src/control/index.js';
import { EchoClient, echoCall } from '../src/testing/echo.js';
import { track, untrack } from './lib/cleanup.js';
import { callgrindTable, interleaved, median, runFreshChild } from './lib/fresh-process.js';
import { ECHO_HOST, echoServiceEntry } from './lib/grpc-echo-config.js';
import { measureAlloc } from './lib/alloc.js';
import { profilePhase } from './lib/profile-phase.js';
import { meshLib, meshLibAt } from './lib/mesh-lib.js';
import { pinned, SERVER_CPU } from './lib/pin.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    calls: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '3000' },
    deadline: { type: 'string', default: '5000' },
    // Instructions per call under valgrind's callgrind (repeatable on a loaded machine): each
    // variant runs at --calls and 3× --calls with the same warm-up; the difference per call.
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

// `metrics on`: createMesh({ metricsPort: 0 }), Istio's standard metrics recorded per call.
const ALL = ['raw grpc-js', 'raw grpc-js (A/A)', 'meshlet mesh:///', 'meshlet mesh:///, metrics on', 'grpc-js-xds xds:///'] as const;
type BaseId = (typeof ALL)[number];
type VariantId = BaseId | `before: ${BaseId}`;
const picked = args.variants ? args.variants.split(';').map((v) => v.trim()) : [...ALL];
for (const v of picked) if (!(ALL as readonly string[]).includes(v)) throw new Error(`unknown variant "${v}" (${ALL.join(', ')})`);
if (!picked.includes('raw grpc-js')) picked.unshift('raw grpc-js');
const VARIANTS: VariantId[] = (ALL as readonly BaseId[]).filter((v) => picked.includes(v)).flatMap((v): VariantId[] =>
  args.before && v.startsWith('meshlet') ? [v, `before: ${v}`] : [v]);
interface Sample { rps: number; cpuUs: number; allocBytes?: number }

async function closedLoop(client: grpc.Client, calls: number): Promise<Sample> {
  let issued = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = Number(args.deadline);
  await Promise.all(Array.from({ length: 16 }, async () => { while (issued++ < calls) await echoCall(client, undefined, deadline); }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rps: (calls * 1000) / ms, cpuUs: (cpu.user + cpu.system) / calls };
}

async function child(variant: VariantId): Promise<void> {
  const before = variant.startsWith('before: ');
  const id = (before ? variant.slice('before: '.length) : variant) as BaseId;
  const calls = Number(args.calls);
  let client: grpc.Client;
  let close: () => Promise<void>;
  if (id === 'grpc-js-xds xds:///') {
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${args.xds}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'bench-grpc-js-xds', cluster: 'bench', locality: {} },
    });
    (await import('@grpc/grpc-js-xds')).register();
    client = new EchoClient(`xds:///${ECHO_HOST}:9090`, grpc.credentials.createInsecure());
    close = async () => { client.close(); };
  } else if (id === 'meshlet mesh:///' || id === 'meshlet mesh:///, metrics on') {
    const lib = before ? await meshLibAt(args.before!) : await meshLib(args.source);
    const metrics = id === 'meshlet mesh:///, metrics on' ? { metricsPort: 0 } : {};
    const mesh = await lib.createMesh({ controlPlane: `127.0.0.1:${args.xds}`, service: 'bench-grpc', initialFetchTimeoutMs: 15_000, ...metrics });
    client = mesh.grpc.client(EchoClient, `${ECHO_HOST}:9090`);
    close = async () => { client.close(); await mesh.close(); };
  } else {
    client = new EchoClient(`127.0.0.1:${args.port}`, grpc.credentials.createInsecure());
    close = async () => { client.close(); };
  }
  await closedLoop(client, Number(args.warmup)); // warm-up
  let sample: Sample;
  if (args.alloc) {
    const r = await measureAlloc(() => closedLoop(client, calls));
    sample = { ...r.value, allocBytes: r.bytes / calls };
  } else if (args.profile) sample = await profilePhase(args.profile, variant, () => closedLoop(client, calls));
  else sample = await closedLoop(client, calls);
  await close();
  // Exit once the line is out: grpc-js-xds keeps its ADS channel (and so the process) alive after
  // the client is closed.
  process.stdout.write(`${JSON.stringify(sample)}\n`, () => process.exit(0));
}

function runChild(id: VariantId, port: number, xdsPort: number, calls = args.calls!): Promise<Sample & { instructions?: number }> {
  return runFreshChild<Sample>(new URL(import.meta.url), id, ['--port', String(port), '--xds', String(xdsPort), '--calls', calls, '--warmup', args.warmup!, '--deadline', args.callgrind ? '600000' : args.deadline!,
    ...(args.source ? ['--source'] : []), ...(args.before ? ['--before', args.before] : []), ...(args.alloc ? ['--alloc'] : []), ...(args.profile ? ['--profile', args.profile] : [])]);
}


async function main(): Promise<void> {
  const load0 = loadavg();
  const [cmd, cmdArgs] = pinned(SERVER_CPU, process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./grpc-server.ts', import.meta.url))]);
  const origin = spawn(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  track(origin.pid);
  const [chunk] = (await once(origin.stdout!, 'data')) as [Buffer];
  const port = Number(chunk.toString().trim());
  const control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
  try {
    await control.store.apply(parseConfig(echoServiceEntry(port), 'bench.yaml').resources);
    if (args.callgrind) return await callgrindTable(VARIANTS, 'raw grpc-js', Number(args.calls), 'instructions per unary call, 16 in flight', (id, units) => runChild(id, port, control.xdsPort, String(units)), Number(args.jobs));
    const rounds = Number(args.rounds);
    const samples = await interleaved(VARIANTS, rounds, (id) => runChild(id, port, control.xdsPort));
    const base = median(samples.get('raw grpc-js')!.map((s) => s.cpuUs));
    const baseRps = median(samples.get('raw grpc-js')!.map((s) => s.rps));
    console.log(`unary, 16 in flight, ${args.calls} calls per launch × ${rounds} launches per variant, ${args.source ? 'src via tsx' : 'dist bundle'}${args.before ? `, before = ${args.before}/dist` : ''}, node ${process.version}, load average ${load0.map((x) => x.toFixed(1)).join(' ')} (start) → ${loadavg().map((x) => x.toFixed(1)).join(' ')} (end)`);
    console.log(`| variant | client CPU µs/call: median [min–max] | added µs/call | CPU ratio | rps (median) | rps ratio |${args.alloc ? ' heap bytes/call |' : ''}`);
    console.log(`| --- | --- | --- | --- | --- | --- |${args.alloc ? ' --- |' : ''}`);
    for (const id of VARIANTS) {
      const s = samples.get(id)!;
      const cpus = s.map((x) => x.cpuUs);
      const cpu = median(cpus);
      const rps = median(s.map((x) => x.rps));
      console.log(`| ${id} | ${cpu.toFixed(1)} [${Math.min(...cpus).toFixed(1)}–${Math.max(...cpus).toFixed(1)}] | ${(cpu - base).toFixed(1)} | ${(cpu / base).toFixed(2)}× | ${rps.toFixed(0)} | ${(rps / baseRps).toFixed(2)}× |${args.alloc ? ` ${median(s.map((x) => x.allocBytes!)).toFixed(0)} |` : ''}`);
    }
  } finally {
    await control.close();
    origin.stdin!.end();
    untrack(origin.pid);
  }
}

if (args.child) child(args.child as VariantId).catch((err) => { console.error(err); process.exitCode = 1; });
else main().catch((err) => { console.error(err); process.exitCode = 1; });
