// createMesh({ telemetry: { otel: true } }): Istio's standard metrics through the OpenTelemetry
// metrics API (@opentelemetry/api's global MeterProvider; here a recording provider registered
// with metrics.setGlobalMeterProvider, as an SDK registers itself), without a metrics port.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { metrics, type MetricOptions, type Attributes } from '@opentelemetry/api';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { ISTIO_DEFAULT_BUCKETS } from '../../../src/telemetry/metrics.js';

interface Recorded { instrument: string; kind: 'counter' | 'histogram'; options: MetricOptions | undefined; value: number; attributes: Attributes | undefined }

/** A MeterProvider that records every measurement (what an SDK's would aggregate). */
function recordingProvider(meters: string[], out: Recorded[], instruments: Map<string, { kind: string; options: MetricOptions | undefined }>) {
  const instrument = (kind: 'counter' | 'histogram') => (name: string, options?: MetricOptions) => {
    instruments.set(name, { kind, options });
    const rec = (value: number, attributes?: Attributes) => { out.push({ instrument: name, kind, options, value, attributes }); };
    return kind === 'counter' ? { add: rec } : { record: rec };
  };
  return {
    getMeter(name: string) {
      meters.push(name);
      return { createCounter: instrument('counter'), createHistogram: instrument('histogram') };
    },
  };
}

let fx: MeshFixture;
const meters: string[] = [];
const recorded: Recorded[] = [];
const instruments = new Map<string, { kind: string; options: MetricOptions | undefined }>();

before(async () => {
  metrics.setGlobalMeterProvider(recordingProvider(meters, recorded, instruments) as unknown as Parameters<typeof metrics.setGlobalMeterProvider>[0]);
  fx = await MeshFixture.start('');
});

after(async () => {
  await fx?.close();
  metrics.disable();
});

test('outbound calls are recorded on the meshlet meter with Istio names, buckets and one attributes object per series', async () => {
  const backend = await fx.serve('details', { app: 'details', version: 'v1' });
  const client = await fx.mesh({ service: 'productpage', labels: { app: 'productpage', version: 'v1' }, telemetry: { otel: true } });
  assert.equal(client.metricsPort, undefined, 'no Prometheus endpoint unless metricsPort is set');
  await fx.waitForEndpoints(client, 'details', 1);
  assert.deepEqual(meters, ['meshlet']);
  assert.deepEqual([...instruments.keys()].sort(), ['istio_request_bytes', 'istio_request_duration_milliseconds', 'istio_request_messages', 'istio_requests', 'istio_response_bytes', 'istio_response_messages']);
  const duration = instruments.get('istio_request_duration_milliseconds')!;
  assert.equal(duration.kind, 'histogram');
  assert.equal(duration.options?.unit, 'ms');
  assert.deepEqual(duration.options?.advice?.explicitBucketBoundaries, [...ISTIO_DEFAULT_BUCKETS]);
  recorded.length = 0;
  for (let i = 0; i < 3; i++) await (await client.fetch('http://details:9080/details/0')).text();
  const requests = recorded.filter((r) => r.instrument === 'istio_requests');
  assert.equal(requests.length, 3);
  assert.ok(requests.every((r) => r.value === 1));
  assert.ok(requests.every((r) => r.attributes === requests[0]!.attributes), 'the same attributes object for every request of a series');
  assert.ok(Object.isFrozen(requests[0]!.attributes));
  assert.equal(requests[0]!.attributes!['reporter'], 'source');
  assert.equal(requests[0]!.attributes!['destination_workload'], 'details-v1');
  assert.equal(requests[0]!.attributes!['source_workload'], 'productpage-v1');
  assert.equal(requests[0]!.attributes!['response_code'], '200');
  assert.equal(recorded.filter((r) => r.instrument === 'istio_request_duration_milliseconds').length, 3);
  const sizes = recorded.filter((r) => r.instrument === 'istio_response_bytes').map((r) => r.value);
  assert.equal(sizes.length, 3);
  assert.ok(sizes.every((n) => n > 0 && n === sizes[0]), `response sizes ${sizes.join(',')}`);
  assert.equal(backend.hits.length >= 3, true);
});
