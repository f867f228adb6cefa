// Real Prometheus (Debian's package; .ci/run installs it) finds every mesh through one
// http_sd_configs entry pointing at the control server's admin GET /prometheus/targets, scrapes
// /stats/prometheus, and answers Istio's PromQL over bookinfo traffic: loadgen → productpage →
// reviews (v2 for jason, else v3; Istio's virtual-service-reviews-jason-v2-v3.yaml) → ratings
// (jason's calls aborted with 500 by virtual-service-ratings-test-abort.yaml). Callers report
// reporter="source", servers reporter="destination", and both add up to the requests sent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createMesh } from '../../src/mesh/create.js';
import type { Mesh } from '../../src/mesh/types.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { Prometheus, type PromVector } from '../helpers/prometheus-server.js';

const BOOKINFO = new URL('../../../shared/istio-samples/bookinfo/', import.meta.url);
const FILES = ['destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml', 'virtual-service-ratings-test-abort.yaml'];

let server: ControlServer;
let prom: Prometheus;
const meshes: Mesh[] = [];
let loadgen: Mesh;

const SUBSETS = ['outbound|9080|v1|productpage', 'outbound|9080|v2|reviews', 'outbound|9080|v3|reviews', 'outbound|9080|v1|ratings'].map((c) => `${c}.default.svc.cluster.local`);

function endpoints(mesh: Mesh, cluster: string): number {
  const cla = mesh.xds.all(TYPE_URL.endpoint).get(cluster);
  return cla ? cla.localities.reduce((n, l) => n + l.endpoints.length, 0) : 0;
}

type Handler = (mesh: Mesh, req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Calls `url` through the mesh with the caller's end-user header (bookinfo's apps forward it). */
async function forward(mesh: Mesh, req: IncomingMessage, url: string): Promise<number> {
  const user = req.headers['end-user'];
  const res = await mesh.fetch(url, { headers: typeof user === 'string' ? { 'end-user': user } : {} });
  await res.arrayBuffer();
  return res.status;
}

const productpage: Handler = async (mesh, req, res) => {
  const status = await forward(mesh, req, 'http://reviews:9080/reviews/0');
  res.end(`productpage (reviews ${status})`);
};
const reviews: Handler = async (mesh, req, res) => {
  // Like bookinfo's reviews: a failed ratings call still answers 200 ("ratings unavailable").
  const status = await forward(mesh, req, 'http://ratings:9080/ratings/0');
  res.end(JSON.stringify({ id: 0, ratings: status === 200 ? 5 : 'unavailable' }));
};
const ratings: Handler = async (_mesh, _req, res) => {
  res.end('{"id":0,"ratings":{"Reviewer1":5}}');
};

async function serve(service: string, version: string, handler: Handler): Promise<void> {
  const mesh = await createMesh({
    controlPlane: `127.0.0.1:${server.xdsPort}`, service, labels: { app: service, version }, metricsPort: 0,
    initialFetchTimeoutMs: 2000, drainTimeoutMs: 1000, xdsBackoff: { initialMs: 50, maxMs: 200 },
  });
  meshes.push(mesh);
  await mesh.listen((req, res) => {
    handler(mesh, req, res).catch((err: Error) => { res.statusCode = 500; res.end(err.message); });
  }, { port: 0, servicePort: 9080 });
}

before(async () => {
  server = await createControlServer({ xdsPort: 0, adminPort: 0, debounceMs: 5, withdrawGraceMs: 100 });
  for (const f of FILES) {
    const { resources, diagnostics } = parseConfig(await readFile(new URL(f, BOOKINFO), 'utf8'), f);
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
    await server.store.apply(resources, f);
  }
  await serve('ratings', 'v1', ratings);
  await serve('reviews', 'v2', reviews);
  await serve('reviews', 'v3', reviews);
  await serve('productpage', 'v1', productpage);
  loadgen = await createMesh({ controlPlane: `127.0.0.1:${server.xdsPort}`, service: 'loadgen', labels: { app: 'loadgen', version: 'v1' }, metricsPort: 0, initialFetchTimeoutMs: 2000 });
  meshes.push(loadgen);
  // Every mesh has every endpoint before traffic starts.
  for (const m of meshes) {
    await waitFor(() => (SUBSETS.every((c) => endpoints(m, c) > 0) ? true : undefined), 'meshes to know bookinfo');
  }
  prom = await Prometheus.start(`http://127.0.0.1:${server.adminPort}/prometheus/targets`);
});

after(async () => {
  await prom?.stop();
  await Promise.all(meshes.map((m) => m.close()));
  await server?.close();
});

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function drive(n: number, user?: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await loadgen.fetch('http://productpage:9080/productpage', { headers: user ? { 'end-user': user } : {} });
    assert.equal(res.status, 200, await res.text());
  }
}

function byLabel(result: PromVector[], label: string): Record<string, number> {
  return Object.fromEntries(result.map((r) => [r.metric[label] ?? '', Number(r.value[1])]));
}

test('admin /prometheus/targets lists every mesh in http_sd format; Prometheus scrapes them all', async () => {
  const res = await request(`http://127.0.0.1:${server.adminPort}/prometheus/targets`);
  const groups = (await res.body.json()) as Array<{ targets: string[]; labels: Record<string, string> }>;
  assert.equal(groups.length, 5);
  const ports = new Set(meshes.map((m) => `127.0.0.1:${m.metricsPort}`));
  assert.deepEqual(new Set(groups.flatMap((g) => g.targets)), ports);
  const reviewsV2 = groups.find((g) => g.targets[0] === `127.0.0.1:${meshes[1]!.metricsPort}`)!;
  assert.equal(reviewsV2.labels['service'], 'reviews');
  assert.equal(reviewsV2.labels['version'], 'v2');
  assert.equal(reviewsV2.labels['namespace'], 'default');
  assert.equal(reviewsV2.labels['__metrics_path__'], '/stats/prometheus');
  const up = await prom.until('5 healthy targets', async () => {
    const t = await prom.targets();
    return t.length === 5 && t.every((x) => x.health === 'up') ? t : undefined;
  });
  assert.ok(up.every((t) => t.scrapeUrl.endsWith('/stats/prometheus')));
});

test('PromQL over bookinfo traffic: rates per service, counts by response_code equal to the requests sent, p99 latency', async (t) => {
  // Two batches with a scrape between them: rate() needs the counters to grow between samples.
  await drive(6);
  await drive(2, 'jason');
  await prom.until('the first batch scraped', async () => {
    const r = await prom.query('sum(istio_requests_total{reporter="source"})');
    return r.length === 1 && Number(r[0]!.value[1]) === 24 ? true : undefined;
  });
  await drive(14);
  await drive(3, 'jason');
  const plain = 20;
  const jason = 5;
  const total = plain + jason;
  // Every call is reported by its caller: loadgen→productpage, productpage→reviews, reviews→ratings;
  // jason's ratings calls are aborted at the caller (fault, flag FI, 500) and never reach ratings.
  const codes = await prom.until('all requests scraped', async () => {
    const by = byLabel(await prom.query('sum(istio_requests_total{reporter="source"}) by (response_code)'), 'response_code');
    return by['200'] === 2 * total + plain && by['500'] === jason ? by : undefined;
  });
  assert.deepEqual(codes, { 200: 2 * total + plain, 500: jason });
  // The servers report too: productpage and reviews every request, ratings the ones not aborted.
  const inbound = await prom.until('the servers\' reports scraped', async () => {
    const by = byLabel(await prom.query('sum(istio_requests_total{reporter="destination"}) by (destination_service_name)'), 'destination_service_name');
    return by['productpage'] === total && by['reviews'] === total && by['ratings'] === plain ? by : undefined;
  });
  assert.deepEqual(inbound, { productpage: total, reviews: total, ratings: plain });
  const inboundCodes = byLabel(await prom.query('sum(istio_requests_total{reporter="destination"}) by (response_code)'), 'response_code');
  assert.deepEqual(inboundCodes, { 200: 2 * total + plain });
  const policy = byLabel(await prom.query('sum(istio_requests_total{reporter="destination"}) by (connection_security_policy)'), 'connection_security_policy');
  assert.deepEqual(policy, { none: 2 * total + plain }, 'plaintext: connection_security_policy none');
  const flags = byLabel(await prom.query('sum(istio_requests_total{reporter="source",response_code="500"}) by (response_flags)'), 'response_flags');
  assert.deepEqual(flags, { FI: jason });
  const edges = await prom.query('sum(istio_requests_total{reporter="source"}) by (source_workload, destination_workload)');
  const edge = Object.fromEntries(edges.map((r) => [`${r.metric['source_workload']} → ${r.metric['destination_workload']}`, Number(r.value[1])]));
  assert.deepEqual(edge, {
    'loadgen-v1 → productpage-v1': total,
    'productpage-v1 → reviews-v3': plain,
    'productpage-v1 → reviews-v2': jason,
    'reviews-v3 → ratings-v1': plain,
    'reviews-v2 → unknown': jason, // aborted before an endpoint was picked
  });

  const rates = byLabel(await prom.query('sum(rate(istio_requests_total[1m])) by (destination_service)'), 'destination_service');
  for (const svc of ['productpage', 'reviews', 'ratings']) {
    const r = rates[`${svc}.default.svc.cluster.local`];
    assert.ok(r !== undefined && r > 0, `rate for ${svc}: ${JSON.stringify(rates)}`);
  }
  const p99 = await prom.query('histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket[1m])) by (le))');
  assert.equal(p99.length, 1);
  const q = Number(p99[0]!.value[1]);
  assert.ok(Number.isFinite(q) && q > 0, `p99 = ${p99[0]!.value[1]}`);
  t.diagnostic(`PromQL: source codes ${JSON.stringify(codes)}, destination by service ${JSON.stringify(inbound)}, rates ${JSON.stringify(rates)}, p99 ${q} ms`);
});
