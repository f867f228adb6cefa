// Istio's Telemetry resource through a real control server: tracing.randomSamplingPercentage
// decides for requests that carry no decision (and a caller's sampled flag still wins), and
// accessLogging switches the access log on, filters it with its CEL expression and disables it,
// for HTTP and gRPC servers alike; outbound lines carry the x-request-id the server saw.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { failure, SVC, SvcClient, unary, waitFor, type Reply } from '../grpc/fixture.js';
import type { Mesh } from '../../../src/mesh/types.js';
import type { AccessLogEntry } from '../../../src/telemetry/access-log.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import type { ListenerTelemetryModel } from '../../../src/core/model/listener.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let fixture: MeshFixture;
let reviews: Mesh;
let ratings: Mesh;
let caller: Mesh;
let reviewsPort = 0;
let ratingsClient: SvcClient;
const cleanup: Array<() => Promise<void>> = [];
const lines: Record<'reviews' | 'ratings' | 'caller', AccessLogEntry[]> = { reviews: [], ratings: [], caller: [] };

const RATINGS = `apiVersion: networking.istio.io/v1
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

function telemetryYaml(sampling: number, logging: string): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
  - randomSamplingPercentage: ${sampling}
  accessLogging:
${logging}
`;
}

/** The Telemetry a mesh holds in its inbound listener for a service port. */
function inboundTelemetry(mesh: Mesh, port: number): ListenerTelemetryModel | undefined {
  return mesh.xds.all(TYPE_URL.listener).get(`xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`)?.telemetry;
}

before(async () => {
  trace.setGlobalTracerProvider(provider);
  fixture = await MeshFixture.start(RATINGS);
  const sink = (name: keyof typeof lines) => ({ sink: (e: AccessLogEntry) => void lines[name].push(e) });
  reviews = await fixture.mesh({ service: 'reviews', labels: { app: 'reviews' }, telemetry: { accessLog: sink('reviews') } });
  const served = await reviews.listen((req, res) => { res.statusCode = req.url === '/missing' ? 404 : 200; res.end('reviews'); }, { port: 0, servicePort: 9080 });
  reviewsPort = served.port;
  ratings = await fixture.mesh({ service: 'ratings', labels: { app: 'ratings' }, telemetry: { accessLog: sink('ratings') } });
  const g = ratings.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
  g.server.addService(SVC, {
    Unary: (call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) =>
      call.metadata.get('x-fail').length > 0 ? cb({ code: grpc.status.NOT_FOUND, details: 'no such rating' }) : cb(null, { from: 'ratings' }),
  });
  await g.bind('127.0.0.1:0');
  cleanup.push(() => g.close());
  caller = await fixture.mesh({ service: 'productpage', labels: { app: 'productpage' }, telemetry: { accessLog: sink('caller') } });
  ratingsClient = caller.grpc.client(SvcClient, 'ratings:9090');
  cleanup.push(async () => ratingsClient.close());
  await waitFor(async () => (await caller.fetch('http://reviews:9080/').then((r) => r.text()).catch(() => '')) === 'reviews', 8000, 'reviews routed');
  await waitFor(async () => (await unary(ratingsClient).catch(() => undefined))?.from === 'ratings', 8000, 'ratings routed');
});

after(async () => {
  for (const c of cleanup) await c();
  await fixture?.close();
  trace.disable();
});

async function plainGet(path: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`http://127.0.0.1:${reviewsPort}${path}`, { headers });
  await res.body.text();
  return res.statusCode;
}

test('randomSamplingPercentage from the Telemetry resource decides; an incoming sampled flag wins', async () => {
  await fixture.apply(telemetryYaml(0, '  - providers: [{ name: envoy }]'));
  await waitFor(() => inboundTelemetry(reviews, 9080)?.samplingPercent === 0, 5000, 'reviews to hold 0% sampling');
  exporter.reset();
  for (let i = 0; i < 20; i++) assert.equal(await plainGet('/'), 200);
  assert.equal(exporter.getFinishedSpans().filter((s) => s.kind === 1).length, 0, '0%: no server span');
  await plainGet('/', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
  await waitFor(() => exporter.getFinishedSpans().some((s) => s.spanContext().traceId === '4bf92f3577b34da6a3ce929d0e0e4736'), 5000, 'the sampled caller’s trace');
  await fixture.apply(telemetryYaml(100, '  - providers: [{ name: envoy }]'));
  await waitFor(() => inboundTelemetry(reviews, 9080)?.samplingPercent === 100, 5000, 'reviews to hold 100% sampling');
  exporter.reset();
  for (let i = 0; i < 3; i++) await plainGet('/');
  await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === 1).length === 3, 5000, 'three server spans at 100%');
  // ... and a caller's "not sampled" still wins at 100%.
  exporter.reset();
  await plainGet('/', { traceparent: '00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' });
  await plainGet('/');
  await waitFor(() => exporter.getFinishedSpans().length === 1, 5000, 'the undecided request traced');
  assert.notEqual(exporter.getFinishedSpans()[0]!.spanContext().traceId, '5bf92f3577b34da6a3ce929d0e0e4736');
});

test('accessLogging: filter.expression applies to HTTP and gRPC servers; the outbound line shares the x-request-id', async () => {
  await fixture.apply(telemetryYaml(100, `  - providers: [{ name: envoy }]
    filter: { expression: 'response.code >= 400 || response.grpc_status > 0' }`));
  await waitFor(() => inboundTelemetry(reviews, 9080)?.accessLogs[0]?.filter !== undefined && inboundTelemetry(ratings, 9090)?.accessLogs[0]?.filter !== undefined, 5000, 'the filter to arrive');
  lines.reviews.length = lines.ratings.length = lines.caller.length = 0;
  assert.equal((await caller.fetch('http://reviews:9080/ok')).status, 200);
  const missing = await caller.fetch('http://reviews:9080/missing');
  assert.equal(missing.status, 404);
  await missing.text();
  await unary(ratingsClient);
  assert.equal((await failure(unary(ratingsClient, { 'x-fail': '1' }))).code, grpc.status.NOT_FOUND);
  await waitFor(() => lines.reviews.length >= 1 && lines.ratings.length >= 1, 5000, 'access log lines');
  assert.deepEqual(lines.reviews.map((l) => [l.direction, l.method, l.path, l.response_code]), [['inbound', 'GET', '/missing', 404]], 'only the 404 is logged');
  const r = lines.reviews[0]!;
  assert.equal(r.protocol, 'HTTP/1.1');
  assert.equal(r.upstream_cluster, 'inbound|9080||');
  assert.equal(r.response_flags, '-');
  assert.match(r.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(String(r.trace_id), /^[0-9a-f]{32}$/);
  assert.deepEqual(lines.ratings.map((l) => [l.direction, l.path, l.protocol, l.response_code, l.grpc_status]), [['inbound', '/meshlet.test.Svc/Unary', 'HTTP/2', 200, 5]]);
  // The caller serves nothing, yet the mesh-wide Telemetry (mode CLIENT_AND_SERVER) covers its
  // calls too: its outbound listeners carry the client side, filter included.
  const out = lines.caller.find((l) => l.path === '/missing')!;
  assert.equal(out.direction, 'outbound');
  assert.equal(out.upstream_cluster, 'outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(out.request_id, r.request_id, 'one x-request-id on both sides');
  assert.equal(out.trace_id, r.trace_id, 'one trace on both sides');
  assert.deepEqual(lines.caller.map((l) => [l.direction, l.path, l.response_code, l.grpc_status]), [
    ['outbound', '/missing', 404, null],
    ['outbound', '/meshlet.test.Svc/Unary', 200, 5],
  ], 'the caller logs by the same filter: the 404 and the failed gRPC call');
});

test('accessLogging disabled: true switches a workload’s log off', async () => {
  await fixture.apply(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: reviews-quiet, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  accessLogging:
  - disabled: true
`);
  await waitFor(() => inboundTelemetry(reviews, 9080)?.accessLogs.length === 0, 5000, 'reviews’ logging off');
  assert.equal(inboundTelemetry(ratings, 9090)?.accessLogs.length, 1, 'ratings keeps the mesh-wide one');
  lines.reviews.length = 0;
  assert.equal(await plainGet('/missing'), 404);
  lines.ratings.length = 0;
  await failure(unary(ratingsClient, { 'x-fail': '1' }));
  await waitFor(() => lines.ratings.length === 1, 5000, 'ratings still logs');
  assert.equal(lines.reviews.length, 0);
});
