// The hand-written DeltaDiscoveryRequest/Response codecs (xds/wire/delta.ts) against protobufjs
// over the pruned descriptor: both directions, every field meshlet uses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { decodeDeltaRequest, decodeDeltaResponse, encodeAny, encodeDeltaRequest, encodeDeltaResource, encodeDeltaResponseHead, finishDeltaResponse } from '../../../src/xds/wire/index.js';

const Req = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const Res = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
const Cluster = messageType('envoy.config.cluster.v3.Cluster');
const toObject = { defaults: false, longs: Number, enums: String } as const;

describe('DeltaDiscoveryRequest codec', () => {
  const full = {
    node: { id: 'n1', cluster: 'c', metadata: { fields: { A: { string_value: 'b' } } } },
    type_url: TYPE_URL.cluster,
    resource_names_subscribe: ['*', 'a', 'ü'],
    resource_names_unsubscribe: ['old'],
    initial_resource_versions: { a: 'v1', b: 'v2' },
    response_nonce: '17',
    error_detail: { code: 3, message: 'bad: x'.repeat(40) },
  };

  test('what we encode, protobufjs decodes to the same fields', () => {
    const bytes = encodeDeltaRequest(full);
    const back = Req.toObject(Req.decode(bytes), toObject) as Record<string, unknown>;
    assert.deepEqual(back, full);
  });

  test('what protobufjs encodes, we decode (node metadata as JSON)', () => {
    const bytes = Req.encode(Req.fromObject(full)).finish();
    const req = decodeDeltaRequest(bytes);
    assert.deepEqual(req.node, { id: 'n1', cluster: 'c', metadata: { A: 'b' } });
    assert.equal(req.typeUrl, TYPE_URL.cluster);
    assert.deepEqual(req.subscribe, ['*', 'a', 'ü']);
    assert.deepEqual(req.unsubscribe, ['old']);
    assert.deepEqual([...req.initialVersions], [['a', 'v1'], ['b', 'v2']]);
    assert.equal(req.responseNonce, '17');
    assert.deepEqual(req.errorDetail, full.error_detail);
  });

  test('an ACK is just type and nonce; negative status codes round-trip', () => {
    assert.deepEqual(Req.toObject(Req.decode(encodeDeltaRequest({ type_url: 't', response_nonce: '1' })), toObject), { type_url: 't', response_nonce: '1' });
    assert.equal(decodeDeltaRequest(encodeDeltaRequest({ type_url: 't', error_detail: { code: -2, message: 'm' } })).errorDetail?.code, -2);
  });

  test('malformed bytes throw', () => {
    assert.throws(() => decodeDeltaRequest(Buffer.from([0x2a, 0x05, 0x0a])));
  });
});

describe('DeltaDiscoveryResponse codec', () => {
  const value = Cluster.encode(Cluster.fromObject({ name: 'c'.repeat(300), type: 'EDS' })).finish();
  const any = encodeAny(TYPE_URL.cluster, value);

  test('server encoding decodes with protobufjs: wrapper name/version, Any, removed, nonce, control plane', () => {
    const head = encodeDeltaResponseHead('sv1', [encodeDeltaResource('c'.repeat(300), 'rv1', any)], TYPE_URL.cluster, ['gone-1', 'gone-2']);
    const msg = Res.toObject(Res.decode(finishDeltaResponse(head, '9', 'meshlet')), toObject) as Record<string, unknown> & { resources: Array<{ name: string; version: string; resource: { type_url: string; value: Uint8Array } }> };
    assert.equal(msg['system_version_info'], 'sv1');
    assert.equal(msg['type_url'], TYPE_URL.cluster);
    assert.equal(msg['nonce'], '9');
    assert.deepEqual(msg['control_plane'], { identifier: 'meshlet' });
    assert.deepEqual(msg['removed_resources'], ['gone-1', 'gone-2']);
    assert.equal(msg.resources[0]!.name, 'c'.repeat(300));
    assert.equal(msg.resources[0]!.version, 'rv1');
    assert.equal(msg.resources[0]!.resource.type_url, TYPE_URL.cluster);
    assert.deepEqual(Buffer.from(msg.resources[0]!.resource.value), Buffer.from(value));
  });

  test('client decoding of protobufjs bytes', () => {
    const bytes = Res.encode(Res.fromObject({
      system_version_info: 'x', type_url: TYPE_URL.cluster, nonce: '3', removed_resources: ['r'],
      resources: [{ name: 'a', version: 'v', resource: { type_url: TYPE_URL.cluster, value }, aliases: ['skip'] }],
      control_plane: { identifier: 'other' },
    })).finish();
    const res = decodeDeltaResponse(bytes);
    assert.equal(res.system_version_info, 'x');
    assert.equal(res.type_url, TYPE_URL.cluster);
    assert.equal(res.nonce, '3');
    assert.deepEqual(res.removed_resources, ['r']);
    assert.equal(res.resources?.[0]?.name, 'a');
    assert.equal(res.resources?.[0]?.version, 'v');
    assert.deepEqual(Buffer.from(res.resources![0]!.resource!.value!), Buffer.from(value));
  });
});
