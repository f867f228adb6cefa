// Client failover across control servers sharing one etcd (gRFC A71 as the reference): the
// client moves to the next server when its stream fails, keeps its cache, gets changes made
// meanwhile, its announcement moves with it, and it returns to the primary once that is back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { isMeshError } from '../../src/errors.js';
import { controlPlanes } from '../../src/mesh/control-plane.js';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { EtcdCluster, haveEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

const SE = (name: string) => parseConfig(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.example.com]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.3.0.1 }]
`, `${name}.yaml`).resources;

let etcd: EtcdCluster;
const open: ControlServer[] = [];
const start = async (xdsPort = 0): Promise<ControlServer> => {
  const s = await createControlServer({ store: `${etcd.url}/failover`, xdsPort, adminPort: null, warmupMs: 0, withdrawGraceMs: 200 });
  open.push(s);
  return s;
};
const hasCluster = (c: XdsClient, name: string) => [...c.all(TYPE_URL.cluster).keys()].some((n) => n.includes(`${name}.example.com`));

before(async () => {
  assert.ok(haveEtcd(), 'needs /usr/bin/etcd');
  etcd = await EtcdCluster.start(1);
});
after(async () => {
  await Promise.all(open.map((s) => s.close()));
  await etcd?.stop();
});

test('controlPlanes: lists and comma lists, each address checked', () => {
  assert.deepEqual(controlPlanes('a:15010, b:15010'), ['a:15010', 'b:15010']);
  assert.deepEqual(controlPlanes(['a:1', 'b:2']), ['a:1', 'b:2']);
  assert.deepEqual(controlPlanes('ipv4:10.0.0.1:1,10.0.0.2:1'), ['ipv4:10.0.0.1:1,10.0.0.2:1']);
  for (const bad of [[], ['a:1', 'a:1'], 'a:1,http://b:2', Array.from({ length: 17 }, (_, i) => `h:${i + 1}`)]) {
    assert.throws(() => controlPlanes(bad as string[]), (e: unknown) => isMeshError(e) && e.code === 'MESHLET_ERR_CONFIG', JSON.stringify(bad));
  }
});

test('fails over to the next server, keeps its cache, follows changes, returns to the primary', async () => {
  let a = await start();
  const b = await start();
  const primary = `127.0.0.1:${a.xdsPort}`;
  const client = new XdsClient({
    server: [primary, `127.0.0.1:${b.xdsPort}`],
    node: buildNode({ id: 'details-1.default', service: 'details', namespace: 'default', address: '10.3.0.9', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] }),
    backoff: { initialMs: 50, maxMs: 400 },
  });
  const removed: string[] = [];
  client.watch(TYPE_URL.cluster, '*', { onChange() {}, onRemove: (n) => removed.push(n) });
  const host = 'details.default.svc.cluster.local';
  try {
    await a.store.apply(SE('first'), 'admin');
    await waitFor(() => hasCluster(client, 'first'), 30_000, 'config through the primary');
    await waitFor(() => b.services().some((s) => s.hostname === host), 30_000, 'the announcement is on b too');

    const port = a.xdsPort;
    await a.close();
    await waitFor(() => client.server === `127.0.0.1:${b.xdsPort}` && client.connected, 30_000, 'moved to b');
    assert.ok(hasCluster(client, 'first'), 'the cache is kept');
    await b.store.apply(SE('second'), 'admin');
    await waitFor(() => hasCluster(client, 'second'), 30_000, 'a change made through b reaches the client');
    // a's withdrawal grace is over long before this; b has the node as its own.
    await waitFor(() => b.registry.list().some((x) => x.nodeId === 'details-1.default'), 30_000, 'the announcement moved to b');
    assert.deepEqual(removed, []);

    a = await start(port);
    await waitFor(() => client.server === primary && client.connected, 30_000, 'back on the primary');
    await waitFor(() => a.registry.list().some((x) => x.nodeId === 'details-1.default'), 30_000, 'announced on the primary again');
    assert.ok(hasCluster(client, 'second'));
    assert.deepEqual(removed, []);
  } finally {
    await client.close();
  }
});
