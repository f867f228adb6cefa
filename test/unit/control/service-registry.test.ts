import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointModel, ServiceModel } from '../../../src/control/model.js';
import { AggregateRegistry, AnnouncedRegistry, AnnouncementList, ConfigRegistry, MemoryRegistry, defaultServiceRegistry, mergeServices } from '../../../src/control/registry/index.js';
import { mergeAnnouncements, servicesFromConfig } from '../../../src/control/services.js';
import { RandomConfig } from '../translate/random-config.js';

const ep = (id: string, address: string): EndpointModel => ({ id, address, ports: { 80: 8080 }, labels: {}, healthy: true, origin: 'ServiceEntry' });
const svc = (hostname: string, over: Partial<ServiceModel> = {}): ServiceModel => ({
  hostname, namespace: 'default', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', endpoints: [], origin: 'ServiceEntry', ...over,
});

test('Kubernetes sources go before the first other source, the rest keep the order they were added in (Istio aggregate addRegistry)', () => {
  const agg = new AggregateRegistry();
  for (const p of ['config', 'announced', 'kubernetes', 'consul', 'kubernetes-2']) agg.addRegistry(new MemoryRegistry(p));
  assert.deepEqual(agg.providers(), ['kubernetes', 'config', 'announced', 'consul', 'kubernetes-2']);
  assert.throws(() => agg.addRegistry(new MemoryRegistry('consul')), /already registered/);
});

test('a hostname in several sources: the first supplies the service, endpoints and ports are merged in source order', () => {
  const agg = new AggregateRegistry();
  const a = new MemoryRegistry('a');
  const b = new MemoryRegistry('b');
  agg.addRegistry(a);
  agg.addRegistry(b);
  b.set(svc('h', { resolution: 'DNS', ports: [{ number: 81, name: 'x', protocol: 'TCP' }, { number: 80, name: 'other', protocol: 'TCP' }], endpoints: [ep('b1', '10.0.0.2'), ep('shared', '10.9.9.9')] }));
  a.set(svc('h', { endpoints: [ep('a1', '10.0.0.1'), ep('shared', '10.0.0.3')] }));
  const [change] = agg.flush();
  assert.equal(change?.before, undefined);
  const merged = agg.service('h')!;
  assert.equal(merged.resolution, 'STATIC');
  assert.deepEqual(merged.ports.map((p) => `${p.number}/${p.name}`), ['80/http', '81/x']);
  assert.deepEqual(merged.endpoints.map((e) => `${e.id}@${e.address}`), ['a1@10.0.0.1', 'shared@10.0.0.3', 'b1@10.0.0.2']);
  assert.equal(mergeServices([merged]), merged, 'one part is returned as it is');

  // Nothing changed: no change reported, the same object kept.
  a.set(svc('h', { endpoints: [ep('a1', '10.0.0.1'), ep('shared', '10.0.0.3')] }));
  assert.deepEqual(agg.flush(), []);
  assert.equal(agg.service('h'), merged);

  // The first source loses the host: the second's service takes over.
  a.delete('h');
  assert.equal(agg.flush()[0]?.after?.resolution, 'DNS');
  assert.equal(agg.removeRegistry('b'), true);
  const [gone] = agg.flush();
  assert.equal(gone?.after, undefined);
  assert.deepEqual(agg.services(), []);
});

test('a registry added later joins at the next flush and fires onChange', () => {
  const agg = new AggregateRegistry();
  let fired = 0;
  agg.onChange(() => fired++);
  const late = new MemoryRegistry('late');
  late.set(svc('z'));
  agg.addRegistry(late);
  assert.equal(fired, 1);
  assert.deepEqual(agg.flush().map((c) => c.hostname), ['z']);
  late.set(svc('y'));
  assert.equal(fired, 2);
  assert.deepEqual(agg.services().map((s) => s.hostname), ['z']);
  agg.flush();
  assert.deepEqual(agg.services().map((s) => s.hostname), ['y', 'z']);
});

test('config + announced sources equal mergeAnnouncements(servicesFromConfig()) after every random change', () => {
  for (const seed of [3, 11, 40]) {
    const world = new RandomConfig(seed);
    let resources = world.list();
    const announcements = new AnnouncementList(world.announced());
    const agg = defaultServiceRegistry({ list: () => resources, onChange: () => ({ dispose() {} }) }, announcements, 'cluster.local');
    for (let i = 0; i < 80; i++) {
      world.step();
      resources = world.list();
      announcements.set(world.announced());
      agg.flush();
      assert.deepEqual(agg.services(), mergeAnnouncements(servicesFromConfig(resources), world.announced()), `seed ${seed} step ${i}`);
    }
  }
});

test('the sources name only the hostnames a change touched', () => {
  let resources: never[] = [];
  const config = new ConfigRegistry({ list: () => resources, onChange: () => ({ dispose() {} }) }, 'cluster.local');
  const se = (name: string, host: string) => ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: 'default' }, spec: { hosts: [host], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC' } }) as never;
  const one = se('a', 'a.example.com');
  resources = [one, se('b', 'b.example.com')];
  assert.deepEqual(config.sync().sort(), ['a.example.com', 'b.example.com']);
  resources = [one, se('b', 'c.example.com')];
  assert.deepEqual(config.sync().sort(), ['b.example.com', 'c.example.com']);
  assert.deepEqual(config.sync(), []);

  const list = new AnnouncementList();
  const announced = new AnnouncedRegistry(list, 'cluster.local');
  const r1 = { nodeId: 'n1', service: 'reviews', namespace: 'default', labels: {}, address: '10.0.0.1', ports: [{ number: 9080 }] };
  list.set([r1, { ...r1, nodeId: 'n2', service: 'ratings' }]);
  assert.deepEqual(announced.sync().sort(), ['ratings.default.svc.cluster.local', 'reviews.default.svc.cluster.local']);
  list.set([r1]);
  assert.deepEqual(announced.sync(), ['ratings.default.svc.cluster.local']);
  assert.deepEqual(announced.services().map((s) => s.endpoints.map((e) => e.id)), [['announced/n1']]);
});

test('the builder adds the sources it is given after config and announced', async () => {
  const { SnapshotBuilder } = await import('../../../src/control/builder.js');
  const { MemoryStore } = await import('../../../src/control/store/memory.js');
  const { Registry } = await import('../../../src/control/registry/announcements.js');
  const extra = new MemoryRegistry('kubernetes');
  extra.set(svc('k.default.svc.cluster.local', { endpoints: [ep('k1', '10.3.0.1')] }));
  const builder = new SnapshotBuilder({ store: new MemoryStore(), registry: new Registry(), serviceRegistries: [extra] });
  try {
    assert.deepEqual(builder.serviceRegistry.providers(), ['kubernetes', 'config', 'announced']);
    builder.start();
    assert.deepEqual(builder.services.map((s) => s.hostname), ['k.default.svc.cluster.local']);
    assert.ok([...builder.snapshot.resources('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment').keys()].some((n) => n.includes('k.default.svc.cluster.local')));
  } finally {
    builder.close();
  }
});
