import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeDiscoveryRequest, encodeAny, encodeDiscoveryResponse, encodeResponseHead, finishDiscoveryResponse } from '../../../src/xds/wire/index.js';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const Response = messageType('envoy.service.discovery.v3.DiscoveryResponse');
const Listener = messageType('envoy.config.listener.v3.Listener');
const Cluster = messageType('envoy.config.cluster.v3.Cluster');

function listenerBytes(name: string): Uint8Array {
  return Listener.encode(Listener.fromObject({ name, address: { socket_address: { address: '0.0.0.0', port_value: 9080 } } })).finish();
}

describe('hand-written DiscoveryResponse encoder', () => {
  test('decodes with protobufjs to the same fields and resources', () => {
    const values = [listenerBytes('a'), listenerBytes('b'.repeat(300))];
    const anys = values.map((v) => encodeAny(TYPE_URL.listener, v));
    const buf = encodeDiscoveryResponse({ versionInfo: 'v1', resources: anys, typeUrl: TYPE_URL.listener, nonce: '42', controlPlane: 'meshlet' });
    const msg = Response.toObject(Response.decode(buf), { defaults: true }) as {
      version_info: string; type_url: string; nonce: string; control_plane: { identifier: string };
      resources: Array<{ type_url: string; value: Uint8Array }>;
    };
    assert.equal(msg.version_info, 'v1');
    assert.equal(msg.type_url, TYPE_URL.listener);
    assert.equal(msg.nonce, '42');
    assert.equal(msg.control_plane.identifier, 'meshlet');
    assert.equal(msg.resources.length, 2);
    assert.equal(msg.resources[0]!.type_url, TYPE_URL.listener);
    assert.deepEqual(Buffer.from(msg.resources[1]!.value), Buffer.from(values[1]!));
    const decoded = Listener.toObject(Listener.decode(msg.resources[1]!.value)) as { name: string };
    assert.equal(decoded.name, 'b'.repeat(300));
  });

  test('is byte-identical to protobufjs encoding of the same message', () => {
    // A resource over 16 KiB exercises 3-byte length varints.
    const big = Cluster.encode(Cluster.fromObject({ name: 'c'.repeat(20_000), type: 'EDS' })).finish();
    const anys = [encodeAny(TYPE_URL.cluster, big), encodeAny(TYPE_URL.cluster, Cluster.encode(Cluster.fromObject({ name: 'x' })).finish())];
    const ours = encodeDiscoveryResponse({ versionInfo: 'abc', resources: anys, typeUrl: TYPE_URL.cluster, nonce: '7', controlPlane: 'cp' });
    const theirs = Response.encode(Response.fromObject({
      version_info: 'abc',
      resources: anys.map((a) => {
        const Any = messageType('google.protobuf.Any');
        return Any.toObject(Any.decode(a));
      }),
      type_url: TYPE_URL.cluster,
      nonce: '7',
      control_plane: { identifier: 'cp' },
    })).finish();
    assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
  });

  test('omits empty fields like proto3 and handles no resources', () => {
    const buf = encodeDiscoveryResponse({ versionInfo: '', resources: [], typeUrl: TYPE_URL.route, nonce: '1' });
    const msg = Response.toObject(Response.decode(buf), { defaults: true }) as { version_info: string; resources: unknown[]; control_plane: unknown };
    assert.equal(msg.version_info, '');
    assert.deepEqual(msg.resources, []);
    assert.equal(msg.control_plane, null);
  });
});

describe('DiscoveryRequest decoding', () => {
  test('reads names, nonce, error_detail and node metadata as JSON', () => {
    const Request = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    const bytes = Request.encode(Request.fromObject({
      type_url: TYPE_URL.endpoint,
      resource_names: ['a', 'b'],
      response_nonce: '3',
      version_info: 'v2',
      error_detail: { code: 3, message: 'bad' },
      node: { id: 'n1', metadata: { fields: { MESHLET_SERVICE: { string_value: 'reviews' }, MESHLET_PORTS: { list_value: { values: [{ struct_value: { fields: { number: { number_value: 9080 } } } }] } } } } },
    })).finish();
    const req = decodeDiscoveryRequest(bytes);
    assert.equal(req.typeUrl, TYPE_URL.endpoint);
    assert.deepEqual(req.resourceNames, ['a', 'b']);
    assert.equal(req.responseNonce, '3');
    assert.equal(req.versionInfo, 'v2');
    assert.deepEqual(req.errorDetail, { code: 3, message: 'bad' });
    assert.equal(req.node?.['id'], 'n1');
    assert.deepEqual(req.node?.['metadata'], { MESHLET_SERVICE: 'reviews', MESHLET_PORTS: [{ number: 9080 }] });
  });
});

describe('hand-written DiscoveryRequest decoder', () => {
  const Request = messageType('envoy.service.discovery.v3.DiscoveryRequest');

  test('matches the protobufjs reading of an ACK, a NACK and an empty request', () => {
    const objects = [
      { version_info: 'v9', resource_names: ['x', 'y'], type_url: TYPE_URL.route, response_nonce: '12' },
      { type_url: TYPE_URL.cluster, response_nonce: '1', error_detail: { code: -1, message: 'no' } },
      { error_detail: {} },
      {},
    ];
    for (const o of objects) {
      const req = decodeDiscoveryRequest(Request.encode(Request.fromObject(o)).finish());
      const pj = Request.toObject(Request.decode(Request.encode(Request.fromObject(o)).finish()), { longs: Number, enums: String, defaults: false }) as Record<string, any>;
      assert.equal(req.versionInfo, pj['version_info'] ?? '');
      assert.deepEqual(req.resourceNames, pj['resource_names'] ?? []);
      assert.equal(req.typeUrl, pj['type_url'] ?? '');
      assert.equal(req.responseNonce, pj['response_nonce'] ?? '');
      assert.deepEqual(req.errorDetail, pj['error_detail'] ? { code: pj['error_detail'].code ?? 0, message: pj['error_detail'].message ?? '' } : undefined);
    }
  });

  test('skips unknown fields and throws on truncation', () => {
    const bytes = Buffer.concat([Buffer.from([0x78, 0x05]), Request.encode(Request.fromObject({ type_url: TYPE_URL.route })).finish()]);
    assert.equal(decodeDiscoveryRequest(bytes).typeUrl, TYPE_URL.route);
    assert.throws(() => decodeDiscoveryRequest(bytes.subarray(0, bytes.length - 1)), RangeError);
  });
});

describe('response heads', () => {
  test('head + nonce is byte-identical to the one-shot encoder', () => {
    const anys = [encodeAny(TYPE_URL.listener, listenerBytes('a')), encodeAny(TYPE_URL.listener, listenerBytes('b'))];
    const head = encodeResponseHead('v1', anys, TYPE_URL.listener);
    for (const [nonce, cp] of [['1', 'meshlet'], ['123456', 'other'], ['', undefined]] as const) {
      const theirs = Response.encode(Response.fromObject({
        version_info: 'v1',
        resources: anys.map((a) => messageType('google.protobuf.Any').toObject(messageType('google.protobuf.Any').decode(a))),
        type_url: TYPE_URL.listener,
        ...(nonce ? { nonce } : {}),
        ...(cp ? { control_plane: { identifier: cp } } : {}),
      })).finish();
      assert.deepEqual(finishDiscoveryResponse(head, nonce, cp), Buffer.from(theirs));
    }
  });
});
