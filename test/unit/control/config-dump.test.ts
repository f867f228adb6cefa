// The CSDS-like config dump of one stream: what was sent, what the client ACKed, what it NACKed
// (envoy/service/status/v3/csds.proto ClientConfig.generic_xds_configs), and ?client= matching.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdsStream, type StreamContext } from '../../../src/control/ads-stream.js';
import { configDump, matchClients } from '../../../src/control/admin/config-dump.js';
import { Snapshot } from '../../../src/control/snapshot.js';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const L = TYPE_URL.listener;
const Response = messageType('envoy.service.discovery.v3.DiscoveryResponse');

function snap(ports: Record<string, number>): Snapshot {
  const listeners = Object.entries(ports).map(([name, port]) => ({ name, message: { name, address: { socket_address: { address: '0.0.0.0', port_value: port } } } }));
  return Snapshot.build(new Map([[L, listeners]]));
}

function harness(initial: Snapshot, peerIdentity?: StreamContext['peerIdentity']) {
  let current = initial;
  let nonce = 0;
  const sent: Array<{ version: string; nonce: string }> = [];
  const ctx: StreamContext = {
    snapshot: () => current, nextNonce: () => String(++nonce), controlPlaneId: 'test',
    announce: () => true, deregister: () => {}, onPush: () => {}, onNack: () => {},
    ...(peerIdentity ? { peerIdentity } : {}),
  };
  const stream = new AdsStream('10.0.0.9:5000', ctx, (bytes) => {
    const msg = Response.toObject(Response.decode(bytes), { defaults: true }) as { version_info: string; nonce: string };
    sent.push({ version: msg.version_info, nonce: msg.nonce });
  });
  const req = (names: string[], responseNonce = '', extra: { errorDetail?: { code: number; message: string }; versionInfo?: string; node?: Record<string, unknown> } = {}) =>
    stream.onRequest({ typeUrl: L, resourceNames: names, responseNonce, versionInfo: extra.versionInfo ?? '', ...(extra.errorDetail ? { errorDetail: extra.errorDetail } : {}), ...(extra.node ? { node: extra.node } : {}) });
  const dump = () => configDump({ status: stream.status(), types: stream.configView() });
  return { stream, sent, req, dump, set: (s: Snapshot) => { current = s; stream.onSnapshot(); } };
}

const port = (c: { xdsConfig?: Record<string, unknown> } | undefined) => (c?.xdsConfig as { address?: { socket_address?: { port_value?: number } } } | undefined)?.address?.socket_address?.port_value;

describe('config dump (CSDS-like)', () => {
  test('ACKed resources are SYNCED/ACKED with their content; a subscribed name not served DOES_NOT_EXIST', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req(['a', 'missing'], '', { node: { id: 'reviews-1' } });
    let d = h.dump();
    assert.deepEqual(d.genericXdsConfigs.map((g) => [g.name, g.configStatus, g.clientStatus]), [['a', 'STALE', 'REQUESTED'], ['missing', 'STALE', 'REQUESTED']]);
    assert.equal(port(d.genericXdsConfigs[0]), 1, 'before the ACK: what was sent');
    h.req(['a', 'missing'], h.sent[0]!.nonce, { versionInfo: h.sent[0]!.version });
    d = h.dump();
    assert.equal(d.node.id, 'reviews-1');
    assert.deepEqual(d.genericXdsConfigs.map((g) => [g.name, g.configStatus, g.clientStatus]), [['a', 'SYNCED', 'ACKED'], ['missing', 'SYNCED', 'DOES_NOT_EXIST']]);
    const a = d.genericXdsConfigs[0]!;
    assert.equal(a.typeUrl, L);
    assert.equal(port(a), 1);
    assert.ok(a.versionInfo && a.lastUpdated);
    assert.equal(d.types['LDS']!.ackedVersion, h.sent[0]!.version);
  });

  test('a NACKed update: ERROR/NACKED with the error state; the content stays the last ACKed one', () => {
    const h = harness(snap({ a: 1, b: 2 }));
    h.req(['a', 'b']);
    h.req(['a', 'b'], h.sent[0]!.nonce, { versionInfo: h.sent[0]!.version });
    h.set(snap({ a: 7, b: 2 }));
    h.req(['a', 'b'], h.sent[1]!.nonce, { versionInfo: h.sent[0]!.version, errorDetail: { code: 3, message: 'listeners[0]: port 7 taken' } });
    const d = h.dump();
    const [a, b] = d.genericXdsConfigs;
    assert.equal(a!.clientStatus, 'NACKED');
    assert.equal(a!.configStatus, 'ERROR');
    assert.equal(a!.errorState?.details, 'listeners[0]: port 7 taken');
    assert.equal(a!.errorState?.versionInfo, h.sent[1]!.version);
    assert.equal(port(a), 1, 'the client still runs on the ACKed listener');
    assert.equal(b!.clientStatus, 'ACKED', 'b did not change: it is not part of the rejection');
  });

  test('a pushed change not answered yet is STALE; content can be left out; identity and service are in the node', () => {
    const h = harness(snap({ a: 1 }), { spiffeId: 'spiffe://cluster.local/ns/default/sa/reviews', namespace: 'default', serviceAccount: 'reviews' });
    h.req([], '', { node: { id: 'n1', metadata: { MESHLET_SERVICE: 'reviews', INSTANCE_IPS: '10.0.0.1', MESHLET_PORTS: [{ number: 9080 }] } } });
    h.req([], h.sent[0]!.nonce, { versionInfo: h.sent[0]!.version });
    h.set(snap({ a: 2, c: 3 }));
    const d = configDump({ status: h.stream.status(), types: h.stream.configView() }, { includeContent: false });
    assert.deepEqual(d.genericXdsConfigs.map((g) => [g.name, g.configStatus, g.clientStatus, g.xdsConfig]), [['a', 'STALE', 'REQUESTED', undefined], ['c', 'STALE', 'REQUESTED', undefined]]);
    assert.equal(d.node.identity, 'spiffe://cluster.local/ns/default/sa/reviews');
    assert.equal(d.node.service, 'reviews');
  });

  test('?client= matches a node id first, else the service (name or name.namespace)', () => {
    const view = (id: string, service?: string) => ({ status: { id, peer: '', connectedAt: '', types: {}, ...(service ? { announced: { service, namespace: 'default', address: '', ports: [] } } : {}) } });
    const views = [view('reviews-v2-1', 'reviews'), view('reviews-v3-1', 'reviews'), view('ratings'), view('ratings-1', 'ratings')];
    assert.deepEqual(matchClients(views, 'reviews-v2-1').map((v) => v.status.id), ['reviews-v2-1']);
    assert.deepEqual(matchClients(views, 'reviews').map((v) => v.status.id), ['reviews-v2-1', 'reviews-v3-1']);
    assert.deepEqual(matchClients(views, 'reviews.default').map((v) => v.status.id), ['reviews-v2-1', 'reviews-v3-1']);
    assert.deepEqual(matchClients(views, 'ratings').map((v) => v.status.id), ['ratings'], 'a node id wins over a service name');
    assert.deepEqual(matchClients(views, 'nobody'), []);
  });
});
