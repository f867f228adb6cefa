// DeltaAdsStream without a transport: the incremental protocol rules (envoy xds_protocol.rst
// "Incremental xDS"), the warm-up hold and the limits it shares with SotW.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeltaAdsStream } from '../../../src/control/ads-delta-stream.js';
import type { StreamContext } from '../../../src/control/ads-stream.js';
import { RequestGuard, resolveAdsLimits, StreamRefusal } from '../../../src/control/ads-limits.js';
import { Snapshot } from '../../../src/control/snapshot.js';
import type { DeltaRequest } from '../../../src/xds/wire/delta.js';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const L = TYPE_URL.listener;
const Response = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');

function snap(ports: Record<string, number>): Snapshot {
  const listeners = Object.entries(ports).map(([name, port]) => ({ name, message: { name, address: { socket_address: { address: '0.0.0.0', port_value: port } } } }));
  return Snapshot.build(new Map([[L, listeners]]));
}

function harness(initial: Snapshot, opts: { holding?: () => boolean } = {}) {
  let current = initial;
  let nonce = 0;
  const sent: Array<{ nonce: string; names: string[]; removed: string[] }> = [];
  const reconnects: number[] = [];
  const ctx: StreamContext = {
    snapshot: () => current,
    nextNonce: () => String(++nonce),
    controlPlaneId: 'test',
    announce: () => true,
    deregister: () => {},
    onNack: () => {},
    onReconnect: () => reconnects.push(1),
    ...(opts.holding ? { holding: opts.holding } : {}),
  };
  const stream = new DeltaAdsStream('peer', ctx, (bytes) => {
    const msg = Response.toObject(Response.decode(bytes), { defaults: true }) as { nonce: string; resources: Array<{ name: string }>; removed_resources: string[] };
    sent.push({ nonce: msg.nonce, names: msg.resources.map((r) => r.name), removed: msg.removed_resources });
  });
  const req = (r: Partial<DeltaRequest>) => stream.onRequest({ typeUrl: L, subscribe: [], unsubscribe: [], initialVersions: new Map(), responseNonce: '', ...r }, 100);
  return { stream, sent, reconnects, req, set: (s: Snapshot) => { current = s; stream.onSnapshot(); } };
}

describe('DeltaAdsStream', () => {
  test('a change sends the changed resource only; an unchanged rebuild sends nothing', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req({ subscribe: ['*'] });
    assert.deepEqual(h.sent.at(-1)!.names, ['a', 'b']);
    h.req({ responseNonce: h.sent.at(-1)!.nonce });
    h.set(snap({ a: 1, b: 3 }));
    assert.deepEqual(h.sent.at(-1), { nonce: '2', names: ['b'], removed: [] });
    h.set(snap({ a: 1, b: 3 }));
    assert.equal(h.sent.length, 2);
    h.set(snap({ b: 3 }));
    assert.deepEqual(h.sent.at(-1)!.removed, ['a']);
  });

  test('a subscription change in a request with a stale nonce still applies (it is a delta)', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req({ subscribe: ['a'] });
    h.set(snap({ a: 5, b: 2 }));
    assert.equal(h.sent.length, 2);
    h.req({ responseNonce: h.sent[0]!.nonce, subscribe: ['b'] });
    assert.deepEqual(h.sent.at(-1)!.names, ['b']);
    assert.equal(h.stream.status().types['LDS']!.pending, true, 'the stale nonce answered nothing');
  });

  test('unsubscribing the wildcard keeps only the named resources held', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req({ subscribe: ['*', 'a'] });
    h.req({ responseNonce: h.sent.at(-1)!.nonce, unsubscribe: ['*'] });
    h.set(snap({ a: 2, b: 3 }));
    assert.deepEqual(h.sent.at(-1)!.names, ['a']);
    assert.deepEqual(h.stream.status().types['LDS']!.subscribed, ['a']);
  });

  test('initial_resource_versions: held versions are not re-sent, and count as a reconnect', () => {
    const s = snap({ a: 1, b: 2 });
    const h = harness(s);
    const versions = new Map([...s.resources(L)].map(([n, e]) => [n, e.version]));
    versions.set('b', 'old');
    h.req({ subscribe: ['*'], initialVersions: versions });
    assert.deepEqual(h.sent.at(-1)!.names, ['b']);
    assert.equal(h.reconnects.length, 1);
  });

  test('during warm-up the first response is owed, then sent once released', () => {
    let holding = true;
    const h = harness(snap({ a: 1 }), { holding: () => holding });
    h.req({ subscribe: ['*'] });
    assert.equal(h.sent.length, 0);
    holding = false;
    h.set(snap({ a: 1 }));
    assert.deepEqual(h.sent.at(-1)!.names, ['a']);
  });

  test('the request guard bounds each list of a delta request like resource_names', () => {
    const guard = new RequestGuard(resolveAdsLimits({ maxResourceNames: 3 }));
    const base: DeltaRequest = { typeUrl: L, subscribe: [], unsubscribe: [], initialVersions: new Map(), responseNonce: '' };
    guard.checkDelta({ ...base, subscribe: ['a', 'b', 'c'] });
    assert.throws(() => guard.checkDelta({ ...base, unsubscribe: ['a', 'b', 'c', 'd'] }), (e: unknown) => e instanceof StreamRefusal && e.code === 'MESHLET_ERR_XDS_LIMIT');
    assert.throws(() => guard.checkDelta({ ...base, initialVersions: new Map(['a', 'b', 'c', 'd'].map((n) => [n, '1'])) }), StreamRefusal);
    assert.throws(() => guard.checkDelta({ ...base, node: { metadata: { big: 'x'.repeat(70_000) } } }), /node\.metadata/);
  });
});
