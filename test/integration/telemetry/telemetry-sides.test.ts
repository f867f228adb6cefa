// Istio's Telemetry resource per side of a workload, through a real control server: CLIENT-mode
// settings reach a workload that serves nothing (through the outbound listeners it is sent),
// SERVER-mode ones its inbound listener only. tracing: a client whose span reporting is
// disabled still decides and propagates (the server, sampling 0% itself, follows the caller's
// sampled flag), customTags (literal, environment, header with default) land on the spans;
// accessLogging by mode; metrics overrides (disabled, tagOverrides REMOVE) in /stats/prometheus.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { waitFor } from '../grpc/fixture.js';
import type { Mesh } from '../../../src/mesh/types.js';
import type { AccessLogEntry } from '../../../src/telemetry/access-log.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import type { ListenerTelemetryModel } from '../../../src/core/model/listener.js';

process.env['MESHLET_TEST_REGION'] = 'eu-west';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let fixture: MeshFixture;
let reviews: Mesh;
let caller: Mesh;
const lines: Record<'reviews' | 'caller', AccessLogEntry[]> = { reviews: [], caller: [] };

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
  - randomSamplingPercentage: 0
    customTags:
      team: { literal: { value: bookinfo } }
      region: { environment: { name: MESHLET_TEST_REGION, defaultValue: nowhere } }
      user: { header: { name: x-user, defaultValue: anonymous } }
  accessLogging:
  - match: { mode: SERVER }
    providers: [{ name: envoy }]
  metrics:
  - providers: [{ name: prometheus }]
    overrides:
    - match: { metric: ALL_METRICS }
      tagOverrides:
        request_protocol: { operation: REMOVE }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: productpage, namespace: default }
spec:
  selector: { matchLabels: { app: productpage } }
  tracing:
  - match: { mode: CLIENT }
    randomSamplingPercentage: 100
    disableSpanReporting: true
  metrics:
  - overrides:
    - match: { metric: REQUEST_COUNT, mode: CLIENT }
      disabled: true
`;

/** The telemetry a mesh holds in a listener. */
function listenerTelemetry(mesh: Mesh, name: string): ListenerTelemetryModel | undefined {
  return mesh.xds.all(TYPE_URL.listener).get(name)?.telemetry;
}

async function scrape(mesh: Mesh): Promise<string> {
  const res = await request(`http://127.0.0.1:${mesh.metricsPort}/stats/prometheus`);
  return res.body.text();
}

before(async () => {
  trace.setGlobalTracerProvider(provider);
  fixture = await MeshFixture.start('');
  const sink = (name: keyof typeof lines) => ({ sink: (e: AccessLogEntry) => void lines[name].push(e) });
  reviews = await fixture.mesh({ service: 'reviews', labels: { app: 'reviews' }, metricsPort: 0, telemetry: { accessLog: sink('reviews') } });
  await reviews.listen((_req, res) => res.end('reviews'), { port: 0, servicePort: 9080 });
  caller = await fixture.mesh({ service: 'productpage', labels: { app: 'productpage' }, metricsPort: 0, telemetry: { accessLog: sink('caller') } });
  await waitFor(async () => (await caller.fetch('http://reviews:9080/').then((r) => r.text()).catch(() => '')) === 'reviews', 8000, 'reviews routed');
  await fixture.apply(TELEMETRY);
  await waitFor(() => listenerTelemetry(caller, 'reviews.default.svc.cluster.local:9080')?.disableSpanReporting === true, 5000, 'the caller’s client side');
  await waitFor(() => listenerTelemetry(reviews, 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080')?.samplingPercent === 0, 5000, 'reviews’ server side');
});

after(async () => {
  await fixture?.close();
  trace.disable();
});

test('CLIENT mode reaches a workload that serves nothing; SERVER mode stays on the inbound listener', () => {
  const out = listenerTelemetry(caller, 'reviews.default.svc.cluster.local:9080')!;
  assert.equal(out.side, 'client');
  assert.equal(out.samplingPercent, 100, 'the workload’s CLIENT entry over the mesh-wide 0%');
  assert.deepEqual(out.accessLogs, [], 'the SERVER-only logging is not the client’s');
  const inbound = listenerTelemetry(reviews, 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080')!;
  assert.equal(inbound.side, 'server');
  assert.equal(inbound.disableSpanReporting, undefined);
  assert.equal(inbound.accessLogs.length, 1);
  // reviews' own calls follow the mesh-wide entry (it has no Telemetry of its own).
  assert.equal(listenerTelemetry(reviews, 'reviews.default.svc.cluster.local:9080')?.samplingPercent, 0);
});

test('disableSpanReporting: no client span, but the sampled decision goes downstream; custom tags on the server span', async () => {
  exporter.reset();
  lines.reviews.length = lines.caller.length = 0;
  const res = await caller.fetch('http://reviews:9080/tagged', { headers: { 'x-user': 'alice' } });
  assert.equal(await res.text(), 'reviews');
  await caller.fetch('http://reviews:9080/untagged').then((r) => r.text());
  await waitFor(() => exporter.getFinishedSpans().length >= 2, 5000, 'two server spans');
  const spans = exporter.getFinishedSpans();
  assert.deepEqual(spans.map((s) => s.kind), [1, 1], 'server spans only (SpanKind.SERVER): the caller reports none');
  for (const s of spans) {
    // reviews samples 0% by itself: it traced because the caller's traceparent said sampled.
    assert.match(String(s.parentSpanContext?.spanId), /^[0-9a-f]{16}$/);
    assert.equal(s.attributes['team'], 'bookinfo');
    assert.equal(s.attributes['region'], 'eu-west');
  }
  assert.deepEqual(spans.map((s) => s.attributes['user']), ['alice', 'anonymous'], 'a header tag, else its default');
  // accessLogging mode SERVER: reviews logs its inbound requests, the caller logs no calls.
  await waitFor(() => lines.reviews.length === 2, 5000, 'reviews’ inbound lines');
  assert.deepEqual(lines.reviews.map((l) => l.path), ['/tagged', '/untagged']);
  assert.equal(lines.caller.length, 0);
  assert.equal(lines.reviews[0]!.trace_id, spans[0]!.spanContext().traceId);
});

test('metrics overrides: REQUEST_COUNT off for the caller’s reporter only, request_protocol removed everywhere', async () => {
  await caller.fetch('http://reviews:9080/m').then((r) => r.text());
  await waitFor(async () => (await scrape(reviews)).includes('istio_requests_total{'), 5000, 'reviews’ metrics');
  const client = await scrape(caller);
  assert.doesNotMatch(client, /^istio_requests_total\{/m, 'no request count as reporter="source"');
  assert.match(client, /^istio_request_duration_milliseconds_bucket\{reporter="source"/m, 'other metrics still reported');
  const server = await scrape(reviews);
  assert.match(server, /^istio_requests_total\{reporter="destination"/m, 'the server reporter keeps its count');
  for (const text of [client, server]) assert.doesNotMatch(text, /request_protocol=/, 'the tag is removed');
});
