// Incremental ADS (DeltaAggregatedResources) on the real control server, seen through a raw
// gRPC client with protobufjs codecs: what goes over the wire per change.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createControlServer, type ControlServer, type NackEvent, type PushEvent } from '../../../src/control/index.js';
import type { ServiceEntry } from '../../../src/config/types.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { RawDeltaAds, type RawDeltaResponse } from '../../helpers/raw-delta-ads.js';
import { RawAds } from '../../helpers/raw-ads.js';
import { host, serviceEntry, waitFor } from './fixtures.js';

const cla = (name: string) => `outbound|9080||${host(name)}`;
const withAddress = (name: string, address: string): ServiceEntry => {
  const se = serviceEntry(name);
  se.spec.endpoints = [{ address, ports: { http: 18080 } }];
  return se;
};

describe('ADS server: incremental xDS (DeltaAggregatedResources)', () => {
  let server: ControlServer;
  const streams: Array<{ close(): void }> = [];
  const open = (id: string, node?: Record<string, unknown>) => {
    const s = new RawDeltaAds(`127.0.0.1:${server.xdsPort}`, node ?? { id });
    streams.push(s);
    return s;
  };
  /** Applies a config change (the server rebuilds and pushes after its debounce). */
  const change = async (...resources: ServiceEntry[]) => {
    await server.store.apply(resources);
  };

  before(async () => {
    server = await createControlServer({ xdsPort: 0, adminPort: null, stateDir: null, warmupMs: 0, debounceMs: 1, adsLimits: { maxResourceNames: 50 } });
    await server.store.apply([serviceEntry('reviews'), serviceEntry('details'), serviceEntry('ratings')]);
    await server.settled();
  });

  // Each test's streams end with it: a later change must not wait for their answers.
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await waitFor(async () => server.clients().length === 0 || undefined, 10_000, 'every stream closed');
  });

  after(async () => {
    await server.close();
  });

  test('a wildcard CDS subscription gets every cluster once, with per-resource content versions', async () => {
    const ads = open('wild-1');
    ads.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'] });
    const res = await ads.next(TYPE_URL.cluster);
    const served = server.snapshot().resources(TYPE_URL.cluster);
    assert.deepEqual(res.resources.map((r) => r.name), [...served.keys()].sort());
    for (const r of res.resources) assert.equal(r.version, served.get(r.name)!.version);
    assert.deepEqual(res.removed_resources, []);
    assert.equal(res.system_version_info, server.snapshot().typeVersion(TYPE_URL.cluster));
    assert.equal(res.control_plane?.identifier, 'meshlet');
    ads.ack(res);
    await server.settled();
    const status = server.clients().find((c) => c.id === 'wild-1')!;
    assert.equal(status.delta, true);
    assert.deepEqual(status.types['CDS'], { subscribed: '*', pending: false, sentVersion: res.system_version_info, ackedVersion: res.system_version_info, lastNonce: res.nonce });
  });

  test('an empty first LDS request is the legacy wildcard; an empty first EDS request subscribes to nothing', async () => {
    const ads = open('legacy-1');
    ads.send({ typeUrl: TYPE_URL.listener });
    const lds = await ads.next(TYPE_URL.listener);
    assert.equal(lds.resources.length, server.snapshot().resources(TYPE_URL.listener).size);
    ads.ack(lds);
    ads.send({ typeUrl: TYPE_URL.endpoint });
    const eds = await ads.next(TYPE_URL.endpoint);
    assert.deepEqual(eds.resources, [], 'the first request of a type is always answered, here with nothing');
    ads.ack(eds);
    await server.settled();
    assert.deepEqual(server.clients().find((c) => c.id === 'legacy-1')!.types['EDS']!.subscribed, []);
  });

  test('an endpoint change to one service sends its subscribers that one ClusterLoadAssignment, nothing else', async () => {
    const ads = open('eds-1');
    const sotw = new RawAds(`127.0.0.1:${server.xdsPort}`, { id: 'sotw-eds-1' });
    streams.push(sotw);
    const names = [cla('reviews'), cla('details'), cla('ratings')];
    for (const t of [TYPE_URL.cluster, TYPE_URL.listener]) {
      ads.send({ typeUrl: t, subscribe: ['*'] });
      ads.ack(await ads.next(t));
    }
    ads.send({ typeUrl: TYPE_URL.endpoint, subscribe: names });
    const first = await ads.next(TYPE_URL.endpoint);
    assert.deepEqual(first.resources.map((r) => r.name), [...names].sort());
    ads.ack(first);
    sotw.send({ typeUrl: TYPE_URL.endpoint, resourceNames: names });
    sotw.ack(await sotw.next(TYPE_URL.endpoint));
    await server.settled();

    const mark = ads.responses.length;
    await change(withAddress('details', '10.9.9.9'));
    const eds = await ads.next(TYPE_URL.endpoint);
    assert.deepEqual(eds.resources.map((r) => r.name), [cla('details')]);
    assert.deepEqual(eds.removed_resources, []);
    assert.match(JSON.stringify(eds.decoded[0]), /10\.9\.9\.9/);
    const sotwEds = await sotw.next(TYPE_URL.endpoint);
    assert.equal(sotwEds.names.length, 3, 'a SotW subscriber of the same names gets all three');
    assert.ok(eds.bytes < sotwEds.resources.reduce((n, r) => n + r.value.length, 0), `delta ${eds.bytes} B is less than the SotW resources alone`);
    ads.ack(eds);
    sotw.ack(sotwEds);
    await server.settled();
    // Responses are ordered per stream: a change that does touch LDS shows whether the endpoint
    // change produced any other response before it.
    await change(serviceEntry('extra'));
    const lds = await ads.next(TYPE_URL.listener);
    assert.ok(lds.resources.length > 0 && lds.resources.every((r) => r.name.includes('extra')), `only the new listeners: ${lds.resources.map((r) => r.name)}`);
    const between = ads.responses.slice(mark, ads.responses.indexOf(lds));
    assert.deepEqual(between.map((r) => r.type_url).filter((t) => t !== TYPE_URL.cluster), [TYPE_URL.endpoint], 'the endpoint change sent one EDS response and nothing else');
    ads.ack(lds);
    for (const r of ads.pending()) ads.ack(r);
  });

  test('subscribe adds a name (its resource only), unsubscribe drops it (its changes stop)', async () => {
    const ads = open('sub-1');
    ads.send({ typeUrl: TYPE_URL.endpoint, subscribe: [cla('reviews')] });
    const a = await ads.next(TYPE_URL.endpoint);
    assert.deepEqual(a.resources.map((r) => r.name), [cla('reviews')]);
    ads.ack(a);
    ads.send({ typeUrl: TYPE_URL.endpoint, subscribe: [cla('ratings')] });
    const b = await ads.next(TYPE_URL.endpoint);
    assert.deepEqual(b.resources.map((r) => r.name), [cla('ratings')], 'only the newly subscribed name');
    ads.ack(b);
    ads.send({ typeUrl: TYPE_URL.endpoint, unsubscribe: [cla('reviews')] });
    await server.settled();
    assert.deepEqual(server.clients().find((c) => c.id === 'sub-1')!.types['EDS']!.subscribed, [cla('ratings')]);
    await change(withAddress('reviews', '10.1.1.1'), withAddress('ratings', '10.2.2.2'));
    const c = await ads.next(TYPE_URL.endpoint);
    assert.deepEqual(c.resources.map((r) => r.name), [cla('ratings')], 'the unsubscribed name is not sent');
    ads.ack(c);
  });

  test('a named subscription to a resource that does not exist is answered in removed_resources, once', async () => {
    const ads = open('absent-1');
    ads.send({ typeUrl: TYPE_URL.cluster, subscribe: ['outbound|1|nope|nowhere'] });
    const res = await ads.next(TYPE_URL.cluster);
    assert.deepEqual(res.resources, []);
    assert.deepEqual(res.removed_resources, ['outbound|1|nope|nowhere']);
    ads.ack(res);
    ads.send({ typeUrl: TYPE_URL.cluster, subscribe: ['outbound|2|nope|nowhere'] });
    const next = await ads.next(TYPE_URL.cluster);
    assert.deepEqual(next.removed_resources, ['outbound|2|nope|nowhere'], 'the first absent name is not told again');
    ads.ack(next);
    await server.settled();
  });

  test('removal: a deleted service is sent as removed_resources to wildcard subscribers', async () => {
    await change(serviceEntry('doomed'));
    const ads = open('rm-1');
    ads.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'] });
    const first = await ads.next(TYPE_URL.cluster);
    assert.ok(first.resources.some((r) => r.name === cla('doomed')));
    ads.ack(first);
    await server.settled();
    await server.store.delete('ServiceEntry', 'default', 'doomed');
    const res = await ads.next(TYPE_URL.cluster);
    assert.deepEqual(res.resources, []);
    assert.deepEqual(res.removed_resources, [cla('doomed')]);
    ads.ack(res);
    await server.settled();
  });

  test('reconnect with initial_resource_versions: only what changed or is gone is sent', async () => {
    const served = server.snapshot().resources(TYPE_URL.cluster);
    const initial: Record<string, string> = {};
    for (const [n, e] of served) initial[n] = e.version;
    initial[cla('reviews')] = 'stale-version';
    initial['outbound|9080||gone.default.svc.cluster.local'] = 'whatever';
    const ads = open('reconnect-1');
    ads.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'], initialVersions: initial });
    const res = await ads.next(TYPE_URL.cluster);
    assert.deepEqual(res.resources.map((r) => r.name), [cla('reviews')]);
    assert.deepEqual(res.removed_resources, ['outbound|9080||gone.default.svc.cluster.local']);
    ads.ack(res);
    await server.settled();
  });

  test('a NACK is recorded and reported; the rejected version is not re-sent, the next change is', async () => {
    const nacks: NackEvent[] = [];
    const sub = server.on('nack', (e) => nacks.push(e));
    try {
      const ads = open('nack-1');
      ads.send({ typeUrl: TYPE_URL.endpoint, subscribe: [cla('reviews'), cla('details')] });
      const good = await ads.next(TYPE_URL.endpoint);
      ads.ack(good);
      await server.settled();
      await change(withAddress('reviews', '10.3.3.3'));
      const bad = await ads.next(TYPE_URL.endpoint);
      assert.deepEqual(bad.resources.map((r) => r.name), [cla('reviews')]);
      ads.nack(bad, 'reviews: no thanks');
      await server.settled();
      const status = server.clients().find((c) => c.id === 'nack-1')!.types['EDS']!;
      assert.equal(status.nack?.message, 'reviews: no thanks');
      assert.equal(status.ackedVersion, good.system_version_info, 'the last good version stays the acked one');
      assert.deepEqual(nacks.map((n) => [n.client, n.typeUrl, n.nonce]), [['nack-1', TYPE_URL.endpoint, bad.nonce]]);
      await change(withAddress('details', '10.4.4.4'));
      const next = await ads.next(TYPE_URL.endpoint);
      assert.deepEqual(next.resources.map((r) => r.name), [cla('details')], 'the NACKed reviews version is not re-sent');
      ads.ack(next);
      await server.settled();
      assert.equal(server.clients().find((c) => c.id === 'nack-1')!.types['EDS']!.nack, undefined, 'an ACK clears the NACK');
    } finally {
      sub.dispose();
    }
  });

  test('the first request announces the node as on SotW', async () => {
    const node = buildNode({ id: 'ratings-delta-1', service: 'ratings', namespace: 'default', address: '10.7.7.7', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] });
    const ads = open('ratings-delta-1', node as unknown as Record<string, unknown>);
    ads.send({ typeUrl: TYPE_URL.endpoint, subscribe: [cla('ratings')] });
    ads.ack(await ads.next(TYPE_URL.endpoint));
    await waitFor(async () => server.registry.list().some((a) => a.nodeId === 'ratings-delta-1' && a.address === '10.7.7.7') || undefined, 10_000, 'the announced endpoint');
    assert.deepEqual(server.clients().find((c) => c.id === 'ratings-delta-1')!.announced, { service: 'ratings', namespace: 'default', address: '10.7.7.7', ports: [9080] });
  });

  test('subscriptions are bounded per type across requests (RESOURCE_EXHAUSTED, as SotW limits)', async () => {
    const ads = open('greedy-1');
    for (let i = 0; i < 3; i++) ads.send({ typeUrl: TYPE_URL.endpoint, subscribe: Array.from({ length: 20 }, (_, k) => `n-${i}-${k}`) });
    await assert.rejects(async () => {
      for (;;) await ads.next(TYPE_URL.endpoint);
    }, (err: Error & { code?: number }) => err.code === grpc.status.RESOURCE_EXHAUSTED && /limit is 50/.test(err.message));
  });

  test('the same change costs one encode: wildcard streams in the same state share the response bytes', async () => {
    const pushes: PushEvent[] = [];
    const a = open('share-a');
    const b = open('share-b');
    for (const s of [a, b]) {
      s.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'] });
      s.ack(await s.next(TYPE_URL.cluster));
    }
    await server.settled();
    const sub = server.on('push', (e) => pushes.push(e));
    try {
      await server.store.apply([serviceEntry('shared')]);
      const [ra, rb] = await Promise.all([a.next(TYPE_URL.cluster), b.next(TYPE_URL.cluster)]);
      const strip = (r: RawDeltaResponse) => ({ ...r, nonce: '' });
      assert.deepEqual(strip(ra), strip(rb));
      assert.deepEqual(ra.resources.map((r) => r.name), [cla('shared')]);
      a.ack(ra);
      b.ack(rb);
      await server.settled();
      assert.deepEqual(pushes.filter((p) => p.client.startsWith('share-') && p.typeUrl === TYPE_URL.cluster).map((p) => p.resources), [1, 1]);
    } finally {
      sub.dispose();
    }
  });
});
