import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { isMeshError, type MeshError } from '../../src/errors.js';
import type { ClusterModel, ListenerModel, RouteConfigModel } from '../../src/core/model/index.js';
import { FakeAds } from '../helpers/fake-ads.js';
import { clusterRoute, edsCluster, rdsListener, routeConfig } from '../helpers/xds-resources.js';

const servers: FakeAds[] = [];
const clients: XdsClient[] = [];

async function server(port = 0): Promise<FakeAds> {
  const s = await FakeAds.start(port);
  servers.push(s);
  return s;
}

function client(ads: FakeAds, id = 'test-node'): XdsClient {
  const c = new XdsClient({
    server: ads.address,
    node: buildNode({ id, service: 'productpage', address: '127.0.0.1', ports: [{ number: 9080 }] }),
    backoff: { initialMs: 50, maxMs: 200, jitter: 0 },
    // FakeAds speaks state of the world only; these tests are about SotW.
    delta: false,
  });
  clients.push(c);
  return c;
}

/** Resolves with the arguments of the next `event` emitted by `c`. */
function once<E extends 'update' | 'ack' | 'nack' | 'connected' | 'disconnected'>(c: XdsClient, event: E): Promise<unknown[]> {
  return new Promise((resolve) => {
    const sub = c.on(event, ((...args: unknown[]) => {
      sub.dispose();
      resolve(args);
    }) as never);
  });
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) s.shutdown();
});
after(() => {
  for (const s of servers) s.shutdown();
});

test('first request carries the node; a good response is ACKed with its version and nonce', async () => {
  const ads = await server();
  const c = client(ads);
  const seen: Array<[string, ClusterModel]> = [];
  c.watch(TYPE_URL.cluster, '*', { onChange: (name, model) => seen.push([name, model]) });

  const first = await ads.waitForRequest((r) => r.type_url === TYPE_URL.cluster);
  assert.equal((first.node as { id?: string } | undefined)?.id, 'test-node');
  assert.deepEqual(first.resource_names ?? [], [], 'wildcard alone is the legacy empty list');
  assert.equal(first.version_info ?? '', '');

  const nonce = ads.push(TYPE_URL.cluster, 'v1', [edsCluster('a'), edsCluster('b')]);
  const ack = await ads.waitForRequest((r) => r.response_nonce === nonce);
  assert.equal(ack.version_info, 'v1');
  assert.equal(ack.error_detail, undefined);
  assert.equal(ack.node, undefined, 'only the first request of a stream carries the node');
  assert.deepEqual(seen.map(([n]) => n).sort(), ['a', 'b']);
  assert.equal(c.get(TYPE_URL.cluster, 'a')?.edsServiceName, 'a');
  assert.deepEqual([...c.all(TYPE_URL.cluster).keys()].sort(), ['a', 'b']);
  assert.equal(c.versions()[TYPE_URL.cluster], 'v1');
});

test('NACK names the field path; valid siblings apply, the bad resource keeps its last good version', async () => {
  const ads = await server();
  const c = client(ads);
  const errors: MeshError[] = [];
  const changes: Array<[string, RouteConfigModel]> = [];
  for (const name of ['rc-good', 'rc-bad']) {
    c.watch(TYPE_URL.route, name, { onChange: (n, m) => changes.push([n, m]), onError: (e) => errors.push(e) });
  }
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.route && (r.resource_names ?? []).length === 2);

  const n1 = ads.push(TYPE_URL.route, '1', [routeConfig('rc-good', [clusterRoute('c1')]), routeConfig('rc-bad', [clusterRoute('c1')])]);
  await ads.waitForRequest((r) => r.response_nonce === n1 && r.version_info === '1');

  const nackEvent = once(c, 'nack');
  const badRoute = { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'x', weight: { value: 0 } }] } } };
  const n2 = ads.push(TYPE_URL.route, '2', [routeConfig('rc-good', [clusterRoute('c2')]), routeConfig('rc-bad', [badRoute])]);
  const nack = await ads.waitForRequest((r) => r.response_nonce === n2);
  assert.equal(nack.version_info, '1', 'a NACK carries the last accepted version');
  assert.equal(nack.error_detail?.code, 3);
  assert.equal(nack.error_detail?.message, 'rc-bad: virtual_hosts[0].routes[0].route.weighted_clusters: sum of weights is 0');
  const [typeUrl, nonce, detail] = await nackEvent;
  assert.deepEqual([typeUrl, nonce], [TYPE_URL.route, n2]);
  assert.match(String(detail), /sum of weights is 0/);

  // gRFC A46: the valid sibling is applied, the invalid one keeps its last good value.
  const good = c.get(TYPE_URL.route, 'rc-good')?.virtualHosts[0]?.routes[0]?.action;
  assert.deepEqual(good, { kind: 'cluster', cluster: 'c2' });
  const bad = c.get(TYPE_URL.route, 'rc-bad')?.virtualHosts[0]?.routes[0]?.action;
  assert.deepEqual(bad, { kind: 'cluster', cluster: 'c1' });
  assert.deepEqual(changes.map(([n]) => n), ['rc-good', 'rc-bad', 'rc-good']);
  assert.equal(errors.length, 1);
  assert.ok(isMeshError(errors[0], 'MESHLET_ERR_XDS_INVALID'));
  assert.equal(errors[0]?.detail?.['name'], 'rc-bad');
  assert.equal(c.versions()[TYPE_URL.route], '1');

  // A later good response is ACKed with its own version.
  const n3 = ads.push(TYPE_URL.route, '3', [routeConfig('rc-good', [clusterRoute('c2')]), routeConfig('rc-bad', [clusterRoute('c3')])]);
  const ack = await ads.waitForRequest((r) => r.response_nonce === n3);
  assert.equal(ack.version_info, '3');
  assert.equal(ack.error_detail, undefined);
  assert.deepEqual(changes.map(([n]) => n), ['rc-good', 'rc-bad', 'rc-good', 'rc-bad'], 'unchanged rc-good is not re-announced');
});

test('undecodable and wrong-type resources are NACKed without naming a resource', async () => {
  const ads = await server();
  const c = client(ads);
  const errors: MeshError[] = [];
  c.watch(TYPE_URL.cluster, '*', { onChange: () => {}, onError: (e) => errors.push(e) });
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.cluster);
  const n = ads.push(TYPE_URL.cluster, '1', [
    edsCluster('ok'),
    { type_url: TYPE_URL.cluster, value: Buffer.from([0xff, 0xff, 0xff]) },
    { type_url: TYPE_URL.listener, value: Buffer.alloc(0) },
  ]);
  const nack = await ads.waitForRequest((r) => r.response_nonce === n);
  assert.equal(nack.version_info, '');
  assert.match(nack.error_detail?.message ?? '', /^resources\[1\]: cannot decode: .*; resources\[2\]: type_url .*Listener does not match/);
  assert.ok(c.get(TYPE_URL.cluster, 'ok'));
  assert.deepEqual(errors.map((e) => e.code), ['MESHLET_ERR_XDS_DECODE', 'MESHLET_ERR_XDS_DECODE']);
});

test('named vs wildcard subscriptions put the right resource_names on the wire', async () => {
  const ads = await server();
  const c = client(ads);
  const noop = { onChange: () => {} };
  c.watch(TYPE_URL.listener, 'b.svc:80', noop);
  const a = c.watch(TYPE_URL.listener, 'a.svc:80', noop);
  c.watch(TYPE_URL.cluster, '*', noop);
  c.watch(TYPE_URL.endpoint, 'outbound|80||a.svc', noop);

  const lds = await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener);
  assert.deepEqual(lds.resource_names, ['a.svc:80', 'b.svc:80'], 'watches in one tick coalesce into one request');
  assert.deepEqual((await ads.waitForRequest((r) => r.type_url === TYPE_URL.cluster)).resource_names ?? [], []);
  assert.deepEqual((await ads.waitForRequest((r) => r.type_url === TYPE_URL.endpoint)).resource_names, ['outbound|80||a.svc']);
  assert.equal(ads.requests.filter((r) => r.node !== undefined).length, 1, 'node only on the stream\'s first request');

  const wildcard = c.watch(TYPE_URL.listener, '*', noop);
  const withStar = await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener && (r.resource_names ?? []).includes('*'));
  assert.deepEqual(withStar.resource_names, ['*', 'a.svc:80', 'b.svc:80']);
  wildcard.dispose();
  a.dispose();
  const last = await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener && (r.resource_names ?? []).join() === 'b.svc:80');
  assert.ok(last);
});

test('LDS state of the world: absent listeners are removed, RDS absence is not', async () => {
  const ads = await server();
  const c = client(ads);
  const removed: string[] = [];
  const listeners: Array<[string, ListenerModel]> = [];
  c.watch(TYPE_URL.listener, '*', { onChange: (n, m) => listeners.push([n, m]), onRemove: (n) => removed.push(n) });
  c.watch(TYPE_URL.route, 'rc', { onChange: () => {}, onRemove: (n) => removed.push(`rds:${n}`) });
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.route);
  const n1 = ads.push(TYPE_URL.listener, '1', [rdsListener('l1', 'rc'), rdsListener('l2', 'rc')]);
  await ads.waitForRequest((r) => r.response_nonce === n1);
  const n2 = ads.push(TYPE_URL.route, '1', [routeConfig('rc', [clusterRoute('c')])]);
  await ads.waitForRequest((r) => r.response_nonce === n2);
  assert.equal(listeners[0]?.[1].routeConfigName, 'rc');

  const update = once(c, 'update');
  const n3 = ads.push(TYPE_URL.listener, '2', [rdsListener('l1', 'rc')]);
  await ads.waitForRequest((r) => r.response_nonce === n3);
  assert.deepEqual(await update, [TYPE_URL.listener, '2', ['l2']]);
  assert.deepEqual(removed, ['l2']);
  assert.equal(c.get(TYPE_URL.listener, 'l2'), undefined);

  const n4 = ads.push(TYPE_URL.route, '2', []);
  await ads.waitForRequest((r) => r.response_nonce === n4);
  assert.ok(c.get(TYPE_URL.route, 'rc'), 'an RDS response without rc does not delete it');
  assert.deepEqual(removed, ['l2']);
});

test('server loss: cache survives, client reconnects to a new server on the same port and resubscribes', async () => {
  const ads1 = await server();
  const c = client(ads1);
  const removed: string[] = [];
  c.watch(TYPE_URL.cluster, '*', { onChange: () => {}, onRemove: (n) => removed.push(n) });
  c.watch(TYPE_URL.endpoint, 'a', { onChange: () => {}, onRemove: (n) => removed.push(n) });
  await ads1.waitForRequest((r) => r.type_url === TYPE_URL.endpoint);
  const n1 = ads1.push(TYPE_URL.cluster, 'v7', [edsCluster('a')]);
  await ads1.waitForRequest((r) => r.response_nonce === n1);

  const disconnected = once(c, 'disconnected');
  ads1.shutdown();
  const [err] = await disconnected;
  assert.ok(isMeshError(err, 'MESHLET_ERR_XDS_STREAM'));
  assert.ok(c.get(TYPE_URL.cluster, 'a'), 'the last good config is still served');
  assert.equal(c.connected, false);

  const ads2 = await server(ads1.port);
  const connected = once(c, 'connected');
  const cds = await ads2.waitForRequest((r) => r.type_url === TYPE_URL.cluster);
  assert.equal(cds.version_info, 'v7', 'resubscribes with the last accepted version');
  assert.equal(cds.response_nonce ?? '', '', 'nonces do not carry over streams');
  assert.equal((cds.node as { id?: string } | undefined)?.id ?? (ads2.requests[0]?.node as { id?: string } | undefined)?.id, 'test-node');
  const eds = await ads2.waitForRequest((r) => r.type_url === TYPE_URL.endpoint);
  assert.deepEqual(eds.resource_names, ['a']);
  const n2 = ads2.push(TYPE_URL.cluster, 'v8', [edsCluster('a'), edsCluster('b')]);
  await connected;
  await ads2.waitForRequest((r) => r.response_nonce === n2 && r.version_info === 'v8');
  assert.ok(c.get(TYPE_URL.cluster, 'b'));
  assert.deepEqual(removed, [], 'watchers are never told resources vanished because the server did');
});

test('backoff grows across streams that never answer and resets only after a response', async () => {
  const ads = await server();
  ads.hangUpStreams = true;
  const c = new XdsClient({
    server: ads.address,
    node: buildNode({ id: 'n' }),
    backoff: { initialMs: 20, multiplier: 2, maxMs: 1000, jitter: 0 },
    delta: false,
  });
  clients.push(c);
  c.watch(TYPE_URL.cluster, '*', { onChange: () => {} });
  const delays: number[] = [];
  await new Promise<void>((resolve) => {
    const sub = c.on('disconnected', (_err, retryInMs) => {
      delays.push(retryInMs);
      if (delays.length === 4) {
        sub.dispose();
        resolve();
      }
    });
  });
  assert.deepEqual(delays, [20, 40, 80, 160], 'opening a stream alone does not reset the backoff');

  ads.hangUpStreams = false;
  const request = await ads.waitForRequest((r) => r.type_url === TYPE_URL.cluster);
  assert.ok(request);
  const n = ads.push(TYPE_URL.cluster, '1', [edsCluster('a')]);
  await ads.waitForRequest((r) => r.response_nonce === n);
  const next = once(c, 'disconnected');
  ads.shutdown();
  const [, retryInMs] = await next;
  assert.equal(retryInMs, 20, 'a response resets the backoff');
});

test('updateNode re-sends the node on every subscribed type', async () => {
  const ads = await server();
  const c = client(ads);
  c.watch(TYPE_URL.cluster, '*', { onChange: () => {} });
  c.watch(TYPE_URL.listener, 'l', { onChange: () => {} });
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener);
  const drained = buildNode({ id: 'test-node', service: 'productpage', address: '127.0.0.1', ports: [{ number: 9080 }], draining: true });
  c.updateNode({ metadata: drained.metadata });
  const isDraining = (r: { node?: object }): boolean => JSON.stringify(r.node ?? {}).includes('MESHLET_DRAINING');
  const withNode = await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener && isDraining(r));
  assert.deepEqual(withNode.resource_names, ['l']);
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.cluster && isDraining(r));
});

test('close() ends the stream gracefully; watch after close throws MESHLET_ERR_CLOSED', async () => {
  const ads = await server();
  const c = client(ads);
  c.watch(TYPE_URL.cluster, '*', { onChange: () => {} });
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.cluster);
  let disconnects = 0;
  c.on('disconnected', () => disconnects++);
  await c.close();
  assert.equal(ads.openStreams, 0);
  assert.equal(disconnects, 0, 'closing is not a disconnect');
  assert.throws(() => c.watch(TYPE_URL.cluster, '*', { onChange: () => {} }), (e: unknown) => isMeshError(e, 'MESHLET_ERR_CLOSED'));
});
