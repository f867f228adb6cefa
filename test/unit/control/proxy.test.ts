import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VirtualService } from '../../../src/config/types.js';
import { groupInputs, labelsMatch, proxyFromNode, proxyGroupKey } from '../../../src/control/proxy.js';
import { buildNode } from '../../../src/xds/node.js';
import { jsonToStruct } from '../../../src/xds/struct.js';

const vs = (match: Array<Record<string, unknown>>): VirtualService =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r', namespace: 'default' }, spec: { hosts: ['reviews'], http: [{ match, route: [{ destination: { host: 'reviews' } }] }] } }) as unknown as VirtualService;

describe('proxyFromNode', () => {
  test('reads namespace, labels and service account from the node a mesh client sends', () => {
    const node = buildNode({ id: 'pp-1', namespace: 'shop', labels: { app: 'pp', version: 'v1' }, serviceAccount: 'pp-sa' });
    const p = proxyFromNode({ ...node, metadata: node.metadata } as unknown as Record<string, unknown>);
    assert.deepEqual(p, { id: 'pp-1', namespace: 'shop', labels: { app: 'pp', version: 'v1' }, serviceAccount: 'pp-sa', kind: 'sidecar' });
  });
  test('defaults: namespace default, no labels; router~ ids are gateways', () => {
    assert.deepEqual(proxyFromNode({ id: 'router~10.0.0.1~gw~default.svc.cluster.local' }), { id: 'router~10.0.0.1~gw~default.svc.cluster.local', namespace: 'default', labels: {}, kind: 'gateway' });
    assert.deepEqual(proxyFromNode(undefined), { id: '', namespace: 'default', labels: {}, kind: 'sidecar' });
  });
  test('plain JSON metadata (bootstrap files) works like a Struct', () => {
    const meta = { NAMESPACE: 'a', LABELS: { x: '1' } };
    assert.deepEqual(proxyFromNode({ id: 'n', metadata: meta }).labels, { x: '1' });
    assert.deepEqual(proxyFromNode({ id: 'n', metadata: jsonToStruct(meta) }).namespace, 'a');
  });
});

describe('proxy groups', () => {
  const p = (namespace: string, labels: Record<string, string>) => ({ id: 'x', namespace, labels, kind: 'sidecar' as const });
  test('without source-dependent matches every sidecar is one group', () => {
    const inputs = groupInputs([vs([{ uri: { prefix: '/' } }])]);
    assert.equal(proxyGroupKey(p('a', { version: 'v1' }), inputs), proxyGroupKey(p('b', { version: 'v2' }), inputs));
  });
  test('only label keys named by sourceLabels split groups', () => {
    const inputs = groupInputs([vs([{ sourceLabels: { version: 'v1' } }])]);
    assert.deepEqual(inputs, { labelKeys: ['version'], namespace: false });
    assert.equal(proxyGroupKey(p('a', { version: 'v1', hash: '1' }), inputs), proxyGroupKey(p('b', { version: 'v1', hash: '2' }), inputs));
    assert.notEqual(proxyGroupKey(p('a', { version: 'v1' }), inputs), proxyGroupKey(p('a', { version: 'v2' }), inputs));
    assert.notEqual(proxyGroupKey(p('a', {}), inputs), proxyGroupKey(p('a', { version: '' }), inputs));
  });
  test('sourceNamespace splits by namespace', () => {
    const inputs = groupInputs([vs([{ sourceNamespace: 'a' }])]);
    assert.notEqual(proxyGroupKey(p('a', {}), inputs), proxyGroupKey(p('b', {}), inputs));
  });
  test('labelsMatch is Istio selector semantics', () => {
    assert.equal(labelsMatch({ a: '1', b: '2' }, { a: '1' }), true);
    assert.equal(labelsMatch({ a: '1' }, { a: '2' }), false);
    assert.equal(labelsMatch({}, { a: '1' }), false);
    assert.equal(labelsMatch({}, {}), true);
  });
});
