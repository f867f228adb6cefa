import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNode, parseAnnouncement, parseMetricsTarget, NODE_METADATA } from '../../../src/xds/node.js';
import { prometheusTargets } from '../../../src/control/prometheus-sd.js';
import { jsonToStruct, structToJson } from '../../../src/xds/struct.js';
import { messageType } from '../../../src/xds/protos.js';
import { TO_OBJECT_OPTIONS } from '../../../src/xds/resources/common.js';

/** What the control server sees: the node through protobuf bytes and back. */
function wire(node: object): Record<string, unknown> {
  const type = messageType('envoy.config.core.v3.Node');
  return type.toObject(type.decode(type.encode(type.fromObject(node)).finish()), TO_OBJECT_OPTIONS);
}

test('struct <-> json round trip covers every Value kind', () => {
  const json = { s: 'x', n: 1.5, b: true, z: null, l: [1, 'a', { k: 'v' }], o: { deep: { er: [] } } };
  assert.deepEqual(structToJson(jsonToStruct(json)), json);
  const type = messageType('google.protobuf.Struct');
  const decoded = type.toObject(type.decode(type.encode(type.fromObject(jsonToStruct(json))).finish()), TO_OBJECT_OPTIONS);
  assert.deepEqual(structToJson(decoded), json);
  // camelCase Values (a root without meshlet's struct patch) read the same.
  assert.deepEqual(structToJson({ fields: { a: { stringValue: 'x' }, b: { listValue: { values: [{ numberValue: 2 }] } } } }), { a: 'x', b: [2] });
  assert.deepEqual(structToJson(undefined), {});
});

test('buildNode writes Istio-style metadata, locality and user agent', () => {
  const node = buildNode({
    id: 'reviews-v1-1', service: 'reviews', namespace: 'shop', labels: { version: 'v1' }, serviceAccount: 'bookinfo-reviews',
    address: '10.0.0.7', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }], locality: 'eu/eu-1a/rack9',
  });
  assert.equal(node.cluster, 'reviews.shop');
  assert.equal(node.user_agent_name, 'meshlet');
  assert.deepEqual(node.locality, { region: 'eu', zone: 'eu-1a', sub_zone: 'rack9' });
  const meta = structToJson(node.metadata);
  assert.equal(meta[NODE_METADATA.service], 'reviews');
  assert.equal(meta[NODE_METADATA.namespace], 'shop');
  assert.equal(meta[NODE_METADATA.instanceIps], '10.0.0.7');
  assert.deepEqual(meta[NODE_METADATA.labels], { version: 'v1' });
  assert.equal(meta[NODE_METADATA.draining], undefined);
});

test('parseAnnouncement reads a node that went over the wire', () => {
  const node = wire(buildNode({
    id: 'reviews-v1-1', service: 'reviews', labels: { version: 'v1' }, serviceAccount: 'sa', address: '10.0.0.7',
    ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }, { number: 9090 }], locality: 'eu/eu-1a',
  }));
  assert.deepEqual(parseAnnouncement(node), {
    nodeId: 'reviews-v1-1', service: 'reviews', namespace: 'default', labels: { version: 'v1' }, serviceAccount: 'sa',
    address: '10.0.0.7', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }, { number: 9090 }], locality: 'eu/eu-1a',
  });
});

test('parseAnnouncement: only serving, non-draining nodes announce', () => {
  const base = { id: 'n1', service: 's', address: '10.0.0.1', ports: [{ number: 80 }] };
  assert.ok(parseAnnouncement(wire(buildNode(base))));
  assert.equal(parseAnnouncement(wire(buildNode({ ...base, draining: true }))), undefined);
  assert.equal(parseAnnouncement(wire(buildNode({ ...base, ports: [] }))), undefined);
  assert.equal(parseAnnouncement(wire(buildNode({ ...base, address: undefined }))), undefined);
  assert.equal(parseAnnouncement(wire(buildNode({ ...base, service: undefined }))), undefined);
  assert.equal(parseAnnouncement(wire(buildNode({ ...base, ports: [{ number: 70000 }] }))), undefined);
  assert.equal(parseAnnouncement(null), undefined);
  assert.equal(parseAnnouncement({ id: 'x' }), undefined);
});

test('parseAnnouncement: INSTANCE_IPS is comma-separated, first address wins', () => {
  const node = {
    id: 'n1',
    metadata: jsonToStruct({ [NODE_METADATA.service]: 's', [NODE_METADATA.instanceIps]: ' 10.1.1.1 ,fd00::1', [NODE_METADATA.ports]: '8080,8081' }),
  };
  const a = parseAnnouncement(wire(node));
  assert.equal(a?.address, '10.1.1.1');
  assert.deepEqual(a?.ports, [{ number: 8080 }, { number: 8081 }]);
  assert.equal(a?.locality, undefined);
});

test('a targetPort survives the wire, so the service port and the listening port can differ', () => {
  const node = buildNode({
    id: 'ratings-1', service: 'ratings', address: '127.0.0.1',
    ports: [{ number: 9080, name: 'grpc', protocol: 'GRPC', targetPort: 41234 }, { number: 8080 }],
  });
  const announcement = parseAnnouncement(wire(node));
  assert.deepEqual(announcement?.ports, [{ number: 9080, name: 'grpc', protocol: 'GRPC', targetPort: 41234 }, { number: 8080 }]);
});

test('the metrics port travels in node metadata; a pure client is a metrics target too; bad ports are ignored', () => {
  const client = wire(buildNode({ id: 'loadgen-1.default', namespace: 'default', address: '10.0.0.9', metricsPort: 15020, labels: { app: 'loadgen' } }));
  assert.equal(parseAnnouncement(client), undefined, 'no service port: not an endpoint');
  assert.deepEqual(parseMetricsTarget(client), { address: '10.0.0.9', port: 15020, namespace: 'default', labels: { app: 'loadgen' } });
  const served = wire(buildNode({ id: 'r-1', service: 'reviews', namespace: 'shop', address: 'fd00::7', metricsPort: 15090, labels: { app: 'reviews', version: 'v2' }, ports: [{ number: 9080 }] }));
  const target = parseMetricsTarget(served)!;
  assert.equal(target.service, 'reviews');
  assert.deepEqual(prometheusTargets([
    { id: 'r-1', peer: '', connectedAt: '', types: {}, metrics: target },
    { id: 'x', peer: '', connectedAt: '', types: {} },
    { id: 'loadgen-1.default', peer: '', connectedAt: '', types: {}, metrics: parseMetricsTarget(client)! },
  ]), [
    { targets: ['10.0.0.9:15020'], labels: { __metrics_path__: '/stats/prometheus', namespace: 'default', app: 'loadgen', node_id: 'loadgen-1.default' } },
    { targets: ['[fd00::7]:15090'], labels: { __metrics_path__: '/stats/prometheus', namespace: 'shop', service: 'reviews', app: 'reviews', version: 'v2', node_id: 'r-1' } },
  ]);
  for (const bad of [0, 70000, 1.5, 'abc', -1]) {
    assert.equal(parseMetricsTarget({ id: 'n', metadata: { [NODE_METADATA.metricsPort]: bad, [NODE_METADATA.instanceIps]: '10.0.0.1' } }), undefined, String(bad));
  }
  assert.equal(parseMetricsTarget({ id: 'n', metadata: { [NODE_METADATA.metricsPort]: 9090 } }), undefined, 'no address');
  assert.equal(parseMetricsTarget(null), undefined);
});
