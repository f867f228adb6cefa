// The Telemetry resource for one workload (Istio's applicableTelemetries: mesh → namespace →
// workload, the more specific overriding what it sets), into the inbound listener's HCM
// (tracing.random_sampling, access_log with a CEL extension_filter), and back through the
// client's listener validation; the schema refuses what clients could not run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import type { IstioResource } from '../../../src/config/types.js';
import { inboundListener } from '../../../src/control/translate/inbound.js';
import { resolveTelemetry, telemetriesFor, telemetryHcmFields } from '../../../src/control/translate/telemetry.js';
import { ProxySnapshots } from '../../../src/control/snapshot-cache.js';
import { Snapshot } from '../../../src/control/snapshot.js';
import { servicesFromConfig } from '../../../src/control/services.js';
import { translate } from '../../../src/control/translate/index.js';
import type { Proxy } from '../../../src/control/proxy.js';
import { compileMetricsPolicy, type MetricsSpec } from '../../../src/telemetry/metrics-policy.js';
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
    [{ app: 'ratings' }, { samplingPercent: 50, accessLogs: [{ filter: 'response.code >= 400' }], side: 'server' }],
    [{ app: 'reviews' }, { samplingPercent: 50, accessLogs: [], side: 'server' }],
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

// Istio-style YAML with the fields users set per side: tracing/accessLogging match.mode,
// customTags, disableSpanReporting, metrics overrides with disabled and tagOverrides.
const SIDES = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
  - randomSamplingPercentage: 10
    customTags:
      cluster: { literal: { value: east } }
  metrics:
  - providers: [{ name: prometheus }]
    overrides:
    - match: { metric: REQUEST_SIZE }
      disabled: true
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: shop, namespace: shop }
spec:
  tracing:
  - match: { mode: CLIENT }
    randomSamplingPercentage: 1
    customTags:
      user: { header: { name: x-user, defaultValue: anonymous } }
      pod: { environment: { name: POD_NAME, defaultValue: unknown } }
  - match: { mode: SERVER }
    disableSpanReporting: true
  accessLogging:
  - match: { mode: CLIENT }
    filter: { expression: 'response.code >= 500' }
  metrics:
  - overrides:
    - match: { metric: ALL_METRICS, mode: CLIENT }
      tagOverrides:
        request_protocol: { operation: REMOVE }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: a-reviews, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  tracing: [{ match: { mode: CLIENT }, randomSamplingPercentage: 50 }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: b-reviews-v2, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews, version: v2 } }
  accessLogging: [{ match: { mode: CLIENT }, disabled: true }]
`;

test('per side: CLIENT and SERVER entries merge field by field, every matching workload Telemetry applies in order', () => {
  const r = resources(SIDES);
  assert.deepEqual(telemetriesFor(r, { namespace: 'shop', labels: { app: 'reviews', version: 'v2' } }).map((t) => t.metadata.name), ['mesh-default', 'shop', 'a-reviews', 'b-reviews-v2']);
  const v2 = resolveTelemetry(r, { namespace: 'shop', labels: { app: 'reviews', version: 'v2' } })!;
  assert.deepEqual(v2.client.tracing, {
    sampling: 50, disableSpanReporting: false,
    customTags: { user: { header: { name: 'x-user', defaultValue: 'anonymous' } }, pod: { environment: { name: 'POD_NAME', defaultValue: 'unknown' } } },
  }, 'the workload sampling over the namespace one; the namespace tags replace the mesh ones (a shallow merge, as Istio)');
  assert.deepEqual(v2.server.tracing, { sampling: 10, disableSpanReporting: true, customTags: { cluster: { literal: { value: 'east' } } } });
  assert.deepEqual(v2.client.logging, { enabled: false }, 'v2 disabled client logging');
  assert.equal(v2.server.logging, undefined, 'no entry covers the server side');
  const v1 = resolveTelemetry(r, { namespace: 'shop', labels: { app: 'reviews', version: 'v1' } })!;
  assert.deepEqual(v1.client.logging, { enabled: true, filter: 'response.code >= 500' });
  assert.equal(v1.metrics.length, 2, 'metrics of the mesh and the namespace, least specific first');
  // The merged metrics compile to the policy both reporters follow.
  const { policy, problems } = compileMetricsPolicy(v1.metrics as MetricsSpec[]);
  assert.deepEqual(problems, []);
  assert.equal(policy.rule('REQUEST_SIZE', 'source').disabled, true);
  assert.equal(policy.rule('REQUEST_SIZE', 'destination').disabled, true);
  assert.equal(policy.rule('REQUEST_COUNT', 'source').removed?.has('request_protocol'), true);
  assert.equal(policy.rule('REQUEST_COUNT', 'destination').removed, undefined, 'the CLIENT-mode override leaves the server reporter alone');
});

test('the inbound listener carries the SERVER side; custom tags and disableSpanReporting decode on the client', () => {
  const r = resources(SIDES);
  const l = inboundListener(NAME, r, { namespace: 'shop', labels: { app: 'ratings' } })!;
  const result = validateListener(decodeListener(encode(TYPE_URL.listener, l.message)));
  assert.ok(result.ok, JSON.stringify(result));
  const t = result.model.telemetry!;
  assert.equal(t.side, 'server');
  assert.equal(t.samplingPercent, 10);
  assert.equal(t.disableSpanReporting, true);
  assert.deepEqual(t.customTags, [{ tag: 'cluster', kind: 'literal', value: 'east' }]);
  assert.deepEqual(t.accessLogs, [], 'the CLIENT-only logging is not the inbound listener’s');
  assert.equal(t.metrics?.length, 2);
});

const proxy = (labels: Record<string, string>, namespace = 'shop'): Proxy => ({ id: `sidecar~10.0.0.1~${labels['app']}.${namespace}~${namespace}.svc.cluster.local`, namespace, labels, kind: 'sidecar' });

test('the outbound listeners a workload is sent carry its CLIENT side; a workload without Telemetry gets the shared ones', () => {
  const r = resources(`${SIDES}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: details, namespace: shop }
spec:
  hosts: [details.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.0.0.9 }]
`);
  const services = servicesFromConfig(r);
  const shared = Snapshot.build(translate({ resources: r, services }));
  const cache = new ProxySnapshots('cluster.local');
  cache.update(shared, r, services);
  const outbound = (p: Proxy) => {
    const snap = cache.forProxy(p, [])!;
    const names = [...snap.resources(TYPE_URL.listener).keys()];
    assert.ok(names.includes('details.shop.svc.cluster.local:9080'), names.join());
    const decoded = snap.decode(TYPE_URL.listener, ['details.shop.svc.cluster.local:9080'])[0]!;
    const v = validateListener(decodeListener(encode(TYPE_URL.listener, decoded.resource)));
    assert.ok(v.ok, JSON.stringify(v));
    return v.model;
  };
  const v1 = outbound(proxy({ app: 'reviews', version: 'v1' })).telemetry!;
  assert.equal(v1.side, 'client');
  assert.equal(v1.samplingPercent, 50);
  assert.deepEqual(v1.customTags, [
    { tag: 'pod', kind: 'environment', name: 'POD_NAME', defaultValue: 'unknown' },
    { tag: 'user', kind: 'header', name: 'x-user', defaultValue: 'anonymous' },
  ]);
  assert.deepEqual(v1.accessLogs, [{ filter: 'response.code >= 500' }]);
  assert.equal(v1.disableSpanReporting, undefined, 'span reporting is disabled for the server side only');
  assert.equal(outbound(proxy({ app: 'reviews', version: 'v2' })).telemetry!.accessLogs.length, 0);
  // Another namespace: only the mesh-wide Telemetry applies, to both sides.
  const other = outbound(proxy({ app: 'x' }, 'other')).telemetry!;
  assert.equal(other.samplingPercent, 10);
  assert.deepEqual(other.customTags, [{ tag: 'cluster', kind: 'literal', value: 'east' }]);
  // No Telemetry at all: the shared snapshot, untouched.
  const none = resources(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: details, namespace: shop }
spec:
  hosts: [details.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
`);
  const plain = Snapshot.build(translate({ resources: none, services: servicesFromConfig(none) }));
  cache.update(plain, none, servicesFromConfig(none));
  assert.equal(cache.forProxy(proxy({ app: 'reviews' }), []), plain);
});

test('the schema: customTags need exactly one kind, metrics name a standard metric, unapplied fields warn', () => {
  const { diagnostics } = parseConfig(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: bad, namespace: default }
spec:
  tracing:
  - customTags:
      both: { literal: { value: a }, header: { name: b } }
    useRequestIdForTraceSampling: true
  metrics:
  - reportingInterval: 5s
    overrides:
    - match: { metric: REQUEST_CNT }
`, 'bad.yaml');
  const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => d.path);
  assert.deepEqual(errors, ['spec.tracing[0].customTags.both.header', 'spec.metrics[0].overrides[0].match.metric']);
  const warnings = diagnostics.filter((d) => d.severity === 'warning').map((d) => d.path);
  assert.deepEqual(warnings.sort(), ['spec.metrics[0].reportingInterval', 'spec.tracing[0].useRequestIdForTraceSampling']);
});
