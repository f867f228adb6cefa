import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeAnnouncements, servicesFromConfig } from '../../../src/control/services.js';
import { googleapis, se, we } from './fixtures.js';

test('ServiceEntry STATIC: endpoints with ports by name, labels, locality, weight, service account', () => {
  const [svc] = servicesFromConfig([
    se('ratings-vm', {
      hosts: ['ratings.vm.internal'],
      ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }, { number: 9090, name: 'grpc-api' }],
      resolution: 'STATIC',
      location: 'MESH_INTERNAL',
      endpoints: [{ address: '192.168.1.5', ports: { http: 8080 }, labels: { version: 'v1' }, locality: 'eu/west/1', weight: 3, serviceAccount: 'ratings' }],
    }),
  ]);
  assert.ok(svc);
  assert.equal(svc.hostname, 'ratings.vm.internal');
  assert.deepEqual(svc.ports, [
    { number: 9080, name: 'http', protocol: 'HTTP' },
    { number: 9090, name: 'grpc-api', protocol: 'GRPC' },
  ]);
  assert.equal(svc.resolution, 'STATIC');
  assert.equal(svc.location, 'MESH_INTERNAL');
  const [ep] = svc.endpoints;
  assert.deepEqual(ep, {
    id: 'ServiceEntry/default/ratings-vm/0',
    address: '192.168.1.5',
    ports: { 9080: 8080 },
    labels: { version: 'v1' },
    locality: 'eu/west/1',
    weight: 3,
    serviceAccount: 'ratings',
    healthy: true,
    origin: 'ServiceEntry',
  });
});

test('ServiceEntry workloadSelector picks WorkloadEntries of its namespace only', () => {
  const [svc] = servicesFromConfig([
    se('details', { hosts: ['details.vm'], ports: [{ number: 9080, name: 'http' }], resolution: 'STATIC', workloadSelector: { labels: { app: 'details' } } }),
    we('details-1', { address: '10.1.0.1', labels: { app: 'details', version: 'v1' }, ports: { http: 7000 } }),
    we('details-2', { address: '10.1.0.2', labels: { app: 'details', version: 'v2' } }),
    we('other-app', { address: '10.1.0.3', labels: { app: 'ratings' } }),
    we('other-ns', { address: '10.1.0.4', labels: { app: 'details' } }, 'prod'),
  ]);
  assert.deepEqual(svc?.endpoints.map((e) => [e.id, e.address, e.ports[9080]]), [
    ['WorkloadEntry/default/details-1', '10.1.0.1', 7000],
    ['WorkloadEntry/default/details-2', '10.1.0.2', undefined],
  ]);
  assert.equal(svc?.endpoints[0]?.origin, 'WorkloadEntry');
});

test('ServiceEntry DNS without endpoints resolves the host itself; short hosts are expanded', () => {
  const [svc] = servicesFromConfig([googleapis]);
  assert.equal(svc?.resolution, 'DNS');
  assert.equal(svc?.location, 'MESH_EXTERNAL');
  assert.deepEqual(svc?.endpoints.map((e) => e.address), ['www.googleapis.com']);
  const [short] = servicesFromConfig([se('mongo', { hosts: ['mongo'], ports: [{ number: 27017, name: 'mongo', protocol: 'MONGO' }] }, 'db')]);
  assert.equal(short?.hostname, 'mongo.db.svc.cluster.local');
  assert.equal(short?.resolution, 'NONE');
});

test('mergeAnnouncements creates services, unions ports and merges with ServiceEntries', () => {
  const base = servicesFromConfig([
    se('reviews', { hosts: ['reviews.default.svc.cluster.local'], ports: [{ number: 9080, name: 'http' }], resolution: 'STATIC', endpoints: [{ address: '10.9.9.9', labels: { version: 'v0' } }] }),
  ]);
  const merged = mergeAnnouncements(base, [
    { nodeId: 'r2', service: 'reviews', namespace: 'default', labels: { version: 'v2' }, address: '10.0.0.2', ports: [{ number: 9080 }, { number: 9090, name: 'grpc', targetPort: 19090 }], serviceAccount: 'reviews', locality: 'us/a' },
    { nodeId: 'p1', service: 'productpage', namespace: 'shop', labels: {}, address: '10.0.0.3', ports: [{ number: 9080, protocol: 'http' }] },
  ]);
  assert.deepEqual(merged.map((s) => s.hostname), ['productpage.shop.svc.cluster.local', 'reviews.default.svc.cluster.local']);
  const reviews = merged[1];
  assert.deepEqual(reviews?.ports.map((p) => [p.number, p.protocol]), [[9080, 'HTTP'], [9090, 'GRPC']]);
  assert.deepEqual(reviews?.endpoints.map((e) => e.id), ['ServiceEntry/default/reviews/0', 'announced/r2']);
  const announced = reviews?.endpoints[1];
  assert.equal(announced?.serviceAccount, 'reviews');
  assert.equal(announced?.locality, 'us/a');
  assert.deepEqual(announced?.labels, { version: 'v2' });
  assert.deepEqual(announced?.ports, { 9080: 9080, 9090: 19090 });
  assert.equal(reviews?.origin, 'ServiceEntry');
  const pp = merged[0];
  assert.equal(pp?.origin, 'announced');
  assert.equal(pp?.namespace, 'shop');
  assert.deepEqual(pp?.ports, [{ number: 9080, name: 'http-9080', protocol: 'HTTP' }]);
  // inputs untouched
  assert.equal(base[0]?.endpoints.length, 1);
  // re-announcing the same node replaces its endpoint
  const again = mergeAnnouncements(merged, [{ nodeId: 'r2', service: 'reviews', namespace: 'default', labels: {}, address: '10.0.0.22', ports: [] }]);
  assert.deepEqual(again[1]?.endpoints.map((e) => e.address), ['10.9.9.9', '10.0.0.22']);
});
