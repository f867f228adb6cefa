// The Telemetry resource for one workload (Istio's applicableTelemetries: mesh → namespace →
// workload, the more specific overriding what it sets), into the inbound listener's HCM
// (tracing.random_sampling, access_log with a CEL extension_filter), and back through the
// client's listener validation; the schema refuses what clients could not run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import type { IstioResource } from '../../../src/config/types.js';
import { inboundListener } from '../../../src/control/translate/inbound.js';
import { telemetriesFor, telemetryHcmFields } from '../../../src/control/translate/telemetry.js';
import { decodeListener, validateListener } from '../../../src/xds/resources/listener.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { encode } from '../../helpers/xds-resources.js';

const YAML = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing: [{ randomSamplingPercentage: 10 }]
  accessLogging:
  - providers: [{ name: envoy }]
    filter: { expression: 'response.code >= 400' }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ns, namespace: shop }
spec:
  tracing: [{ randomSamplingPercentage: 50 }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: reviews, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  accessLogging: [{ disabled: true }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: client-only, namespace: other }
spec:
  tracing: [{ match: { mode: CLIENT }, randomSamplingPercentage: 1 }]
`;

function resources(yaml = YAML): IstioResource[] {
  const { resources, diagnostics } = parseConfig(yaml, 'telemetry.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  return resources;
}

const NAME = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080';

test('resolution: mesh, then namespace, then the matching workload; each overrides what it sets', () => {
  const r = resources();
  assert.deepEqual(telemetriesFor(r, { namespace: 'shop', labels: { app: 'reviews' } }).map((t) => t.metadata.name), ['mesh-default', 'ns', 'reviews']);
  assert.deepEqual(telemetriesFor(r, { namespace: 'default', labels: { app: 'reviews' } }).map((t) => t.metadata.name), ['mesh-default']);
  const reviews = telemetryHcmFields(r, { namespace: 'shop', labels: { app: 'reviews' } });
  assert.deepEqual(reviews['tracing'], { random_sampling: { value: 50 } }, 'the namespace sampling wins over the mesh one');
  assert.equal(reviews['access_log'], undefined, 'the workload disabled access logs');
  const ratings = telemetryHcmFields(r, { namespace: 'shop', labels: { app: 'ratings' } });
  assert.equal((ratings['access_log'] as unknown[]).length, 1, 'the mesh-wide logging applies');
  // CLIENT-only entries are not the inbound listener's.
  assert.deepEqual(telemetryHcmFields(r, { namespace: 'other', labels: {} })['tracing'], { random_sampling: { value: 10 } });
  assert.deepEqual(telemetryHcmFields([], { namespace: 'shop', labels: {} }), {}, 'no Telemetry: the HCM says nothing');
});

test('the inbound listener carries it on every chain, and the client decodes it', () => {
  const r = resources();
  for (const [labels, want] of [
    [{ app: 'ratings' }, { samplingPercent: 50, accessLogs: [{ filter: 'response.code >= 400' }] }],
    [{ app: 'reviews' }, { samplingPercent: 50, accessLogs: [] }],
  ] as const) {
    const l = inboundListener(NAME, r, { namespace: 'shop', labels })!;
    const result = validateListener(decodeListener(encode(TYPE_URL.listener, l.message)));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.model.telemetry, want);
  }
  const none = validateListener(decodeListener(encode(TYPE_URL.listener, inboundListener(NAME, [], { namespace: 'shop', labels: {} })!.message)));
  assert.ok(none.ok);
  assert.equal(none.model.telemetry, undefined);
});

test('the schema refuses a filter the clients cannot run, and a sampling out of range', () => {
  const { diagnostics } = parseConfig(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: bad, namespace: default }
spec:
  tracing: [{ randomSamplingPercentage: 120 }]
  accessLogging:
  - filter: { expression: 'request.path.matches("^/api")' }
`, 'bad.yaml');
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors.map((d) => d.path), ['spec.tracing[0].randomSamplingPercentage', 'spec.accessLogging[0].filter.expression']);
  assert.match(errors[1]!.message, /unsupported function matches/);
  assert.equal(typeof errors[1]!.line, 'number');
});
