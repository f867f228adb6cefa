// Our XdsClient speaking incremental xDS to the meshlet control server (its default), SotW to a
// server without it, and both protocols on one server holding the same config.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createControlServer, type ControlServer, type PushEvent } from '../../src/control/index.js';
import type { ServiceEntry } from '../../src/config/types.js';
import type { Disposable } from '../../src/internal/events.js';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { FakeAds } from '../helpers/fake-ads.js';
import { host, serviceEntry, waitFor } from './control/fixtures.js';

const TYPES = [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint] as const;
const cla = (name: string) => `outbound|9080||${host(name)}`;
const withAddress = (name: string, address: string): ServiceEntry => {
  const se = serviceEntry(name);
  se.spec.endpoints = [{ address, ports: { http: 18080 } }];
  return se;
};

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
after(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function controlServer(...resources: ServiceEntry[]): Promise<ControlServer> {
  const server = await createControlServer({ xdsPort: 0, adminPort: null, stateDir: null, warmupMs: 0, debounceMs: 1 });
  cleanup.push(() => server.close());
  await server.store.apply(resources);
  await server.settled();
  return server;
}

/** A client that follows its listeners and clusters by name, as the mesh does (xds-feed.ts). */
function meshLikeClient(server: string | string[], id: string, delta = true): XdsClient {
  const c = new XdsClient({ server, node: buildNode({ id }), backoff: { initialMs: 20, maxMs: 200 }, delta });
  cleanup.push(() => c.close());
  const routes = new Map<string, Disposable>();
  const assignments = new Map<string, Disposable>();
  const follow = (subs: Map<string, Disposable>, want: Set<string>, typeUrl: typeof TYPE_URL.route | typeof TYPE_URL.endpoint) => {
    for (const [n, d] of subs) if (!want.has(n)) { d.dispose(); subs.delete(n); }
    for (const n of want) if (!subs.has(n)) subs.set(n, c.watch(typeUrl, n, { onChange() {} }));
  };
  const onListeners = () => follow(routes, new Set([...c.all(TYPE_URL.listener).values()].flatMap((l) => (l.routeConfigName ? [l.routeConfigName] : []))), TYPE_URL.route);
  const onClusters = () => follow(assignments, new Set([...c.all(TYPE_URL.cluster).values()].flatMap((x) => (x.type === 'EDS' ? [x.edsServiceName ?? x.name] : []))), TYPE_URL.endpoint);
  c.watch(TYPE_URL.listener, '*', { onChange: onListeners, onRemove: onListeners });
  c.watch(TYPE_URL.cluster, '*', { onChange: onClusters, onRemove: onClusters });
  return c;
}

/** The client's cached resource bytes per type and name (white-box, as the model fuzz does). */
function cached(c: XdsClient): Record<string, Record<string, string>> {
  const states = (c as unknown as { states: Map<string, { cache: Map<string, { bytes: Uint8Array }> }> }).states;
  const out: Record<string, Record<string, string>> = {};
  for (const t of TYPES) out[t] = Object.fromEntries([...states.get(t)!.cache].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, e]) => [n, Buffer.from(e.bytes).toString('base64')]));
  return out;
}

/** Resolves once every client holds every resource the server has for the subscriptions, and the server saw every answer. */
async function converged(server: ControlServer, clients: XdsClient[]): Promise<void> {
  await waitFor(async () => {
    await server.settled(20_000);
    const snap = server.snapshot();
    for (const c of clients) {
      for (const t of [TYPE_URL.listener, TYPE_URL.cluster]) if (c.all(t).size !== snap.resources(t).size) return undefined;
      for (const [n] of c.all(TYPE_URL.cluster)) if (!c.get(TYPE_URL.endpoint, n)) return undefined;
    }
    return true;
  }, 20_000, 'clients converged');
}

test('with delta on, against the meshlet server the client speaks delta; an endpoint change sends it one ClusterLoadAssignment', async () => {
  const server = await controlServer(serviceEntry('reviews'), serviceEntry('details'), serviceEntry('ratings'));
  const c = meshLikeClient(`127.0.0.1:${server.xdsPort}`, 'delta-1');
  await converged(server, [c]);
  assert.equal(c.protocol, 'delta');
  assert.equal(server.clients().find((s) => s.id === 'delta-1')?.delta, true);

  const pushes: PushEvent[] = [];
  const updates: Array<[string, string[]]> = [];
  const subs = [server.on('push', (e) => pushes.push(e)), c.on('update', (t, _v, names) => updates.push([t, names]))];
  cleanup.push(() => subs.forEach((s) => s.dispose()));
  const acked = new Promise<void>((resolve) => {
    const s = c.on('ack', (t) => { if (t === TYPE_URL.endpoint) { s.dispose(); resolve(); } });
  });
  await server.store.apply([withAddress('details', '10.5.5.5')]);
  await acked;
  await server.settled();
  assert.deepEqual(pushes.filter((p) => p.client === 'delta-1').map((p) => [p.typeUrl, p.resources]), [[TYPE_URL.endpoint, 1]], 'one response, one resource');
  assert.deepEqual(updates, [[TYPE_URL.endpoint, [cla('details')]]]);
  assert.equal(c.get(TYPE_URL.endpoint, cla('details'))?.localities[0]?.endpoints[0]?.address, '10.5.5.5');
});

test('SotW and delta clients on one server hold the same config through adds, updates and removals', async () => {
  const server = await controlServer(serviceEntry('reviews'), serviceEntry('details'));
  const sotw = meshLikeClient(`127.0.0.1:${server.xdsPort}`, 'same-sotw', false);
  const delta = meshLikeClient(`127.0.0.1:${server.xdsPort}`, 'same-delta');
  const steps: Array<() => Promise<unknown>> = [
    async () => server.store.apply([serviceEntry('ratings')]),
    async () => server.store.apply([withAddress('reviews', '10.6.6.6')]),
    async () => server.store.delete('ServiceEntry', 'default', 'details'),
    async () => server.store.apply([withAddress('ratings', '10.6.6.7'), serviceEntry('details')]),
  ];
  await converged(server, [sotw, delta]);
  assert.equal(sotw.protocol, 'sotw');
  assert.equal(delta.protocol, 'delta');
  assert.deepEqual(cached(delta), cached(sotw));
  for (const [i, step] of steps.entries()) {
    await step();
    await converged(server, [sotw, delta]);
    assert.deepEqual(cached(delta), cached(sotw), `after step ${i}`);
  }
  assert.equal(Object.keys(cached(delta)[TYPE_URL.cluster]!).length, 3);
});

test('a server without delta xDS (UNIMPLEMENTED) is spoken to in SotW at once, without a disconnect', async () => {
  const fake = await FakeAds.start();
  cleanup.push(() => fake.shutdown());
  const c = new XdsClient({ server: fake.address, node: buildNode({ id: 'fallback-1' }), delta: true });
  cleanup.push(() => c.close());
  const disconnects: string[] = [];
  c.on('disconnected', (err) => disconnects.push(err.message));
  const got = new Promise<string>((resolve) => c.watch(TYPE_URL.cluster, '*', { onChange: (name) => resolve(name) }));
  await fake.waitForRequest((r) => r.type_url === TYPE_URL.cluster);
  fake.push(TYPE_URL.cluster, 'v1', [{ name: 'c1', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }]);
  assert.equal(await got, 'c1');
  assert.equal(c.protocol, 'sotw');
  assert.deepEqual(disconnects, []);
  await fake.waitForRequest((r) => r.type_url === TYPE_URL.cluster && r.response_nonce !== '');
});

test('a reconnecting delta client lists what it holds (initial_resource_versions) and is sent nothing it has', async () => {
  const config = [serviceEntry('reviews'), serviceEntry('details')];
  const a = await controlServer(...config);
  const b = await controlServer(...config);
  const c = meshLikeClient([`127.0.0.1:${a.xdsPort}`, `127.0.0.1:${b.xdsPort}`], 'failover-1');
  await converged(a, [c]);
  const changes: string[] = [];
  c.on('update', (t, _v, names) => changes.push(`${t} ${names.join(',')}`));
  const pushes: PushEvent[] = [];
  const sub = b.on('push', (e) => pushes.push(e));
  cleanup.push(() => sub.dispose());
  await a.close();
  await converged(b, [c]);
  await waitFor(async () => (b.clients().find((s) => s.id === 'failover-1')?.types['EDS'] ? true : undefined), 20_000, 'EDS on the second server');
  await b.settled();
  const mine = pushes.filter((p) => p.client === 'failover-1');
  assert.ok(mine.length >= 2, `the second server answered each type: ${JSON.stringify(mine)}`);
  assert.deepEqual(mine.map((p) => p.resources).filter((n) => n > 0), [], 'no resource sent again');
  assert.deepEqual(changes, [], 'watchers saw no change');
});

test('without the option the client speaks delta (the default, as Istio\'s ISTIO_DELTA_XDS); delta: false speaks SotW', async () => {
  const server = await controlServer(serviceEntry('reviews'));
  for (const [id, delta] of [['default-1', undefined], ['sotw-1', false]] as const) {
    const c = new XdsClient({ server: `127.0.0.1:${server.xdsPort}`, node: buildNode({ id }), ...(delta === undefined ? {} : { delta }) });
    cleanup.push(() => c.close());
    await new Promise<void>((resolve) => c.watch(TYPE_URL.cluster, '*', { onChange: () => resolve() }));
    assert.equal(c.protocol, delta === false ? 'sotw' : 'delta', id);
    await waitFor(async () => (server.clients().some((s) => s.id === id) ? true : undefined), 10_000, 'the stream');
    assert.equal(server.clients().find((s) => s.id === id)!.delta, delta === false ? undefined : true, id);
  }
});
