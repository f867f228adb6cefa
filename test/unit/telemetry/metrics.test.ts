// Istio standard metrics: names, types, label names in istio/proxy's order, Envoy's default
// buckets, both reporters, Prometheus text format (escaping, HELP/TYPE, cumulative buckets,
// +Inf, _sum/_count), Telemetry overrides and the series bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallMetrics, flagsLabel } from '../../../src/telemetry/call-metrics.js';
import type { ObservedCall } from '../../../src/core/observer.js';
import type { UpstreamEndpoint } from '../../../src/core/types.js';
import type { InboundRequestView } from '../../../src/core/inbound.js';
import type { InboundCall } from '../../../src/security/inbound-policy.js';
import { HTTP_LABELS, serviceFromCluster, TCP_LABELS, workloadLabels } from '../../../src/telemetry/metrics-labels.js';
import { compileMetricsPolicy } from '../../../src/telemetry/metrics-policy.js';
import { ISTIO_DEFAULT_BUCKETS, IstioMetrics } from '../../../src/telemetry/metrics.js';
import { escapeLabelValue, isValidName, renderLabels } from '../../../src/telemetry/prometheus.js';
import { parsePrometheus, type Sample } from '../../helpers/prometheus-text.js';

const productpage = workloadLabels({ service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
const reviewsV2 = workloadLabels({ service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2' } });
const reviews = serviceFromCluster('outbound|9080|v2|reviews.default.svc.cluster.local', 'reviews:9080');

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

test('label values derive from workload labels as Istio does', () => {
  assert.deepEqual(reviewsV2, { workload: 'reviews-v2', namespace: 'default', principal: 'unknown', app: 'reviews', version: 'v2', canonicalService: 'reviews', canonicalRevision: 'v2', cluster: 'Kubernetes' });
  const canonical = workloadLabels({ service: 'x', labels: { 'service.istio.io/canonical-name': 'cx', 'service.istio.io/canonical-revision': 'r7', 'app.kubernetes.io/name': 'kx' } });
  assert.equal(canonical.canonicalService, 'cx');
  assert.equal(canonical.canonicalRevision, 'r7');
  assert.equal(canonical.app, 'kx');
  assert.equal(workloadLabels({ service: 'y' }).canonicalRevision, 'latest');
  assert.deepEqual(reviews, { host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' });
  assert.deepEqual(serviceFromCluster('PassthroughCluster', 'example.com:443'), { host: 'example.com', name: 'example.com', namespace: 'unknown' });
  assert.equal(flagsLabel([]), '-');
  assert.equal(flagsLabel(['UH', 'URX']), 'UH,URX');
});

test('a request is counted in every HTTP family with all standard labels, buckets cumulative up to +Inf', () => {
  const m = new IstioMetrics();
  const edge = m.edge('source', productpage, reviewsV2, reviews, 'http', 'unknown');
  edge.series(200, -1, '-').record(3, 10, 295);
  edge.series(200, -1, '-').record(700, 0, 295);
  edge.series(503, -1, 'UH').record(0.2, 0, 19);
  const text = m.render();
  const { samples, types, helps } = parsePrometheus(text);
  assert.equal(types.get('istio_requests_total'), 'counter');
  assert.equal(types.get('istio_request_duration_milliseconds'), 'histogram');
  assert.equal(types.get('istio_request_bytes'), 'histogram');
  assert.equal(types.get('istio_response_bytes'), 'histogram');
  assert.ok(helps.get('istio_requests_total'));
  assert.equal(types.has('istio_request_messages_total'), false, 'no gRPC message counters for plain HTTP');
  const ok = find(samples, 'istio_requests_total', { response_code: '200' });
  assert.equal(ok.length, 1);
  assert.equal(ok[0]!.value, 2);
  assert.deepEqual(Object.keys(ok[0]!.labels), [...HTTP_LABELS]);
  assert.deepEqual(ok[0]!.labels, {
    reporter: 'source', source_workload: 'productpage-v1', source_canonical_service: 'productpage', source_canonical_revision: 'v1',
    source_workload_namespace: 'default', source_principal: 'unknown', source_app: 'productpage', source_version: 'v1', source_cluster: 'Kubernetes',
    destination_workload: 'reviews-v2', destination_workload_namespace: 'default', destination_principal: 'unknown', destination_app: 'reviews',
    destination_version: 'v2', destination_service: 'reviews.default.svc.cluster.local', destination_canonical_service: 'reviews',
    destination_canonical_revision: 'v2', destination_service_name: 'reviews', destination_service_namespace: 'default', destination_cluster: 'Kubernetes',
    request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-', connection_security_policy: 'unknown',
  });
  assert.equal(find(samples, 'istio_requests_total', { response_code: '503', response_flags: 'UH' })[0]!.value, 1);
  const buckets = find(samples, 'istio_request_duration_milliseconds_bucket', { response_code: '200' });
  assert.deepEqual(buckets.map((b) => b.labels['le']), [...ISTIO_DEFAULT_BUCKETS.map(String), '+Inf']);
  const at = (le: string) => buckets.find((b) => b.labels['le'] === le)!.value;
  assert.equal(at('1'), 0);
  assert.equal(at('5'), 1, '3 ms lands in le=5');
  assert.equal(at('500'), 1);
  assert.equal(at('1000'), 2, '700 ms lands in le=1000, buckets are cumulative');
  assert.equal(at('+Inf'), 2);
  assert.equal(find(samples, 'istio_request_duration_milliseconds_sum', { response_code: '200' })[0]!.value, 703);
  assert.equal(find(samples, 'istio_request_duration_milliseconds_count', { response_code: '200' })[0]!.value, 2);
  assert.equal(find(samples, 'istio_request_bytes_sum', { response_code: '200' })[0]!.value, 10);
  assert.equal(find(samples, 'istio_response_bytes_count', { response_code: '503' })[0]!.value, 1);
  // Exactly one HELP and TYPE per family, before its samples.
  assert.equal(text.split('\n').filter((l) => l === '# TYPE istio_requests_total counter').length, 1);
  assert.ok(text.endsWith('\n'));
});

test('both reporters; gRPC series get message counters and grpc_response_status; TCP families have their own labels', () => {
  const m = new IstioMetrics();
  m.edge('source', productpage, reviewsV2, reviews, 'grpc', 'unknown').series(200, 0, '-').messages(1, 3);
  m.edge('destination', productpage, reviewsV2, reviews, 'grpc', 'mutual_tls').series(200, 14, '-').record(1, 5, 7);
  const tcp = m.edge('source', productpage, reviewsV2, reviews, 'tcp', 'unknown').tcp();
  tcp.opened();
  tcp.bytes(120, 40);
  const { samples, types } = parsePrometheus(m.render());
  assert.equal(find(samples, 'istio_response_messages_total', { reporter: 'source', grpc_response_status: '0' })[0]!.value, 3);
  assert.equal(find(samples, 'istio_requests_total', { reporter: 'destination', grpc_response_status: '14', connection_security_policy: 'mutual_tls', request_protocol: 'grpc' })[0]!.value, 1);
  assert.equal(types.get('istio_tcp_sent_bytes_total'), 'counter');
  const sent = find(samples, 'istio_tcp_sent_bytes_total')[0]!;
  assert.equal(sent.value, 120);
  assert.deepEqual(Object.keys(sent.labels), [...TCP_LABELS]);
  assert.equal(sent.labels['request_protocol'], 'tcp');
  assert.equal(find(samples, 'istio_tcp_connections_opened_total')[0]!.value, 1);
  assert.equal(find(samples, 'istio_tcp_connections_closed_total').length, 0, 'a zero counter is not exposed');
});

test('label values are escaped; names are validated', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(renderLabels(['a', 'b'], ['x"', '']), '{a="x\\"",b=""}');
  assert.ok(isValidName('istio_requests_total'));
  assert.ok(isValidName('a:b'));
  assert.equal(isValidName('a:b', true), false);
  assert.equal(isValidName('9a'), false);
  const odd = workloadLabels({ service: 'we"ird\nsvc\\', namespace: 'default' });
  const m = new IstioMetrics();
  m.edge('source', odd, reviewsV2, reviews, 'http', 'unknown').series(200, -1, '-').record(1, 0, 0);
  const { samples } = parsePrometheus(m.render());
  assert.equal(find(samples, 'istio_requests_total')[0]!.labels['source_workload'], 'we"ird\nsvc\\');
});

test('series are bounded: past maxSeries new label sets fold into one overflow series per reporter', () => {
  const m = new IstioMetrics({ maxSeries: 3 });
  const edge = m.edge('source', productpage, reviewsV2, reviews, 'http', 'unknown');
  for (let code = 200; code < 210; code++) edge.series(code, -1, '-').record(1, 0, 0);
  assert.equal(m.seriesCount, 3);
  const { samples } = parsePrometheus(m.render());
  const counts = find(samples, 'istio_requests_total');
  assert.equal(counts.length, 4);
  assert.equal(find(samples, 'istio_requests_total', { response_code: 'overflow', reporter: 'source' })[0]!.value, 7);
  assert.equal(counts.reduce((n, s) => n + s.value, 0), 10, 'no request is lost');
});

test('Telemetry metrics overrides: disable per metric and mode, REMOVE merges series, literal UPSERT', () => {
  const { policy, problems } = compileMetricsPolicy([{
    providers: [{ name: 'prometheus' }],
    overrides: [
      { match: { metric: 'REQUEST_SIZE' }, disabled: true },
      { match: { metric: 'ALL_METRICS', mode: 'SERVER' }, tagOverrides: { response_flags: { operation: 'REMOVE' } } },
      { match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' }, tagOverrides: { team: { value: "'books'" }, request_host: { value: 'request.host' } } },
    ],
  }]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /spec\.metrics\[0\]\.overrides\[2\]\.tagOverrides\.request_host\.value: only string literals/);
  const m = new IstioMetrics({ policy });
  for (const reporter of ['source', 'destination'] as const) {
    const edge = m.edge(reporter, productpage, reviewsV2, reviews, 'http', 'unknown');
    edge.series(200, -1, '-').record(1, 1, 1);
    edge.series(200, -1, 'DC').record(1, 1, 1);
  }
  const { samples, types } = parsePrometheus(m.render());
  assert.equal(types.has('istio_request_bytes'), false);
  const server = find(samples, 'istio_requests_total', { reporter: 'destination' });
  assert.equal(server.length, 1, 'response_flags removed: the two series merge');
  assert.equal(server[0]!.value, 2);
  assert.equal('response_flags' in server[0]!.labels, false);
  const client = find(samples, 'istio_requests_total', { reporter: 'source' });
  assert.equal(client.length, 2);
  assert.ok(client.every((s) => s.labels['team'] === 'books'));
  // A provider list without prometheus leaves the built-in endpoint alone.
  const other = compileMetricsPolicy([{ providers: [{ name: 'stackdriver' }], overrides: [{ disabled: true }] }]);
  assert.equal(other.policy.rule('REQUEST_COUNT', 'source').disabled, false);
  const off = compileMetricsPolicy([{ overrides: [{ disabled: true }] }]);
  assert.equal(off.policy.allDisabled, true);
});

test('CallMetrics: outbound reports source with the endpoint workload, inbound destination with the peer; edges are reused', () => {
  const m = new IstioMetrics();
  const calls = new CallMetrics(m, { service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2' } });
  const endpoint: UpstreamEndpoint = { key: '10.0.0.7:9080', address: '10.0.0.7', port: 9080, labels: { app: 'ratings', version: 'v1' }, locality: { region: '', zone: '', subZone: '' } };
  const outbound: ObservedCall = { protocol: 'http', method: 'GET', authority: 'ratings', path: '/ratings/0', routeName: 'ratings', clusterName: 'outbound|9080|v1|ratings.default.svc.cluster.local', flags: [], attempts: 1, status: 200, grpcStatus: undefined, endpoint, responseBytes: 48, durationMs: 2 };
  for (let i = 0; i < 3; i++) calls.onEnd(calls.onStart(), outbound);
  calls.onEnd(undefined, { ...outbound, endpoint: undefined, status: 503, flags: ['UH'], attempts: 0 });
  calls.onEnd(undefined, { ...outbound, protocol: 'grpc', status: 503, grpcStatus: 14, requestMessages: 1, responseMessages: 0 });
  const view: InboundRequestView = { protocol: 'http', peer: { address: '10.0.0.3', port: 40000, principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' }, tls: true, localPort: 9080, host: 'reviews:9080', method: 'GET', path: '/reviews/0', query: '', header: () => undefined };
  const inboundCall: InboundCall = { view, startTime: 0, flags: [], state: {}, native: undefined };
  calls.stage.onEnd!(inboundCall, { status: 500, durationMs: 1, requestBytes: 0, responseBytes: 0 });
  calls.inbound(inboundCall, { status: 500, durationMs: 1, requestBytes: 0, responseBytes: 0 });
  calls.inbound({ ...inboundCall, view: { ...view, tls: false, peer: { address: '10.0.0.4', port: 1 } } }, { status: 200, durationMs: 1, requestBytes: 3, responseBytes: 4 });
  assert.equal(m.seriesCount, 5, 'three requests on one edge and code share a series');
  const { samples } = parsePrometheus(m.render());
  const out = find(samples, 'istio_requests_total', { reporter: 'source', response_code: '200', request_protocol: 'http' })[0]!;
  assert.equal(out.value, 3);
  assert.equal(out.labels['source_workload'], 'reviews-v2');
  assert.equal(out.labels['destination_workload'], 'ratings-v1');
  assert.equal(out.labels['destination_workload_namespace'], 'default');
  assert.equal(out.labels['destination_service'], 'ratings.default.svc.cluster.local');
  const uh = find(samples, 'istio_requests_total', { reporter: 'source', response_flags: 'UH' })[0]!;
  assert.equal(uh.labels['destination_workload'], 'unknown', 'a local reply has no destination workload');
  assert.equal(uh.labels['destination_service_name'], 'ratings');
  const grpc = find(samples, 'istio_requests_total', { request_protocol: 'grpc' })[0]!;
  assert.equal(grpc.labels['response_code'], '200', 'gRPC answers HTTP 200 with the status in trailers');
  assert.equal(grpc.labels['grpc_response_status'], '14');
  assert.equal(find(samples, 'istio_request_messages_total')[0]!.value, 1);
  assert.equal(find(samples, 'istio_response_messages_total').length, 0, 'a counter that is zero is not written');
  const inn = find(samples, 'istio_requests_total', { reporter: 'destination' })[0]!;
  assert.equal(inn.value, 2);
  assert.equal(inn.labels['source_principal'], 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
  assert.equal(inn.labels['destination_service'], 'reviews.default.svc.cluster.local');
  assert.equal(inn.labels['destination_workload'], 'reviews-v2');
  assert.equal(inn.labels['connection_security_policy'], 'mutual_tls');
  assert.equal(inn.labels['response_code'], '500');
  const plain = find(samples, 'istio_requests_total', { reporter: 'destination', response_code: '200' })[0]!;
  assert.equal(plain.labels['connection_security_policy'], 'none');
  assert.equal(plain.labels['source_principal'], 'unknown');
  assert.equal(plain.labels['source_workload'], 'unknown');
});
