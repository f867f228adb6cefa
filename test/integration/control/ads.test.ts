import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createControlServer, type ClientStatus, type ControlServer, type NackEvent, type ServiceModel } from '../../../src/control/index.js';
import { isMeshError } from '../../../src/errors.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { RawAds } from '../../helpers/raw-ads.js';
import { getJson, host, serviceEntry, waitFor } from './fixtures.js';

const REVIEWS_LISTENER = `${host('reviews')}:9080`;

describe('ADS server (SotW) with a raw gRPC client', () => {
  let server: ControlServer;
  let admin: string;
  const streams: RawAds[] = [];
  const open = (node?: Record<string, unknown>) => {
    const s = new RawAds(`127.0.0.1:${server.xdsPort}`, node ?? { id: `test-${streams.length}` });
    streams.push(s);
    return s;
  };

  before(async () => {
    server = await createControlServer({ xdsPort: 0, adminPort: 0, withdrawGraceMs: 150, debounceMs: 5 });
    admin = `http://127.0.0.1:${server.adminPort}`;
    await server.store.apply([serviceEntry('reviews'), serviceEntry('details')]);
    server.rebuild();
  });

  after(async () => {
    for (const s of streams) s.close();
    await server.close();
  });

  test('a named LDS subscription gets only that listener', async () => {
    const ads = open();
    ads.send({ typeUrl: TYPE_URL.listener, resourceNames: [REVIEWS_LISTENER, 'nope:1'] });
    const res = await ads.next(TYPE_URL.listener);
    assert.deepEqual(res.names, [REVIEWS_LISTENER]);
    assert.equal(res.control_plane?.identifier, 'meshlet');
    ads.ack(res);
    assert.equal(await ads.quiet(TYPE_URL.listener, 150), true, 'an ACK is not answered');
  });

  test('a wildcard LDS subscription gets every listener', async () => {
    const ads = open();
    ads.send({ typeUrl: TYPE_URL.listener });
    const res = await ads.next(TYPE_URL.listener);
    assert.ok(res.names.includes(REVIEWS_LISTENER));
    assert.ok(res.names.includes(`${host('details')}:9080`));
    assert.equal(res.names.length, server.snapshot().resources(TYPE_URL.listener).size);
  });

  test('a config change pushes a new CDS version within a second', async () => {
    const ads = open();
    ads.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['*'] });
    const first = await ads.next(TYPE_URL.cluster);
    ads.ack(first);
    const started = Date.now();
    await server.store.apply([serviceEntry('ratings')]);
    const pushed = await ads.next(TYPE_URL.cluster, 1000);
    assert.ok(Date.now() - started < 1000);
    assert.notEqual(pushed.version_info, first.version_info);
    assert.ok(pushed.names.includes(`outbound|9080||${host('ratings')}`));
    assert.ok(!first.names.includes(`outbound|9080||${host('ratings')}`));
  });

  test('a NACK is visible in /status and the rejected version is not resent', async () => {
    const nacks: NackEvent[] = [];
    const sub = server.on('nack', (e) => nacks.push(e));
    const ads = open({ id: 'nacker' });
    ads.send({ typeUrl: TYPE_URL.listener, resourceNames: [REVIEWS_LISTENER] });
    const res = await ads.next(TYPE_URL.listener);
    ads.nack(res, 'listener reviews: unsupported filter');
    const status = await waitFor(async () => {
      const { body } = await getJson<{ clients: ClientStatus[] }>(admin, '/status');
      const lds = body.clients.find((c) => c.id === 'nacker')?.types['LDS'];
      return lds?.nack ? lds : undefined;
    }, 2000, 'NACK in /status');
    assert.equal(status.nack?.message, 'listener reviews: unsupported filter');
    assert.equal(status.nack?.version, res.version_info);
    assert.equal(status.pending, false);
    assert.equal(nacks[0]?.client, 'nacker');
    // A rebuild that leaves this listener alone must not resend it.
    await server.store.apply([serviceEntry('unrelated')]);
    assert.equal(await ads.quiet(TYPE_URL.listener, 200), true);
    sub.dispose();
  });

  test('an announcing node is registered, served in EDS, and withdrawn after the grace', async () => {
    const cluster = `outbound|9080||${host('ratings')}`;
    const watcher = open();
    watcher.send({ typeUrl: TYPE_URL.endpoint, resourceNames: [cluster] });
    const initial = await watcher.next(TYPE_URL.endpoint);
    watcher.ack(initial);
    const node = buildNode({ id: 'ratings-1', service: 'ratings', namespace: 'default', address: '10.1.2.3', labels: { version: 'v1' }, ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] });
    const announcer = open(node as unknown as Record<string, unknown>);
    announcer.send({ typeUrl: TYPE_URL.listener, resourceNames: [] });
    await announcer.next(TYPE_URL.listener);
    const registry = await waitFor(async () => {
      const { body } = await getJson<ServiceModel[]>(admin, '/registry');
      const svc = body.find((s) => s.hostname === host('ratings'));
      return svc?.endpoints.some((e) => e.address === '10.1.2.3') ? svc : undefined;
    }, 2000, 'announced endpoint in /registry');
    assert.ok(registry);
    const withEndpoint = await watcher.next(TYPE_URL.endpoint, 1000);
    assert.match(JSON.stringify(withEndpoint.decoded), /10\.1\.2\.3/);
    watcher.ack(withEndpoint);
    const status = server.clients().find((c) => c.id === 'ratings-1');
    assert.deepEqual(status?.announced, { service: 'ratings', namespace: 'default', address: '10.1.2.3', ports: [9080] });

    const closedAt = Date.now();
    announcer.close();
    const withdrawn = await watcher.next(TYPE_URL.endpoint, 2000);
    assert.doesNotMatch(JSON.stringify(withdrawn.decoded), /10\.1\.2\.3/);
    assert.ok(Date.now() - closedAt >= 100, 'removed only after the grace period');
    assert.equal(server.registry.list().some((a) => a.nodeId === 'ratings-1'), false);
  });

  test('an undecodable request fails that stream only', async () => {
    const client = new grpc.Client(`127.0.0.1:${server.xdsPort}`, grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', (b: Buffer) => b, (b: Buffer) => b);
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        call.on('error', resolve);
        call.on('data', () => {});
        call.write(Buffer.from([0xff, 0xff, 0xff, 0x01]));
      });
      assert.notEqual(err.code, grpc.status.OK);
      // The server still serves others.
      const ads = open();
      ads.send({ typeUrl: TYPE_URL.cluster });
      assert.ok((await ads.next(TYPE_URL.cluster)).names.length > 0);
    } finally {
      client.close();
    }
  });

  test('a taken xDS or admin port fails with MESHLET_ERR_PORT_IN_USE', async () => {
    await assert.rejects(createControlServer({ xdsPort: server.xdsPort, adminPort: null }), (err: unknown) => {
      assert.ok(isMeshError(err, 'MESHLET_ERR_PORT_IN_USE'));
      assert.match((err as Error).message, new RegExp(`^xDS port ${server.xdsPort} is already in use`));
      return true;
    });
    await assert.rejects(createControlServer({ xdsPort: 0, adminPort: server.adminPort! }), (err: unknown) => {
      assert.ok(isMeshError(err, 'MESHLET_ERR_PORT_IN_USE'));
      assert.match((err as Error).message, /^admin port \d+ is already in use/);
      return true;
    });
  });
});
