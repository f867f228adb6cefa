// The service graph's arithmetic: counter increases between scrapes (resets, new series, first
// scrape), PromQL's histogram_quantile over bucket increases, Kiali's reporter choice, the text
// reader, and the window's rates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { counterIncrease, edgeOf, histogramQuantile, isError } from '../../../src/control/graph/compute.js';
import { buildGraph } from '../../../src/control/graph/graph.js';
import { parseLabelText, scanSamples } from '../../../src/control/graph/prom-text.js';
import { DURATION_BUCKET, REQUESTS, TargetCounters, TrafficWindow, type EdgeTraffic } from '../../../src/control/graph/window.js';

const FAMILIES = new Set([REQUESTS, DURATION_BUCKET]);

/** Labels of one source-reported edge, as the mesh writes them. */
function edgeLabels(src: string, srcVer: string, dst: string, dstVer: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    reporter: 'source', source_workload: `${src}-${srcVer}`, source_canonical_service: src, source_canonical_revision: srcVer, source_workload_namespace: 'default',
    destination_workload: dstVer ? `${dst}-${dstVer}` : 'unknown', destination_workload_namespace: dstVer ? 'default' : 'unknown',
    destination_canonical_service: dstVer ? dst : 'unknown', destination_canonical_revision: dstVer || 'latest',
    destination_service: `${dst}.default.svc.cluster.local`, destination_service_name: dst, destination_service_namespace: 'default',
    request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-', ...extra,
  };
}
const render = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',');

/** A scrape body: request counters and (cumulative) duration buckets per edge. */
function text(series: Array<{ labels: Record<string, string>; count: number; buckets?: Array<[string, number]> }>): string {
  const out = ['# HELP istio_requests_total Total requests.', '# TYPE istio_requests_total counter'];
  for (const s of series) out.push(`${REQUESTS}{${render(s.labels)}} ${s.count}`);
  out.push('# TYPE istio_request_duration_milliseconds histogram');
  for (const s of series) for (const [le, n] of s.buckets ?? []) out.push(`${DURATION_BUCKET}{${render(s.labels)},le="${le}"} ${n}`);
  out.push('istio_response_bytes_sum{reporter="source"} 123');
  return out.join('\n') + '\n';
}

function scrape(counters: TargetCounters, body: string): Map<string, EdgeTraffic> {
  const into = new Map<string, EdgeTraffic>();
  counters.begin();
  scanSamples(body, FAMILIES, 10_000, (n, l, v) => counters.sample(n, l, v, into));
  counters.end();
  return into;
}

describe('counter increases between scrapes', () => {
  test('growth, reset, new series, first scrape', () => {
    assert.equal(counterIncrease(10, 15, true), 5);
    assert.equal(counterIncrease(10, 10, true), 0);
    assert.equal(counterIncrease(10, 3, true), 3, 'a drop is a restart: the counter began again at 0');
    assert.equal(counterIncrease(undefined, 4, true), 4, 'a series new since the last scrape started at 0');
    assert.equal(counterIncrease(undefined, 4, false), 0, 'the first scrape of a target is the baseline');
    assert.equal(counterIncrease(1, Number.NaN, true), 0);
  });

  test('a target across scrapes: baseline, growth, a new error series, a restart', () => {
    const c = new TargetCounters(1000);
    const ok = edgeLabels('productpage', 'v1', 'reviews', 'v2');
    const bad = edgeLabels('productpage', 'v1', 'reviews', 'v2', { response_code: '503', response_flags: 'UF' });
    assert.equal(scrape(c, text([{ labels: ok, count: 10 }])).size, 0, 'baseline: nothing counted');
    let e = [...scrape(c, text([{ labels: ok, count: 16 }, { labels: bad, count: 2 }])).values()];
    assert.equal(e.length, 1, 'one edge: codes are not edges');
    assert.equal(e[0]!.requests, 8);
    assert.equal(e[0]!.errors, 2);
    assert.deepEqual(Object.fromEntries(e[0]!.codes), { 200: 6, 503: 2 });
    e = [...scrape(c, text([{ labels: ok, count: 3 }, { labels: bad, count: 2 }])).values()];
    assert.equal(e[0]!.requests, 3, 'the 200 counter restarted at 0 and reached 3; 503 did not move');
    assert.equal(e[0]!.errors, 0);
  });

  test('a target may make the server remember at most maxSeries series', () => {
    const c = new TargetCounters(2);
    const series = ['200', '201', '202', '203'].map((code) => ({ labels: edgeLabels('a', 'v1', 'b', 'v1', { response_code: code }), count: 1 }));
    scrape(c, text(series));
    assert.equal(c.series, 2);
  });
});

describe('histogram quantiles (PromQL histogram_quantile)', () => {
  const b = (pairs: Array<[number, number]>) => pairs.map(([le, count]) => ({ le, count }));
  test('linear interpolation within the bucket holding the rank', () => {
    assert.equal(histogramQuantile(0.5, b([[10, 0], [20, 4], [Infinity, 4]])), 15);
    // 100 observations: 50 ≤ 1 ms, 40 in (1, 5], 10 in (5, 10].
    const h = b([[1, 50], [5, 90], [10, 100], [Infinity, 100]]);
    assert.equal(histogramQuantile(0.5, h), 1);
    assert.equal(histogramQuantile(0.9, h), 5);
    assert.ok(Math.abs(histogramQuantile(0.99, h)! - 9.5) < 1e-9);
    assert.ok(Math.abs(histogramQuantile(0.25, h)! - 0.5) < 1e-9, 'the first bucket starts at 0');
  });
  test('a rank in the +Inf bucket answers the largest finite bound; no observations: undefined', () => {
    assert.equal(histogramQuantile(0.99, b([[1, 1], [5, 2], [Infinity, 10]])), 5);
    assert.equal(histogramQuantile(0.5, b([[1, 0], [Infinity, 0]])), undefined);
    assert.equal(histogramQuantile(0.5, b([[1, 3]])), undefined, 'no +Inf bucket');
  });
  test('bucket increases that dip (per-series resets) are kept monotonic', () => {
    assert.equal(histogramQuantile(0.5, b([[1, 4], [5, 3], [Infinity, 4]])), 0.5);
  });
});

describe('edges from Istio labels (Kiali reporter choice)', () => {
  test('source reports count; destination reports only for callers outside the mesh', () => {
    const e = edgeOf(edgeLabels('productpage', 'v1', 'reviews', 'v2'))!;
    assert.deepEqual(e, { source: { namespace: 'default', service: 'productpage', version: 'v1' }, dest: { namespace: 'default', service: 'reviews', version: 'v2' }, protocol: 'http', reporter: 'source' });
    assert.equal(edgeOf({ ...edgeLabels('productpage', 'v1', 'reviews', 'v2'), reporter: 'destination' }), undefined, 'the caller reported it already');
    const outside = edgeOf({ ...edgeLabels('productpage', 'v1', 'reviews', 'v2'), reporter: 'destination', source_workload: 'unknown' })!;
    assert.equal(outside.source.service, 'unknown');
    assert.equal(edgeOf({ ...edgeLabels('a', 'v1', 'b', 'v1'), reporter: 'other' }), undefined);
  });
  test('a request that reached no workload ends at the service node', () => {
    const e = edgeOf(edgeLabels('reviews', 'v2', 'ratings', '', { response_code: '500', response_flags: 'FI' }))!;
    assert.deepEqual(e.dest, { namespace: 'default', service: 'ratings', version: '' });
  });
  test('errors: 4xx, 5xx, no response; gRPC by grpc-status', () => {
    assert.equal(isError('http', '200', ''), false);
    assert.equal(isError('http', '404', ''), true);
    assert.equal(isError('http', '503', ''), true);
    assert.equal(isError('http', '0', ''), true);
    assert.equal(isError('grpc', '200', '0'), false);
    assert.equal(isError('grpc', '200', '14'), true);
  });
});

describe('the text reader', () => {
  test('only the asked families; escapes and braces inside values; timestamps; bad lines skipped', () => {
    const body = [
      '# HELP istio_requests_total x{y}', 'istio_requests_total{a="x}y",b="q\\"uote",c="back\\\\slash\\nnl"} 7 1700000000000',
      'istio_request_bytes_sum{a="1"} 9', 'istio_requests_total{a="unterminated} 3', 'istio_requests_total{a="z"} notanumber',
      'istio_requests_total 5', 'istio_requests_total{a="inf"} +Inf',
    ].join('\n');
    const got: Array<[string, number]> = [];
    scanSamples(body, new Set([REQUESTS]), 100, (_n, labels, v) => got.push([labels, v]));
    assert.deepEqual(got, [['a="x}y",b="q\\"uote",c="back\\\\slash\\nnl"', 7], ['', 5], ['a="inf"', Infinity]]);
    assert.deepEqual({ ...parseLabelText(got[0]![0]) }, { a: 'x}y', b: 'q"uote', c: 'back\\slash\nnl' });
    assert.equal(parseLabelText('a="x",b='), undefined);
    assert.equal(parseLabelText('a="1",b="2"', 1), undefined, 'over maxLabels');
  });
  test('stops after maxSamples', () => {
    const body = Array.from({ length: 50 }, (_, i) => `istio_requests_total{i="${i}"} 1`).join('\n');
    let n = 0;
    assert.equal(scanSamples(body, new Set([REQUESTS]), 10, () => n++), 10);
    assert.equal(n, 10);
  });
});

describe('window and graph', () => {
  const ok = edgeLabels('productpage', 'v1', 'reviews', 'v2');
  const buckets = (fast: number, slow: number): Array<[string, number]> => [['1', 0], ['5', fast], ['10', fast], ['25', fast + slow], ['+Inf', fast + slow]];
  test('rps over the rounds in the window, error rate, p50/p99 from bucket increases', () => {
    const c = new TargetCounters(1000);
    const w = new TrafficWindow(10_000, 10);
    scrape(c, text([{ labels: ok, count: 100, buckets: buckets(100, 0) }]));
    // 0 → 5 s: 40 requests, 38 fast (≤ 5 ms), 2 slow (10–25 ms); 4 of them 503.
    const bad = { ...ok, response_code: '503' };
    w.add(0, 5000, scrape(c, text([{ labels: ok, count: 136, buckets: buckets(138, 2) }, { labels: bad, count: 4 }])));
    // 5 → 10 s: 10 more, all fast.
    w.add(5000, 10_000, scrape(c, text([{ labels: ok, count: 146, buckets: buckets(148, 2) }, { labels: bad, count: 4 }])));
    const { edges, seconds } = w.sum(10_000);
    assert.equal(seconds, 10);
    const g = buildGraph(edges, seconds, []);
    assert.equal(g.edges.length, 1);
    const e = g.edges[0]!;
    assert.equal(e.source, 'default/productpage/v1');
    assert.equal(e.target, 'default/reviews/v2');
    assert.equal(e.requests, 50);
    assert.equal(e.rps, 5);
    assert.equal(e.errorRate, 0.08);
    assert.deepEqual(e.codes, { 200: 46, 503: 4 });
    // 50 observations: 48 in (1, 5], 2 in (10, 25]. p50: rank 25 → 1 + 4·25/48; p99: rank 49.5 → 10 + 15·1.5/2.
    assert.equal(e.p50Ms, Math.round((1 + (4 * 25) / 48) * 100) / 100);
    assert.equal(e.p99Ms, 21.25);
    assert.deepEqual(g.nodes.map((n) => n.id), ['default/productpage/v1', 'default/reviews/v2']);
    // Past the window the old round drops out.
    const later = w.sum(15_001);
    assert.equal(buildGraph(later.edges, later.seconds, []).edges[0]!.requests, 10);
    assert.equal(w.sum(30_000).edges.size, 0);
  });
  test('callers name themselves (metadata exchange): a server\'s report of a named caller is dropped, of an unnamed one counted in full', () => {
    const c = new TargetCounters(1000);
    const fromMesh = edgeLabels('productpage', 'v1', 'reviews', 'v2');
    // reviews' own (destination) reports: 20 from productpage, which named itself, and 10 from a
    // caller it cannot name (outside the mesh).
    const named = { ...fromMesh, reporter: 'destination' };
    const outside = { ...fromMesh, reporter: 'destination', source_workload: 'unknown', source_canonical_service: 'unknown', source_workload_namespace: 'unknown' };
    const w = new TrafficWindow(60_000, 10);
    scrape(c, text([{ labels: fromMesh, count: 0 }, { labels: named, count: 0 }, { labels: outside, count: 0 }]));
    w.add(0, 1000, scrape(c, text([{ labels: fromMesh, count: 20 }, { labels: named, count: 20 }, { labels: outside, count: 10 }])));
    const { edges, seconds } = w.sum(1000);
    const g = buildGraph(edges, seconds, []);
    assert.deepEqual(g.edges.map((e) => [e.source, e.target, e.requests]), [
      ['default/productpage/v1', 'default/reviews/v2', 20],
      ['default/unknown/', 'default/reviews/v2', 10],
    ], 'productpage\'s 20 once (its own report); the other 10 came from outside the mesh');
  });
  test('connected clients with metrics are nodes even while idle, with their identities', () => {
    const g = buildGraph(new Map(), 0, [{
      id: 'ratings-1', peer: 'p', connectedAt: '', types: {},
      metrics: { address: '127.0.0.1', port: 1, namespace: 'default', service: 'ratings', labels: { app: 'ratings', version: 'v1' } },
      identity: { spiffeId: 'spiffe://cluster.local/ns/default/sa/ratings', namespace: 'default', serviceAccount: 'ratings' },
    }]);
    assert.deepEqual(g.nodes, [{ id: 'default/ratings/v1', namespace: 'default', service: 'ratings', version: 'v1', workloads: ['ratings-1'], identities: ['spiffe://cluster.local/ns/default/sa/ratings'] }]);
  });
});
