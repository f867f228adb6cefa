import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic } from '../../../src/config/types.js';
import { createControlServer, FileStore, type ControlServer } from '../../../src/control/index.js';
import { isMeshError } from '../../../src/errors.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { RawAds } from '../../helpers/raw-ads.js';
import { getJson, host, serviceEntry, waitFor } from './fixtures.js';

const se = (name: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 9080
    name: http
    protocol: HTTP
  endpoints:
  - address: 127.0.0.1
`;

const cluster = (name: string) => `outbound|9080||${host(name)}`;

describe('FileStore behind the control server', () => {
  let dir: string;
  let server: ControlServer;
  let ads: RawAds;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshlet-filestore-'));
    await writeFile(join(dir, 'reviews.yaml'), se('reviews'));
    server = await createControlServer({ xdsPort: 0, adminPort: 0, configDir: dir, debounceMs: 5 });
    base = `http://127.0.0.1:${server.adminPort}`;
    ads = new RawAds(`127.0.0.1:${server.xdsPort}`, { id: 'file-watcher' });
  });

  after(async () => {
    ads?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('initial files are served', async () => {
    ads.send({ typeUrl: TYPE_URL.cluster, resourceNames: ['*'] });
    const res = await ads.next(TYPE_URL.cluster);
    assert.ok(res.names.includes(cluster('reviews')));
    ads.ack(res);
  });

  test('a new file (in a subdirectory) is pushed within a second', async () => {
    await mkdir(join(dir, 'more'));
    const started = Date.now();
    await writeFile(join(dir, 'more', 'ratings.yml'), se('ratings'));
    const res = await waitFor(async () => {
      const r = await ads.next(TYPE_URL.cluster, 1500);
      return r.names.includes(cluster('ratings')) ? r : undefined;
    }, 1500, 'ratings cluster');
    assert.ok(Date.now() - started < 1200, `took ${Date.now() - started} ms`);
    ads.ack(res);
  });

  test('an invalid file keeps its last good resources and /errors shows file:line', async () => {
    const file = join(dir, 'reviews.yaml');
    const reported: Diagnostic[] = [];
    const sub = server.on('config-error', (d) => reported.push(d));
    await writeFile(file, se('reviews').replace('number: 9080', 'number: not-a-port'));
    const errors = await waitFor(async () => {
      const { body } = await getJson<Diagnostic[]>(base, '/errors');
      const mine = body.filter((d) => d.file === file && d.severity === 'error');
      return mine.length > 0 ? mine : undefined;
    }, 2000, 'error for reviews.yaml');
    assert.ok((errors[0]!.line ?? 0) >= 1);
    await waitFor(() => reported.some((d) => d.file === file), 1000, 'config-error event');
    sub.dispose();
    assert.ok(server.store.list().some((r) => r.metadata.name === 'reviews'), 'last good resources kept');
    assert.equal(await ads.quiet(TYPE_URL.cluster, 200), true, 'nothing changed for clients');
    // Fixing the file clears the error.
    await writeFile(file, se('reviews'));
    await waitFor(() => server.store.errors().length === 0, 2000, 'error cleared');
  });

  test('a deleted file removes its resources', async () => {
    await unlink(join(dir, 'more', 'ratings.yml'));
    const res = await waitFor(async () => {
      const r = await ads.next(TYPE_URL.cluster, 1500);
      return r.names.includes(cluster('ratings')) ? undefined : r;
    }, 1500, 'ratings removed');
    assert.ok(res.names.includes(cluster('reviews')));
    ads.ack(res);
  });

  test('apply() keeps resources in memory beside the files; file resources cannot be deleted', async () => {
    await server.store.apply([serviceEntry('details')], 'test');
    assert.ok(server.store.list().some((r) => r.metadata.name === 'details'));
    await assert.rejects(server.store.delete('ServiceEntry', 'default', 'reviews'), (err: unknown) => isMeshError(err, 'MESHLET_ERR_STORE'));
    assert.equal(await server.store.delete('ServiceEntry', 'default', 'details'), true);
    assert.equal(await server.store.delete('ServiceEntry', 'default', 'details'), false);
  });
});

describe('FileStore on its own', () => {
  test('a missing directory fails start() with MESHLET_ERR_FILE_READ', async () => {
    const store = new FileStore(join(tmpdir(), 'meshlet-does-not-exist-' + process.pid));
    await assert.rejects(store.start(), (err: unknown) => isMeshError(err, 'MESHLET_ERR_FILE_READ'));
    await store.close();
  });

  test('the same resource in two files: the first path wins, the other is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-dup-'));
    try {
      await writeFile(join(dir, 'a.yaml'), se('reviews'));
      await writeFile(join(dir, 'b.yaml'), se('reviews').replace('127.0.0.1', '127.0.0.2'));
      const store = new FileStore(dir);
      await store.start();
      const [only] = store.list();
      assert.equal(store.list().length, 1);
      assert.equal((only!.spec as { endpoints: Array<{ address: string }> }).endpoints[0]!.address, '127.0.0.1');
      const dup = store.errors().find((d) => d.code === 'MESHLET_ERR_CONFIG_DUPLICATE');
      assert.equal(dup?.file, join(dir, 'b.yaml'));
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
