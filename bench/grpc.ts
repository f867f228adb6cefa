// gRPC data-plane benchmark: unary throughput and closed-loop latency of raw grpc-js, meshlet
// (mesh:///) and stock @grpc/grpc-js-xds (xds:///), the latter two fed by our control server.
// The origin runs in its own process (pinned to CPU 1 when taskset exists; this process to
// CPU 0). Warm-up round first (discarded), then ≥ 5 interleaved rounds in rotated order;
// ratios are per round against raw-a; raw-b vs raw-a is the A/A check (±3% or the run is VOID).
//
//   node --import tsx bench/grpc.ts [--rounds 5] [--seconds 2] [--inflight 16]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { createControlServer } from '../src/control/index.js';
import { parseConfig } from '../src/config/index.js';
import { createMesh } from '../src/mesh/create.js';
import { meshGrpc } from '../src/grpc/index.js';
import { EchoClient, echoCall } from '../src/testing/echo.js';
import { CLIENT_CPU, SERVER_CPU, pinPid, pinned } from './lib/pin.js';
import type { Goal } from './lib/dataplane-report.js';
import { aaGate, type GateResult } from './lib/gate.js';
import { ECHO_HOST, echoServiceEntry } from './lib/grpc-echo-config.js';
import { summarize } from './lib/summary.js';
import { num, ratioCell, type Row } from './lib/table.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
let INFLIGHT = arg('inflight', 16);
const HOST = ECHO_HOST;

async function startOrigin(): Promise<{ port: number; stop(): void }> {
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, ['--import', 'tsx', 'bench/grpc-server.ts']);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(chunk.toString().trim()), stop: () => child.stdin!.end() };
}

interface Phase {
  rps: number;
  p50: number;
  p99: number;
}

async function phase(client: grpc.Client, seconds: number): Promise<Phase> {
  const lat: number[] = [];
  const until = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const t0 = performance.now();
      await echoCall(client);
      lat.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { rps: lat.length / elapsed, p50: q(0.5), p99: q(0.99) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface GrpcRun {
  names: string[];
  results: Record<string, Phase[]>;
}

/** Origin in its own process, control server in this one; every variant measured in the same rounds. */
async function measure(rounds: number, seconds: number, log: (line: string) => void): Promise<GrpcRun> {
  pinPid(process.pid, CLIENT_CPU);
  const origin = await startOrigin();
  const control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
  const yaml = echoServiceEntry(origin.port);
  await control.store.apply(parseConfig(yaml, 'bench.yaml').resources);
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${control.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'bench-xds', cluster: 'bench', locality: {} },
  });
  grpcXds.register();
  const mesh = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, service: 'bench' });
  const g = meshGrpc(mesh);
  const insecure = grpc.credentials.createInsecure();
  const variants: Record<string, grpc.Client> = {
    'raw-a': new EchoClient(`127.0.0.1:${origin.port}`, insecure),
    'raw-b': new EchoClient(`127.0.0.1:${origin.port}`, insecure, { 'grpc.use_local_subchannel_pool': 1 }),
    meshlet: g.client(EchoClient, `${HOST}:9090`),
    'grpc-js-xds': new EchoClient(`xds:///${HOST}:9090`, insecure),
  };
  try {
    for (const c of Object.values(variants)) for (let i = 0; i < 50; i++) await echoCall(c, {}, 10_000);
    const names = Object.keys(variants);
    const results: Record<string, Phase[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round <= rounds; round++) {
      log(`gRPC round ${round}/${rounds}${round === 0 ? ' (warm-up)' : ''} …`);
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) {
        const r = await phase(variants[name]!, round === 0 ? Math.min(1, seconds) : seconds);
        if (round > 0) results[name]!.push(r);
      }
    }
    return { names, results };
  } finally {
    for (const c of Object.values(variants)) c.close();
    await mesh.close();
    await control.close();
    origin.stop();
  }
}

const LABELS: Record<string, string> = {
  'raw-a': 'raw grpc-js (baseline)',
  'raw-b': 'A/A: raw grpc-js again',
  meshlet: 'meshlet gRPC (mesh:///)',
  'grpc-js-xds': 'stock @grpc/grpc-js-xds (xds:///)',
};

/**
 * The gRPC cases for bench/run.ts's one table: throughput ratios against raw grpc-js, latency
 * added at p50/p99 (closed loop), the A/A gate, and the goals (≥ 0.95× raw, ≥ 1.0× grpc-js-xds).
 */
export async function runGrpcCases(opts: { quick: boolean; rounds: number; log: (line: string) => void }): Promise<{ rows: Row[]; gates: GateResult[]; goals: Goal[] }> {
  const run = await measure(opts.rounds, opts.quick ? 1 : 2, opts.log);
  const base = run.results['raw-a']!;
  const params = `unary; ${INFLIGHT} in flight; closed loop`;
  const ratio = (n: string) => summarize(run.results[n]!.map((r, i) => r.rps / base[i]!.rps));
  const added = (n: string, k: 'p50' | 'p99') => summarize(run.results[n]!.map((r, i) => (r[k] - base[i]![k]) * 1000));
  const gate = aaGate(base.map((r) => r.rps), run.results['raw-b']!.map((r) => r.rps));
  const meshVsXds = summarize(run.results['meshlet']!.map((r, i) => r.rps / run.results['grpc-js-xds']![i]!.rps));
  const rows: Row[] = run.names.map((n) => {
    const baseline = n === 'raw-a';
    const rps = summarize(run.results[n]!.map((r) => r.rps));
    const p50 = summarize(run.results[n]!.map((r) => r.p50 * 1000));
    const p99 = summarize(run.results[n]!.map((r) => r.p99 * 1000));
    const cell = (s: ReturnType<typeof summarize>) => `${s.median >= 0 ? '+' : ''}${num(s.median, 0)} µs [${num(s.min, 0)}…${num(s.max, 0)}]`;
    return {
      case: LABELS[n] ?? n,
      params,
      result: baseline ? `${num(rps.median, 0)} rps [${num(rps.min, 0)}–${num(rps.max, 0)}]` : ratioCell(ratio(n)),
      p50: baseline ? `${num(p50.median, 0)} µs` : cell(added(n, 'p50')),
      p99: baseline ? `${num(p99.median, 0)} µs` : cell(added(n, 'p99')),
      cpu: '', memory: '', stall: '',
      goal: n === 'raw-b' ? (gate.valid ? '✔ A/A within ±3%' : '✘ VOID (±3%)')
        : n === 'meshlet' ? `${ratio(n).median >= 0.95 ? '✔ met' : '✘ not met'} (≥ 0.95× raw); ${ratioCell(meshVsXds)} grpc-js-xds ${meshVsXds.median >= 1 ? '✔ met' : '✘ not met'} (≥ 1.0×)` : '',
    };
  });
  const goals: Goal[] = [
    { name: 'gRPC: meshlet vs raw grpc-js (≥ 0.95×)', met: ratio('meshlet').median >= 0.95, value: ratioCell(ratio('meshlet')) },
    { name: 'gRPC: meshlet vs stock grpc-js-xds (≥ 1.0×)', met: meshVsXds.median >= 1, value: ratioCell(meshVsXds) },
  ];
  return { rows, gates: [{ ...gate, reason: `gRPC: ${gate.reason}` }], goals };
}

async function main(): Promise<void> {
  const rounds = Math.max(5, arg('rounds', 5));
  const seconds = arg('seconds', 2);
  INFLIGHT = arg('inflight', 16);
  const { names, results } = await measure(rounds, seconds, (line) => process.stderr.write(`${line}\n`));
  const lines: string[] = [];
  const ratio = (n: string, k: keyof Phase): number[] => results[n]!.map((r, i) => r[k] / results['raw-a']![i]![k]);
  const fmt = (xs: number[]): string => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`;
  lines.push(`| variant | req/s (median) | p50 ms | p99 ms | throughput ÷ raw-a | p50 ÷ raw-a | p99 ÷ raw-a |`);
  lines.push(`|---|---|---|---|---|---|---|`);
  for (const n of names) {
    const rs = results[n]!;
    lines.push(`| ${n} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(3)} | ${median(rs.map((r) => r.p99)).toFixed(3)} | ${fmt(ratio(n, 'rps'))} | ${fmt(ratio(n, 'p50'))} | ${fmt(ratio(n, 'p99'))} |`);
  }
  const aa = median(ratio('raw-b', 'rps'));
  const valid = Math.abs(aa - 1) <= 0.03;
  lines.push('');
  lines.push(`A/A (raw-b ÷ raw-a throughput, median): ${aa.toFixed(3)} → ${valid ? 'PASS (within ±3%)' : 'VOID (outside ±3%)'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  // A VOID run is reported, never an error: nothing fails on a timing.
}

// Run directly: the standalone table. Imported by bench/run.ts: only runGrpcCases is used.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench/grpc failed: ${String(err)}\n`);
    process.exitCode = 1;
  });
}
