import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IstioResource } from '../../../src/config/types.js';
import { SnapshotBuilder } from '../../../src/control/builder.js';
import type { Announcement } from '../../../src/control/model.js';
import { Registry } from '../../../src/control/registry/announcements.js';
import { mergeAnnouncements, servicesFromConfig } from '../../../src/control/services.js';
import { Snapshot } from '../../../src/control/snapshot.js';
import { MemoryStore } from '../../../src/control/store/memory.js';
import { translate } from '../../../src/control/translate/index.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { RandomConfig } from './random-config.js';
import { translatorHarness, type TranslatorHarness } from './translator-harness.js';

/** What a full rebuild from scratch serves for these inputs. */
function fullSnapshot(resources: readonly IstioResource[], announcements: readonly Announcement[]): Snapshot {
  const services = mergeAnnouncements(servicesFromConfig(resources), announcements);
  return Snapshot.build(translate({ resources, services }));
}

/** Same resources (names, order, bytes, versions), type versions, snapshot version and errors. */
function assertSameSnapshot(actual: Snapshot, expected: Snapshot, step: string): void {
  for (const typeUrl of expected.typeUrls()) {
    const a = [...actual.resources(typeUrl)];
    const e = [...expected.resources(typeUrl)];
    assert.deepEqual(a.map(([n]) => n), e.map(([n]) => n), `${step}: ${typeUrl} names`);
    for (let i = 0; i < e.length; i++) {
      const [name, want] = e[i]!;
      const got = a[i]![1];
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(want.bytes)), `${step}: ${typeUrl} ${name} bytes differ`);
      assert.equal(got.version, want.version, `${step}: ${typeUrl} ${name} version`);
    }
    assert.equal(actual.typeVersion(typeUrl), expected.typeVersion(typeUrl), `${step}: ${typeUrl} type version`);
  }
  assert.deepEqual(actual.typeUrls(), expected.typeUrls());
  assert.equal(actual.version, expected.version, `${step}: snapshot version`);
  assert.deepEqual(actual.errors, expected.errors, `${step}: errors`);
}

/** Drives the translator as the builder does: the first update is a build, later ones patches. */
function advance(t: TranslatorHarness, snap: Snapshot | undefined, resources: readonly IstioResource[], announcements: readonly Announcement[]): Snapshot {
  const r = t.update(resources, announcements);
  if (r.kind === 'full') return Snapshot.build(r.output, snap);
  return Snapshot.patch(snap!, r.delta);
}

describe('incremental translation', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 1022]) {
    test(`random single changes, seed ${seed}: incremental equals a full rebuild after every step`, () => {
      const world = new RandomConfig(seed);
      for (let i = 0; i < 25; i++) world.step();
      const t = translatorHarness();
      let snap = advance(t, undefined, world.list(), world.announced());
      assertSameSnapshot(snap, fullSnapshot(world.list(), world.announced()), 'initial');
      let listeners = 0;
      for (let i = 0; i < 150; i++) {
        const what = world.step();
        const resources = world.list();
        const announced = world.announced();
        snap = advance(t, snap, resources, announced);
        assertSameSnapshot(snap, fullSnapshot(resources, announced), `step ${i} (${what})`);
        assert.deepEqual(t.translator.serviceList(), mergeAnnouncements(servicesFromConfig(resources), announced), `step ${i} (${what}): services`);
        listeners = Math.max(listeners, snap.resources(TYPE_URL.listener).size);
      }
      // The sequences exercise real configs, not empty ones.
      assert.ok(listeners > 10, `only ${listeners} listeners`);
    });
  }

  test('services sharing a bare name that change in one update (one ServiceEntry, several namespaces)', () => {
    const entry = (hosts: string[]): IstioResource => ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'web', namespace: 'shop' }, spec: { hosts, ports: [{ number: 80, name: 'http' }], resolution: 'STATIC' } }) as never;
    const other: IstioResource = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'web', namespace: 'zzz' }, spec: { hosts: ['web'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC' } } as unknown as IstioResource;
    const t = translatorHarness();
    const steps: IstioResource[][] = [
      [entry(['web.shop.svc.cluster.local', 'web.infra.svc.cluster.local'])],
      [entry(['web.shop.svc.cluster.local', 'web.infra.svc.cluster.local']), other],
      [other],
      [entry(['web.infra.svc.cluster.local', 'web.default.svc.cluster.local']), other],
      [{ ...other, metadata: { name: 'web-2', namespace: 'default' } } as IstioResource, other],
      [],
    ];
    let snap: Snapshot | undefined;
    steps.forEach((resources, i) => {
      snap = advance(t, snap, resources, []);
      assertSameSnapshot(snap, fullSnapshot(resources, []), `step ${i}`);
    });
  });

  test('a one-VirtualService change re-translates only its host and keeps every other entry', () => {
    const hosts = Array.from({ length: 50 }, (_, i) => `svc-${i}.example.com`);
    const resources: IstioResource[] = hosts.flatMap((host, i) => [
      { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: `se-${i}`, namespace: 'default' }, spec: { hosts: [host], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: `10.0.0.${i + 1}`, labels: { version: 'v1' } }] } } as never,
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: `vs-${i}`, namespace: 'default' }, spec: { hosts: [host], http: [{ route: [{ destination: { host }, weight: 100 }] }] } } as never,
    ]);
    const sorted = () => [...resources].sort((a, b) => (`${a.kind}/${a.metadata.name}` < `${b.kind}/${b.metadata.name}` ? -1 : 1));
    const t = translatorHarness();
    const before = advance(t, undefined, sorted(), []);
    const i = resources.findIndex((r) => r.metadata.name === 'vs-7');
    resources[i] = { ...resources[i]!, spec: { hosts: [hosts[7]!], http: [{ route: [{ destination: { host: hosts[7]! }, weight: 100 }], timeout: '3s' }] } } as never;
    const r = t.update(sorted(), []);
    assert.equal(r.kind, 'delta');
    if (r.kind !== 'delta') return;
    assert.deepEqual([...r.delta.keys()], [TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint].filter((u) => r.delta.has(u)));
    assert.deepEqual(r.delta.get(TYPE_URL.route)!.upsert.map((x) => x.name), [`${hosts[7]}:80`]);
    for (const d of r.delta.values()) assert.ok(d.upsert.every((x) => x.name.includes(hosts[7]!)) && d.remove.length === 0);
    const after = Snapshot.patch(before, r.delta);
    assertSameSnapshot(after, fullSnapshot(sorted(), []), 'after');
    for (const typeUrl of [TYPE_URL.listener, TYPE_URL.cluster, TYPE_URL.endpoint]) {
      assert.equal(after.typeVersion(typeUrl), before.typeVersion(typeUrl), `${typeUrl} version moved`);
      for (const [name, e] of after.resources(typeUrl)) assert.equal(e, before.resources(typeUrl).get(name), `${name} re-encoded`);
    }
    assert.notEqual(after.typeVersion(TYPE_URL.route), before.typeVersion(TYPE_URL.route));
  });

  test('the snapshot builder serves the same snapshots incrementally as with full rebuilds', async () => {
    const world = new RandomConfig(42);
    for (let i = 0; i < 20; i++) world.step();
    const stores = [new MemoryStore(world.list()), new MemoryStore(world.list())];
    const registries = [new Registry(), new Registry()];
    const builders = [
      new SnapshotBuilder({ store: stores[0]!, registry: registries[0]! }),
      new SnapshotBuilder({ store: stores[1]!, registry: registries[1]!, incremental: false }),
    ];
    for (const b of builders) b.rebuild();
    for (let i = 0; i < 60; i++) {
      const prev = new Map(world.resources);
      const prevAnn = new Map(world.announcements);
      const what = world.step();
      for (let k = 0; k < 2; k++) {
        for (const [key, r] of world.resources) if (prev.get(key) !== r) await stores[k]!.apply([r]);
        for (const key of prev.keys()) if (!world.resources.has(key)) await stores[k]!.delete(...(key.split('/') as [string, string, string]));
        for (const [id, a] of world.announcements) if (prevAnn.get(id) !== a) registries[k]!.announce(a);
        for (const id of prevAnn.keys()) if (!world.announcements.has(id)) registries[k]!.deregister(id);
        builders[k]!.rebuild();
      }
      assertSameSnapshot(builders[0]!.snapshot, builders[1]!.snapshot, `step ${i} (${what})`);
      assert.deepEqual(builders[0]!.services, builders[1]!.services);
      // A slow inline analysis (a loaded machine) moves it to a worker for good: wait for its answer.
      for (const b of builders) while (b.analysisPending) await new Promise<void>((done) => { const d = b.onBuild.on(() => { d.dispose(); done(); }); });
      assert.deepEqual(builders[0]!.diagnostics, builders[1]!.diagnostics);
    }
    for (const b of builders) b.close();
    for (const r of registries) r.close();
  });
});
