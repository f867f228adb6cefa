// Istio standard metrics in isolation: the cost of recording one outbound call
// (CallMetrics.onEnd: edge lookup per endpoint × cluster, series per code, three histograms) and
// one inbound request, the cost of rendering /stats/prometheus, and the memory of the series at
// 100 endpoints × 10 routes (clusters). An A/A pair (the same recording measured twice,
// interleaved) says how far apart two identical runs land.
//
//   node --import tsx bench/metrics.ts [--calls 2000000] [--rounds 5]
import { parseArgs } from 'node:util';
import type { ObservedCall } from '../src/core/observer.js';
import type { UpstreamEndpoint } from '../src/core/types.js';
import type { InboundRequestView } from '../src/core/inbound.js';
import type { InboundCall } from '../src/security/inbound-policy.js';
import { CallMetrics } from '../src/telemetry/call-metrics.js';
import { IstioMetrics } from '../src/telemetry/metrics.js';

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '5' } } });
const CALLS = Number(args.calls);
const ROUNDS = Number(args.rounds);

/** `versions` distinct workloads among the endpoints (Istio's series are per workload, not per pod). */
function endpoint(i: number, versions = 3): UpstreamEndpoint {
  return { key: `10.0.${i >> 8}.${i & 255}:9080`, address: `10.0.${i >> 8}.${i & 255}`, port: 9080, labels: { app: 'reviews', version: `v${i % versions}` }, locality: { region: '', zone: '', subZone: '' } };
}

/** 8 endpoints × 2 clusters × 3 codes: a realistic working set that stays in the caches. */
function workload(): ObservedCall[] {
  const calls: ObservedCall[] = [];
  for (let i = 0; i < 48; i++) {
    const cluster = `outbound|9080|v${i % 2}|reviews.default.svc.cluster.local`;
    calls.push({ protocol: 'http', method: 'GET', authority: 'reviews', path: '/reviews/0', routeName: 'reviews', clusterName: cluster, flags: [], attempts: 1, status: [200, 200, 503][i % 3]!, grpcStatus: undefined, endpoint: ENDPOINTS[i % 8]!, responseBytes: 295, durationMs: (i % 13) * 1.7 });
  }
  return calls;
}

const ENDPOINTS = Array.from({ length: 8 }, (_, i) => endpoint(i));

function measureOutbound(): number {
  const calls = new CallMetrics(new IstioMetrics(), { service: 'productpage', labels: { app: 'productpage', version: 'v1' } });
  const work = workload();
  for (let i = 0; i < 200_000; i++) calls.onEnd(undefined, work[i % work.length]!); // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) calls.onEnd(undefined, work[i % work.length]!);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / CALLS;
}

function measureInbound(): number {
  const calls = new CallMetrics(new IstioMetrics(), { service: 'reviews', labels: { app: 'reviews', version: 'v1' } });
  const view: InboundRequestView = { protocol: 'http', peer: { address: '10.0.0.3', port: 40000, principal: 'spiffe://cluster.local/ns/default/sa/productpage' }, tls: true, localPort: 9080, host: 'reviews:9080', method: 'GET', path: '/reviews/0', query: '', header: () => undefined };
  const call: InboundCall = { view, startTime: 0, flags: [], state: {}, native: undefined };
  const ends = [200, 200, 404].map((status) => ({ status, durationMs: 2.5, requestBytes: 0, responseBytes: 120 }));
  for (let i = 0; i < 200_000; i++) calls.inbound(call, ends[i % 3]!);
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) calls.inbound(call, ends[i % 3]!);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / CALLS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function seriesMemory(): { series: number; bytes: number; renderMs: number; textBytes: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  const registry = new IstioMetrics();
  const calls = new CallMetrics(registry, { service: 'productpage', labels: { app: 'productpage', version: 'v1' } });
  // Worst case: every endpoint its own workload, so every (endpoint, cluster) is a series.
  const eps = Array.from({ length: 100 }, (_, i) => endpoint(i, 100));
  for (let r = 0; r < 10; r++) {
    for (const ep of eps) {
      const call: ObservedCall = { protocol: 'http', method: 'GET', authority: `svc${r}`, path: '/', routeName: `r${r}`, clusterName: `outbound|9080||svc${r}.default.svc.cluster.local`, flags: [], attempts: 1, status: 200, grpcStatus: undefined, endpoint: ep, responseBytes: 10, durationMs: 3 };
      calls.onEnd(undefined, call);
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  const bytes = process.memoryUsage().heapUsed - before;
  const t0 = performance.now();
  const text = registry.render();
  const renderMs = performance.now() - t0;
  return { series: registry.seriesCount, bytes, renderMs, textBytes: text.length };
}

const samples = { 'record outbound': [] as number[], 'record outbound (A/A)': [] as number[], 'record inbound': [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  samples['record outbound'].push(measureOutbound());
  samples['record inbound'].push(measureInbound());
  samples['record outbound (A/A)'].push(measureOutbound());
}
console.log(`${CALLS} calls × ${ROUNDS} rounds, src via tsx, node ${process.version}`);
console.log('| measurement | ns per request: median [min–max] |');
console.log('| --- | --- |');
for (const [name, xs] of Object.entries(samples)) console.log(`| ${name} | ${median(xs).toFixed(0)} [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}] |`);
const mem = seriesMemory();
console.log(`\n100 endpoints (each its own workload) × 10 clusters: ${mem.series} series, ${(mem.bytes / 1024 / 1024).toFixed(2)} MiB heap (${(mem.bytes / mem.series).toFixed(0)} B/series${(globalThis as { gc?: unknown }).gc ? '' : ', run with --expose-gc for a clean figure'}), render ${mem.renderMs.toFixed(1)} ms → ${(mem.textBytes / 1024 / 1024).toFixed(2)} MiB of text`);
