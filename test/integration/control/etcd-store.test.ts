// Two control servers on one real etcd: config written through either is served by both with the
// same versions, announcements made through one are endpoints on the other, both sign with the
// one CA sealed in etcd under the store key, and a wrong store key is a coded error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/index.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { connectEtcd, parseEtcdUrl } from '../../../src/control/store/etcd-client.js';
import { isMeshError } from '../../../src/errors.js';
import { XdsClient } from '../../../src/xds/ads-client.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { EtcdCluster, haveEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

const SE = (name: string, address: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.example.com]
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: ${address} }]
`;

let etcd: EtcdCluster;
let dir: string;
let keyFile: string;
const servers: ControlServer[] = [];

before(async () => {
  assert.ok(haveEtcd(), 'these tests need /usr/bin/etcd (Debian etcd-server) or MESHLET_ETCD_BIN');
  etcd = await EtcdCluster.start(1);
  dir = await mkdtemp(join(tmpdir(), 'meshlet-etcd-store-'));
  keyFile = join(dir, 'store.key');
  await writeFile(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  for (const name of ['a', 'b']) {
    servers.push(await createControlServer({ store: `${etcd.url}/t1`, xdsPort: 0, adminPort: null, caDir: join(dir, `ca-${name}`), securePort: 0, storeKeyFile: keyFile, warmupMs: 0 }));
  }
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('config applied through one server is served by both, with equal versions', async () => {
  const [a, b] = servers as [ControlServer, ControlServer];
  await a.store.apply(parseConfig(SE('one', '10.1.0.1'), 'one.yaml').resources, 'admin');
  await waitFor(() => b.store.list().some((r) => r.metadata.name === 'one'), 30_000, 'b sees the ServiceEntry');
  // Both rebuild on their own after the store event: equal versions alone can be the two
  // snapshots from before the ServiceEntry, so wait for the cluster on both, then compare.
  const hasCluster = (s: ControlServer): boolean => [...s.snapshot().resources(TYPE_URL.cluster).keys()].some((n) => n.includes('one.example.com'));
  await waitFor(() => hasCluster(a) && hasCluster(b), 30_000, 'both serve the ServiceEntry cluster');
  await waitFor(() => a.snapshot().version === b.snapshot().version, 30_000, 'equal snapshot versions');

  assert.equal(await b.store.delete('ServiceEntry', 'default', 'one'), true);
  await waitFor(() => !a.store.list().some((r) => r.metadata.name === 'one'), 30_000, 'a drops the deleted ServiceEntry');
  await waitFor(() => a.snapshot().version === b.snapshot().version, 30_000, 'equal versions after the delete');
  assert.equal(await b.store.delete('ServiceEntry', 'default', 'one'), false);
});

test('an endpoint announced through one server is an endpoint on the other', async () => {
  const [a, b] = servers as [ControlServer, ControlServer];
  const client = new XdsClient({
    server: `127.0.0.1:${a.xdsPort}`,
    node: buildNode({ id: 'ratings-1.default', service: 'ratings', namespace: 'default', address: '10.2.0.7', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] }),
    backoff: { initialMs: 50, maxMs: 500 },
  });
  try {
    client.watch(TYPE_URL.cluster, '*', { onChange() {} });
    const host = 'ratings.default.svc.cluster.local';
    await waitFor(() => b.services().find((s) => s.hostname === host)?.endpoints.some((e) => e.address === '10.2.0.7'), 30_000, 'b serves the endpoint announced through a');
    await waitFor(() => a.snapshot().version === b.snapshot().version, 30_000, 'equal versions with the announcement');
  } finally {
    await client.close();
  }
});

test("a dead server's announcements expire with its lease", async () => {
  const [, b] = servers as [ControlServer, ControlServer];
  const c = await createControlServer({ store: `${etcd.url}/t1`, xdsPort: 0, adminPort: null, warmupMs: 0, leaseTtlSeconds: 2, caDir: join(dir, 'ca-c'), storeKeyFile: keyFile });
  const client = new XdsClient({
    server: `127.0.0.1:${c.xdsPort}`,
    node: buildNode({ id: 'orphan-1.default', service: 'orphan', namespace: 'default', address: '10.2.0.8', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] }),
    backoff: { initialMs: 50, maxMs: 500 },
  });
  const host = 'orphan.default.svc.cluster.local';
  try {
    client.watch(TYPE_URL.cluster, '*', { onChange() {} });
    await waitFor(() => b.services().some((s) => s.hostname === host), 30_000, 'b serves the endpoint announced through c');
  } finally {
    // The server goes first (its lease stops being renewed, nothing withdraws), then its client.
    await c.close();
    await client.close();
  }
  await waitFor(() => !b.services().some((s) => s.hostname === host), 40_000, "the endpoint goes with c's lease");
});

test('both servers sign with the one CA, sealed in etcd', async () => {
  const [a, b] = servers as [ControlServer, ControlServer];
  assert.ok(a.ca && b.ca);
  assert.equal(a.ca.rootFingerprint, b.ca.rootFingerprint);
  const conn = await connectEtcd(parseEtcdUrl(`${etcd.url}/t1`));
  try {
    const { entries } = await conn.range('/t1/ca/');
    assert.ok(entries.some((e) => e.key.endsWith('root-key.pem')));
    for (const e of entries) assert.ok(!e.value.toString().includes('PRIVATE KEY'), `${e.key} is sealed`);
  } finally {
    conn.close();
  }
});

test('a wrong store key is MESHLET_ERR_STORE_KEY, and nothing keeps running', async () => {
  const wrong = join(dir, 'wrong.key');
  await writeFile(wrong, randomBytes(32).toString('base64'));
  await assert.rejects(
    createControlServer({ store: `${etcd.url}/t1`, xdsPort: 0, adminPort: null, caDir: join(dir, 'ca-c'), storeKeyFile: wrong, warmupMs: 0 }),
    (err: unknown) => isMeshError(err) && err.code === 'MESHLET_ERR_STORE_KEY',
  );
  await assert.rejects(createControlServer({ store: 'etcd://not a url' as `etcd://${string}`, xdsPort: 0, adminPort: null }), (err: unknown) => isMeshError(err) && err.code === 'MESHLET_ERR_USAGE');
});
