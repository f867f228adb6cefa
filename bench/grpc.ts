// gRPC data-plane benchmark: unary throughput and closed-loop latency of raw grpc-js, meshlet
// (mesh:///) and stock @grpc/grpc-js-xds (xds:///), the latter two fed by our control server.
// The origin runs in its own process (pinned to CPU 1 when taskset exists; this process to
// CPU 0). Warm-up round first (discarded), then ≥ 5 interleaved rounds in rotated order;
// ratios are per round against raw-a; raw-b vs raw-a is the A/A check (±3% or the run is VOID).
//
//   node --import tsx bench/grpc.ts [--rounds 5] [--seconds 2] [--inflight 16]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { createControlServer } from '../src/control/index.js';
import { parseConfig } from '../src/config/index.js';
import { createMesh } from '../src/mesh/create.js';
import { meshGrpc } from '../src/grpc/index.js';
import { EchoClient, echoCall } from '../src/testing/echo.js';
import { CLIENT_CPU, SERVER_CPU, pinPid, pinned } from './lib/pin.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = Math.max(5, arg('rounds', 5));
const SECONDS = arg('seconds', 2);
const INFLIGHT = arg('inflight', 16);
const HOST = 'echo.default.svc.cluster.local';

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

async function main(): Promise<void> {
  pinPid(process.pid, CLIENT_CPU);
  const origin = await startOrigin();
  const control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
  const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9090, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: ${origin.port} } }]
`;
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
  for (const c of Object.values(variants)) for (let i = 0; i < 50; i++) await echoCall(c, {}, 10_000);
  const names = Object.keys(variants);
  const results: Record<string, Phase[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const name of order) {
      const r = await phase(variants[name]!, round === 0 ? Math.min(1, SECONDS) : SECONDS);
      if (round > 0) results[name]!.push(r);
    }
  }
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
  for (const c of Object.values(variants)) c.close();
  await mesh.close();
  await control.close();
  origin.stop();
  process.exitCode = valid ? 0 : 2;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/grpc failed: ${String(err)}\n`);
  process.exitCode = 1;
});
