// What the dashboard's graph costs: the control server scraping every mesh's /stats/prometheus
// (control/graph/scraper.ts). Two figures per target size: the control server's CPU to read one
// scrape (bounded text reader + counter deltas, TargetCounters) and the whole round trip against
// a real metrics endpoint (HTTP GET, render on the mesh side, read) — the only thing the data plane
// pays is rendering its text once per interval. Sizes: a bookinfo-like mesh (3 routes × 3 codes)
// and the worst case of bench/metrics.ts (100 endpoints, each its own workload, × 10 clusters).
//
//   node --import tsx bench/dashboard-scrape.ts [--rounds 20]
import { parseArgs } from 'node:util';
import type { ObservedCall } from '../src/core/observer.js';
import type { UpstreamEndpoint } from '../src/core/types.js';
import { scanSamples } from '../src/control/graph/prom-text.js';
import { DURATION_BUCKET, REQUESTS, TargetCounters, type EdgeTraffic } from '../src/control/graph/window.js';
import { GraphScraper } from '../src/control/graph/scraper.js';
import { CallMetrics } from '../src/telemetry/call-metrics.js';
import { IstioMetrics } from '../src/telemetry/metrics.js';
import { MetricsServer } from '../src/telemetry/metrics-server.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const ROUNDS = Number(args.rounds);
const FAMILIES = new Set([REQUESTS, DURATION_BUCKET]);

function endpoint(i: number, versions: number): UpstreamEndpoint {
  return { key: `10.0.${i >> 8}.${i & 255}:9080`, address: `10.0.${i >> 8}.${i & 255}`, port: 9080, labels: { app: 'reviews', version: `v${i % versions}` }, locality: { region: '', zone: '', subZone: '' } };
}

/** A registry holding `endpoints` × `clusters` × `codes` outbound series, and a way to add traffic. */
function registry(endpoints: number, clusters: number, codes: number[]): { metrics: IstioMetrics; traffic: () => void } {
  const metrics = new IstioMetrics();
  const calls = new CallMetrics(metrics, { service: 'productpage', labels: { app: 'productpage', version: 'v1' } });
  const eps = Array.from({ length: endpoints }, (_, i) => endpoint(i, endpoints));
  const traffic = () => {
    for (let c = 0; c < clusters; c++) for (const ep of eps) for (const status of codes) {
      const call: ObservedCall = { protocol: 'http', method: 'GET', authority: `svc${c}`, path: '/', routeName: `r${c}`, clusterName: `outbound|9080||svc${c}.default.svc.cluster.local`, flags: [], attempts: 1, status, grpcStatus: undefined, endpoint: ep, responseBytes: 10, durationMs: (c + 1) * 1.3 };
      calls.onEnd(undefined, call);
    }
  };
  traffic();
  return { metrics, traffic };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const range = (xs: number[], d = 2) => `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;

async function measure(name: string, endpoints: number, clusters: number, codes: number[]): Promise<string> {
  const { metrics, traffic } = registry(endpoints, clusters, codes);
  // Control-side CPU: read one scrape's text into counter deltas.
  const counters = new TargetCounters(20_000);
  const parseMs: number[] = [];
  const heap0 = process.memoryUsage().heapUsed;
  const renderMs: number[] = [];
  let bytes = 0;
  for (let r = 0; r < ROUNDS + 3; r++) {
    traffic();
    const t0 = performance.now();
    const text = metrics.render();
    const t1 = performance.now();
    const into = new Map<string, EdgeTraffic>();
    counters.begin();
    scanSamples(text, FAMILIES, 20_000, (n, l, v) => counters.sample(n, l, v, into));
    counters.end();
    const t2 = performance.now();
    bytes = Buffer.byteLength(text);
    if (r >= 3) { renderMs.push(t1 - t0); parseMs.push(t2 - t1); }
  }
  // Round trip against a real endpoint, one target, through the scraper itself.
  const server = await MetricsServer.start(() => metrics.render(), '127.0.0.1', 0);
  const client = { id: 'bench', peer: '', connectedAt: '', types: {}, metrics: { address: '127.0.0.1', port: server.port, namespace: 'default', service: 'productpage', labels: { app: 'productpage', version: 'v1' } } };
  // The timeout raised so a loaded machine still measures (the default 2 s is a production bound).
  const scraper = new GraphScraper(() => [client], { intervalMs: 3_600_000, timeoutMs: 30_000 });
  const roundMs: number[] = [];
  for (let r = 0; r < ROUNDS + 3; r++) {
    traffic();
    await scraper.scrapeOnce();
    const t = scraper.graph().scrape.targets[0]!;
    if (!t.ok) throw new Error(`scrape failed: ${t.error}`);
    if (r >= 3) roundMs.push(t.durationMs);
  }
  scraper.close();
  await server.close();
  return `| ${name} | ${counters.series} | ${(bytes / 1024).toFixed(0)} KiB | ${range(renderMs)} | ${range(parseMs)} | ${range(roundMs)} |`;
}

console.log(`${ROUNDS} rounds each (after 3 warm-up), src via tsx, node ${process.version}; ms: median [min–max]`);
console.log('| target | series read | text | mesh: render | control: read + deltas | round trip (GET, render, read) |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(await measure('bookinfo-like (3 clusters × 1 endpoint × 3 codes)', 1, 3, [200, 404, 503]));
console.log(await measure('100 endpoints (own workloads) × 10 clusters × 1 code', 100, 10, [200]));
