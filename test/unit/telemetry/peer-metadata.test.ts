import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';

// protobufjs' own google.protobuf.Struct: an independent encoder/decoder to check the bytes against.
const Struct = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')!).lookupType('google.protobuf.Struct');
type Value = { stringValue?: string; structValue?: { fields: Record<string, Value> } };
const plain = (fields: Record<string, Value>): unknown => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.structValue ? plain(v.structValue.fields) : v.stringValue]));
const struct = (o: Record<string, unknown>): { fields: Record<string, Value> } => ({ fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? { stringValue: v } : { structValue: struct(v as Record<string, unknown>) }])) });
import { decodePeerMetadata, encodePeerMetadata } from '../../../src/telemetry/peer-metadata.js';

const SRC = { namespace: 'default', workload: 'productpage-v1', labels: { app: 'productpage', version: 'v1' }, cluster: 'Kubernetes', nodeId: 'sidecar~10.0.0.1~productpage-v1.default~default.svc.cluster.local' };

test('metadata exchange: what a workload sends decodes to its workload facts', () => {
  const h = encodePeerMetadata(SRC);
  assert.equal(h.id, SRC.nodeId);
  assert.deepEqual(decodePeerMetadata(h.value), { workload: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, cluster: 'Kubernetes' });
});

test('metadata exchange: the header is a base64 google.protobuf.Struct with Istio\'s node metadata keys', () => {
  const decoded = Struct.toObject(Struct.decode(Buffer.from(encodePeerMetadata(SRC).value, 'base64'))) as { fields: Record<string, Value> };
  const s = plain(decoded.fields);
  assert.deepEqual(s, { NAMESPACE: 'default', WORKLOAD_NAME: 'productpage-v1', LABELS: { app: 'productpage', version: 'v1' }, CLUSTER_ID: 'Kubernetes' });
  // And what another encoder (an Istio sidecar's Struct) sends decodes the same way.
  const other = Struct.encode(Struct.fromObject(struct({ NAMESPACE: 'shop', WORKLOAD_NAME: 'cart-v2', LABELS: { app: 'cart', version: 'v2' }, ISTIO_VERSION: '1.24.0', MESH_ID: 'cluster.local' }))).finish();
  assert.deepEqual(decodePeerMetadata(Buffer.from(other).toString('base64')), { workload: 'cart-v2', namespace: 'shop', labels: { app: 'cart', version: 'v2' } });
});

test('metadata exchange: absent, oversized or malformed values are ignored, never thrown', () => {
  assert.equal(decodePeerMetadata(undefined), undefined);
  assert.equal(decodePeerMetadata(''), undefined);
  assert.equal(decodePeerMetadata('x'.repeat(9000)), undefined);
  assert.equal(decodePeerMetadata('not base64 !!'), undefined);
  const valid = Buffer.from(encodePeerMetadata(SRC).value, 'base64');
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(valid);
    b[i % b.length] = (b[i % b.length]! + 1 + i) & 0xff;
    const cut = b.subarray(0, (i * 7) % (b.length + 1));
    const out = decodePeerMetadata(cut.toString('base64'));
    assert.ok(out === undefined || typeof out === 'object');
  }
});
