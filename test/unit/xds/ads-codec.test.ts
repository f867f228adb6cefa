import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TO_OBJECT_OPTIONS } from '../../../src/xds/resources/common.js';
import {
  decodeDiscoveryResponse, encodeAny, encodeDiscoveryRequest, encodeDiscoveryResponse, type DiscoveryRequestObject, type DiscoveryResponseObject,
} from '../../../src/xds/wire/index.js';
import { WireReader, writeInt32 } from '../../../src/xds/wire/primitives.js';
import { messageType } from '../../../src/xds/protos.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const Request = messageType('envoy.service.discovery.v3.DiscoveryRequest');
const Response = messageType('envoy.service.discovery.v3.DiscoveryResponse');
const Cluster = messageType('envoy.config.cluster.v3.Cluster');

/** The protobufjs decoder the hand-written one replaces: the reference it is compared with. */
function decodeDiscoveryResponseWithProtobufjs(bytes: Uint8Array): DiscoveryResponseObject {
  return Response.toObject(Response.decode(bytes), TO_OBJECT_OPTIONS) as DiscoveryResponseObject;
}

function protobufjsRequest(req: DiscoveryRequestObject): Buffer {
  return Buffer.from(Request.encode(Request.fromObject(req)).finish());
}

describe('hand-written DiscoveryRequest encoder', () => {
  const node = buildNode({ id: 'pod-1', cluster: 'bench' });
  const cases: Array<[string, DiscoveryRequestObject]> = [
    ['first request with node and legacy wildcard', { version_info: '', resource_names: [], type_url: TYPE_URL.cluster, response_nonce: '', node }],
    ['ACK with names', { version_info: 'abc123', resource_names: ['b', 'a', 'ünïcödé'], type_url: TYPE_URL.endpoint, response_nonce: '17' }],
    ['NACK', { version_info: 'v1', resource_names: ['x'], type_url: TYPE_URL.route, response_nonce: '9', error_detail: { code: 3, message: 'resources[0]: bad — really' } }],
    ['negative status code and empty error_detail', { type_url: TYPE_URL.route, error_detail: { code: -2 } }],
    ['empty error_detail', { error_detail: {} }],
    ['nothing set', {}],
    ['long strings (multi-byte lengths)', { version_info: 'v'.repeat(300), resource_names: ['n'.repeat(20_000)], response_nonce: '1' }],
  ];
  for (const [name, req] of cases) {
    test(`is byte-identical to protobufjs: ${name}`, () => {
      assert.deepEqual(encodeDiscoveryRequest(req), protobufjsRequest(req));
    });
  }

  test('re-encodes the node after it changed', () => {
    const a = encodeDiscoveryRequest({ node, type_url: TYPE_URL.listener });
    const node2 = { ...node, id: 'pod-2' };
    const b = encodeDiscoveryRequest({ node: node2, type_url: TYPE_URL.listener });
    assert.deepEqual(b, protobufjsRequest({ node: node2, type_url: TYPE_URL.listener }));
    assert.notDeepEqual(a, b);
  });

  test('rejects malformed objects like protobufjs', () => {
    assert.throws(() => encodeDiscoveryRequest({ resource_names: 'a' as never }), TypeError);
    assert.throws(() => encodeDiscoveryRequest({ error_detail: 'x' as never }), TypeError);
  });
});

describe('hand-written DiscoveryResponse decoder', () => {
  const clusters = ['a', 'b'.repeat(200)].map((n) => encodeAny(TYPE_URL.cluster, Cluster.encode(Cluster.fromObject({ name: n, type: 'EDS' })).finish()));

  test('reads what protobufjs reads', () => {
    const bufs = [
      encodeDiscoveryResponse({ versionInfo: 'v1', resources: clusters, typeUrl: TYPE_URL.cluster, nonce: '42', controlPlane: 'meshlet' }),
      encodeDiscoveryResponse({ versionInfo: '', resources: [], typeUrl: TYPE_URL.route, nonce: '1' }),
      Buffer.from(Response.encode(Response.fromObject({ version_info: 'x', canary: true, type_url: TYPE_URL.cluster, nonce: '2', resources: [{ type_url: TYPE_URL.cluster }] })).finish()),
      Buffer.alloc(0),
    ];
    for (const buf of bufs) {
      const ours = decodeDiscoveryResponse(buf);
      const theirs = decodeDiscoveryResponseWithProtobufjs(buf) as Record<string, unknown>;
      delete theirs['canary']; // not read by meshlet, skipped by the hand-written decoder
      assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)));
    }
  });

  test('resource values are views on the message, byte-equal to the Any values', () => {
    const buf = encodeDiscoveryResponse({ versionInfo: 'v1', resources: clusters, typeUrl: TYPE_URL.cluster, nonce: '3' });
    const res = decodeDiscoveryResponse(buf);
    const Any = messageType('google.protobuf.Any');
    for (const [i, r] of res.resources!.entries()) {
      const expected = Any.decode(clusters[i]!) as unknown as { value: Uint8Array };
      assert.deepEqual(Buffer.from(r.value!), Buffer.from(expected.value));
    }
  });

  test('skips unknown fields of every wire type', () => {
    // field 15 varint, field 14 fixed64, field 13 fixed32, field 12 length-delimited, then nonce.
    const unknown = Buffer.from([0x78, 0x96, 0x01, 0x71, 1, 2, 3, 4, 5, 6, 7, 8, 0x6d, 1, 2, 3, 4, 0x62, 2, 0x61, 0x62, 0x2a, 1, 0x37]);
    assert.deepEqual(decodeDiscoveryResponse(unknown), { nonce: '7' });
  });

  test('throws on truncated or malformed input', () => {
    const buf = encodeDiscoveryResponse({ versionInfo: 'v1', resources: clusters, typeUrl: TYPE_URL.cluster, nonce: '3' });
    assert.throws(() => decodeDiscoveryResponse(buf.subarray(0, buf.length - 1)), RangeError);
    assert.throws(() => decodeDiscoveryResponse(buf.subarray(0, 40)), RangeError);
    assert.throws(() => decodeDiscoveryResponse(Buffer.from([0x0a, 0x05, 0x61])), RangeError);
    assert.throws(() => decodeDiscoveryResponse(Buffer.from([0x08, 0x01])), /wire type/);
    assert.throws(() => decodeDiscoveryResponse(Buffer.from([0x0f])), /wire type/);
  });
});

describe('pb-wire int32', () => {
  test('negative numbers take 10 bytes and read back', () => {
    for (const n of [0, 1, 127, 128, 300, 2147483647, -1, -2147483648]) {
      const buf = Buffer.alloc(10);
      const end = writeInt32(buf, 0, n);
      const r = new WireReader(buf, 0, end);
      assert.equal(r.varint32() | 0, n);
      assert.equal(r.done(), true);
    }
  });
});

describe('one codec, both directions', () => {
  test('what a client encodes is what the server decodes (node metadata as JSON)', async () => {
    const { decodeDiscoveryRequest } = await import('../../../src/xds/wire/index.js');
    const node = buildNode({ id: 'pod-1', service: 'reviews', ports: [{ number: 9080 }] });
    const req = decodeDiscoveryRequest(encodeDiscoveryRequest({ version_info: 'v2', resource_names: ['a', 'b'], type_url: TYPE_URL.route, response_nonce: '4', node, error_detail: { code: 3, message: 'bad' } }));
    assert.deepEqual({ ...req, node: undefined }, { versionInfo: 'v2', resourceNames: ['a', 'b'], typeUrl: TYPE_URL.route, responseNonce: '4', errorDetail: { code: 3, message: 'bad' }, node: undefined });
    assert.equal(req.node?.['id'], 'pod-1');
    assert.deepEqual((req.node?.['metadata'] as Record<string, unknown>)['MESHLET_PORTS'], [{ number: 9080 }]);
  });
});
