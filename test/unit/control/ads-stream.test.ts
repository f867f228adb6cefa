import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdsStream, type NackEvent, type StreamContext } from '../../../src/control/ads-stream.js';
import type { Announcement } from '../../../src/control/model.js';
import { Snapshot } from '../../../src/control/snapshot.js';
import { decodeDiscoveryRequest } from '../../../src/xds/wire/index.js';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const L = TYPE_URL.listener;
const Response = messageType('envoy.service.discovery.v3.DiscoveryResponse');
const Listener = messageType('envoy.config.listener.v3.Listener');

function snap(ports: Record<string, number>): Snapshot {
  const listeners = Object.entries(ports).map(([name, port]) => ({ name, message: { name, address: { socket_address: { address: '0.0.0.0', port_value: port } } } }));
  return Snapshot.build(new Map([[L, listeners]]));
}

function harness(initial: Snapshot) {
  let current = initial;
  let nonce = 0;
  const sent: Array<{ version: string; nonce: string; names: string[] }> = [];
  const nacks: NackEvent[] = [];
  const announced: Announcement[] = [];
  const deregistered: string[] = [];
  const ctx: StreamContext = {
    snapshot: () => current,
    nextNonce: () => String(++nonce),
    controlPlaneId: 'test',
    announce: (a) => { announced.push(a); return true; },
    deregister: (id) => deregistered.push(id),
    onPush: () => {},
    onNack: (e) => nacks.push(e),
  };
  const stream = new AdsStream('peer', ctx, (bytes) => {
    const msg = Response.toObject(Response.decode(bytes), { defaults: true }) as { version_info: string; nonce: string; resources: Array<{ value: Uint8Array }> };
    sent.push({ version: msg.version_info, nonce: msg.nonce, names: msg.resources.map((r) => (Listener.decode(r.value) as unknown as { name: string }).name) });
  });
  const req = (resourceNames: string[], responseNonce = '', extra: { errorDetail?: { code: number; message: string }; versionInfo?: string; node?: Record<string, unknown> } = {}) =>
    stream.onRequest({ typeUrl: L, resourceNames, responseNonce, versionInfo: extra.versionInfo ?? '', ...(extra.errorDetail ? { errorDetail: extra.errorDetail } : {}), ...(extra.node ? { node: extra.node } : {}) });
  return { stream, sent, nacks, announced, deregistered, req, set: (s: Snapshot) => { current = s; stream.onSnapshot(); } };
}

describe('AdsStream (SotW protocol)', () => {
  test('named subscription gets only the names that exist; wildcard gets all', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req(['a', 'missing']);
    assert.deepEqual(h.sent.at(-1)!.names, ['a']);
    const w = harness(snap({ a: 1, b: 2 }));
    w.req([]);
    assert.deepEqual(w.sent.at(-1)!.names, ['a', 'b']);
    assert.equal(w.stream.status().types['LDS']!.subscribed, '*');
  });

  test('ACK causes no resend; a relevant change pushes; an irrelevant one does not', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req(['a']);
    const first = h.sent.at(-1)!;
    h.req(['a'], first.nonce, { versionInfo: first.version });
    assert.equal(h.sent.length, 1);
    assert.equal(h.stream.status().types['LDS']!.ackedVersion, first.version);
    assert.equal(h.stream.status().types['LDS']!.pending, false);
    h.set(snap({ a: 1, b: 3 }));
    assert.equal(h.sent.length, 1, 'b is not subscribed');
    h.set(snap({ a: 5, b: 3 }));
    assert.equal(h.sent.length, 2);
  });

  test('an ACK that swaps, repeats or widens names is a subscription change', () => {
    const h = harness(snap({ a: 1, b: 2, c: 3 }));
    h.req(['a', 'b']);
    // Same count, one name swapped: must not pass for the same subscription.
    h.req(['a', 'c'], h.sent.at(-1)!.nonce, { versionInfo: h.sent.at(-1)!.version });
    assert.deepEqual(h.sent.at(-1)!.names, ['a', 'c']);
    assert.equal(h.sent.length, 2);
    // A repeated name with one dropped: the set is {a}, not {a, c}.
    h.req(['a', 'a'], h.sent.at(-1)!.nonce, { versionInfo: h.sent.at(-1)!.version });
    assert.deepEqual(h.sent.at(-1)!.names, ['a']);
    assert.equal(h.sent.length, 3);
    // Same names plus '*': wildcard now.
    h.req(['a', '*'], h.sent.at(-1)!.nonce, { versionInfo: h.sent.at(-1)!.version });
    assert.deepEqual(h.sent.at(-1)!.names, ['a', 'b', 'c']);
    assert.equal(h.stream.status().types['LDS']!.subscribed, '*');
    // The same names again (a plain ACK): nothing is resent.
    h.req(['a', '*'], h.sent.at(-1)!.nonce, { versionInfo: h.sent.at(-1)!.version });
    assert.equal(h.sent.length, 4);
  });

  test('stale nonce is ignored, subscription changes included', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req(['a']);
    h.set(snap({ a: 9, b: 2 }));
    assert.equal(h.sent.length, 2);
    // The client changes its subscription but still names the first nonce: stale.
    h.req(['a', 'b'], h.sent[0]!.nonce);
    assert.equal(h.sent.length, 2);
    // Its ACK of the latest nonce carries the new names: now they count.
    h.req(['a', 'b'], h.sent[1]!.nonce, { versionInfo: h.sent[1]!.version });
    assert.equal(h.sent.length, 3);
    assert.deepEqual(h.sent[2]!.names, ['a', 'b']);
  });

  test('NACK is recorded and the same content is not resent', () => {
    const h = harness(snap({ a: 1 }));
    h.req(['a']);
    const bad = h.sent[0]!;
    h.req(['a'], bad.nonce, { errorDetail: { code: 3, message: 'listener a: port taken' } });
    assert.equal(h.sent.length, 1);
    const t = h.stream.status().types['LDS']!;
    assert.equal(t.nack?.message, 'listener a: port taken');
    assert.equal(t.nack?.version, bad.version);
    assert.equal(h.nacks.length, 1);
    h.set(snap({ a: 1 }));
    assert.equal(h.sent.length, 1);
    h.set(snap({ a: 2 }));
    assert.equal(h.sent.length, 2);
    h.req(['a'], h.sent[1]!.nonce, { versionInfo: h.sent[1]!.version });
    assert.equal(h.stream.status().types['LDS']!.nack, undefined);
  });

  test('node announcement, then a draining node deregisters', () => {
    const h = harness(snap({}));
    const meta = { MESHLET_SERVICE: 'reviews', INSTANCE_IPS: '10.0.0.1', MESHLET_PORTS: [{ number: 9080 }] };
    h.req([], '', { node: { id: 'n1', metadata: meta } });
    assert.equal(h.announced[0]?.service, 'reviews');
    assert.equal(h.stream.status().announced?.address, '10.0.0.1');
    h.req([], h.sent[0]!.nonce, { node: { id: 'n1', metadata: { ...meta, MESHLET_DRAINING: 'true' } } });
    assert.deepEqual(h.deregistered, ['n1']);
    assert.equal(h.stream.status().announced, undefined);
  });

  test('decoded requests flow through (decoder + stream)', () => {
    const Request = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    const h = harness(snap({ a: 1 }));
    h.stream.onRequest(decodeDiscoveryRequest(Request.encode(Request.fromObject({ type_url: L, resource_names: ['*'] })).finish()));
    assert.deepEqual(h.sent[0]!.names, ['a']);
  });
});
