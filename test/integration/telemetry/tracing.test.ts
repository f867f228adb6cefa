// Traces through a real OpenTelemetry SDK (BasicTracerProvider + InMemorySpanExporter), no
// context manager registered: meshlet's own async scope carries the inbound request into the
// handler. productpage (node:http) → reviews (Express-style node:http handler, mesh.fetch) →
// ratings (grpc-js server, mesh:/// client) is one trace with parent/child links, and no
// handler copies a header. The x-request-id of the first hop reaches the last one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import * as grpc from '@grpc/grpc-js';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { SVC, SvcClient, unary, waitFor, type Reply } from '../grpc/fixture.js';
import type { Mesh } from '../../../src/mesh/types.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let fixture: MeshFixture;
let caller: Mesh;
const seen: Record<string, string | undefined> = {};
const cleanup: Array<() => Promise<void>> = [];

const YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9090, name: grpc, protocol: GRPC }
  workloadSelector: { labels: { app: ratings } }
`;

before(async () => {
  trace.setGlobalTracerProvider(provider);
  fixture = await MeshFixture.start(YAML);
  // ratings: a grpc-js server; its handler only answers.
  const ratings = await fixture.mesh({ service: 'ratings', labels: { app: 'ratings', version: 'v1' } });
  const g = ratings.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
  g.server.addService(SVC, {
    Unary: (call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      seen['ratings'] = call.metadata.get('x-request-id')[0] as string | undefined;
      cb(null, { from: 'ratings' });
    },
  });
  await g.bind('127.0.0.1:0');
  cleanup.push(() => g.close());
  // reviews: a node:http handler calling ratings over gRPC (mesh:///), no metadata passed.
  const reviews = await fixture.mesh({ service: 'reviews', labels: { app: 'reviews', version: 'v1' } });
  const ratingsClient = reviews.grpc.client(SvcClient, 'ratings:9090');
  cleanup.push(async () => ratingsClient.close());
  await reviews.listen((req, res) => {
    seen['reviews'] = req.headers['x-request-id'] as string | undefined;
    unary(ratingsClient).then((r) => res.end(`reviews+${r.from}`), (err: Error) => { res.statusCode = 500; res.end(err.message); });
  }, { port: 0, servicePort: 9080 });
  // productpage: a node:http handler calling reviews with mesh.fetch, no headers passed.
  const productpage = await fixture.mesh({ service: 'productpage', labels: { app: 'productpage', version: 'v1' } });
  await productpage.listen(async (req, res) => {
    seen['productpage'] = req.headers['x-request-id'] as string | undefined;
    const r = await productpage.fetch('http://reviews:9080/reviews/1');
    res.end(`productpage+${await r.text()}`);
  }, { port: 0, servicePort: 9080 });
  caller = await fixture.mesh({ service: 'caller' });
  await waitFor(async () => (await caller.fetch('http://productpage:9080/').then((r) => r.text()).catch(() => '')) === 'productpage+reviews+ratings', 8000, 'the chain answers');
  await waitFor(async () => (await unary(ratingsClient).catch(() => undefined))?.from === 'ratings', 5000, 'ratings routed');
});

after(async () => {
  for (const c of cleanup) await c();
  await fixture?.close();
  trace.disable();
});

function spansOf(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}

function parentOf(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}

test('productpage → reviews → ratings (HTTP, then gRPC) is one trace; no handler forwards a header', async () => {
  exporter.reset();
  const res = await caller.fetch('http://productpage:9080/');
  assert.equal(await res.text(), 'productpage+reviews+ratings');
  await waitFor(() => exporter.getFinishedSpans().length >= 6, 5000, 'six spans');
  const root = exporter.getFinishedSpans().find((s) => s.name === 'productpage.default.svc.cluster.local:9080/*' && s.kind === 0 + 2 && parentOf(s) === undefined)
    ?? exporter.getFinishedSpans().find((s) => parentOf(s) === undefined)!;
  const spans = spansOf(root.spanContext().traceId);
  const byName = (name: string, kind: number): ReadableSpan => {
    const s = spans.find((x) => x.name === name && x.kind === kind);
    assert.ok(s, `span ${name} kind ${kind} in ${spans.map((x) => `${x.name}/${x.kind}`).join(', ')}`);
    return s;
  };
  const SERVER = 1, CLIENT = 2;
  const c1 = byName('productpage.default.svc.cluster.local:9080/*', CLIENT);
  const s1 = byName('productpage.default.svc.cluster.local:9080/*', SERVER);
  const c2 = byName('reviews.default.svc.cluster.local:9080/*', CLIENT);
  const s2 = byName('reviews.default.svc.cluster.local:9080/*', SERVER);
  const c3 = byName('ratings.default.svc.cluster.local:9090/*', CLIENT);
  const s3 = byName('ratings.default.svc.cluster.local:9090/*', SERVER);
  assert.equal(parentOf(c1), undefined, 'the caller started the trace');
  assert.equal(parentOf(s1), c1.spanContext().spanId);
  assert.equal(parentOf(c2), s1.spanContext().spanId, 'productpage’s fetch continues its inbound request');
  assert.equal(parentOf(s2), c2.spanContext().spanId);
  assert.equal(parentOf(c3), s2.spanContext().spanId, 'reviews’ gRPC call continues its inbound request');
  assert.equal(parentOf(s3), c3.spanContext().spanId);
  // Envoy's tags.
  assert.equal(s1.attributes['component'], 'proxy');
  assert.equal(s1.attributes['http.method'], 'GET');
  assert.equal(s1.attributes['http.status_code'], 200);
  assert.equal(c2.attributes['upstream_cluster'], 'outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(c3.attributes['grpc.status_code'], 0);
  assert.equal(s3.attributes['http.protocol'], 'HTTP/2');
  assert.equal(s1.attributes['response_flags'], '-');
  // One x-request-id from the first hop to the last, as Envoy propagates it.
  const id = s1.attributes['guid:x-request-id'];
  assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(seen['productpage'], id);
  assert.equal(seen['reviews'], id);
  assert.equal(seen['ratings'], id);
  assert.equal(s3.attributes['guid:x-request-id'], id);
});

test('an incoming B3 multi-header context (Envoy/Istio default) is continued; its sampled=0 is respected', async () => {
  exporter.reset();
  const traceId = '463ac35c9f6413ad48485a3953bb6124';
  const res = await caller.dispatcher.request({ origin: 'http://productpage:9080', path: '/', method: 'GET', headers: { 'x-b3-traceid': traceId, 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' } });
  assert.equal(await res.body.text(), 'productpage+reviews+ratings');
  await waitFor(() => spansOf(traceId).length >= 6, 5000, 'six spans in the B3 trace');
  const client = spansOf(traceId).find((s) => s.kind === 2 && s.name.startsWith('productpage'))!;
  assert.equal(client.parentSpanContext?.spanId, 'a2fb4a1d1a96d312');
  exporter.reset();
  const off = await caller.dispatcher.request({ origin: 'http://productpage:9080', path: '/', method: 'GET', headers: { b3: `${traceId}-a2fb4a1d1a96d312-0` } });
  assert.equal(await off.body.text(), 'productpage+reviews+ratings');
  assert.equal(exporter.getFinishedSpans().length, 0, 'nothing recorded along the chain');
});
