// t.fault() specs as VirtualService config: the Istio fault, the routes it adds, host matching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VirtualService } from '../../../src/config/types.js';
import { MeshError } from '../../../src/errors.js';
import { routesService, serviceFqdn, syntheticVirtualService, toIstioFault, withFault } from '../../../src/testing/fault.js';
import { ConfigSync, parseInput } from '../../../src/testing/config-sync.js';
import { MemoryStore } from '../../../src/control/store/memory.js';

const FQDN = 'ratings.default.svc.cluster.local';
const vs = (http: VirtualService['spec']['http'], hosts = ['ratings'], extra: Partial<VirtualService['spec']> = {}): VirtualService =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'ratings', namespace: 'default' }, spec: { hosts, http, ...extra } });

test('toIstioFault: Istio HTTPFaultInjection from the spec', () => {
  assert.deepEqual(toIstioFault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } }), { abort: { httpStatus: 503, percentage: { value: 10 } } });
  assert.deepEqual(toIstioFault({ service: 'r', abort: { grpcStatus: 14, percentage: { value: 5 } } }), { abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 5 } } });
  assert.deepEqual(toIstioFault({ service: 'r', delay: { fixedDelay: 200 } }), { delay: { fixedDelay: '200ms' } });
  assert.deepEqual(toIstioFault({ service: 'r', partition: true }), { abort: { httpStatus: 503, percentage: { value: 100 } } });
  assert.equal(toIstioFault({ service: 'r', reset: { percentage: 50 } }), undefined);
  const bad = [{ service: '' }, { service: 'r' }, { service: 'r', abort: { percentage: 1 } }, { service: 'r', abort: { httpStatus: 503, grpcStatus: 'X' } },
    { service: 'r', delay: { fixedDelay: {} as never } }, { service: 'r', abort: { httpStatus: 503, percentage: Number.NaN } }, { service: 'r', reset: { percentage: -1 } }];
  for (const spec of bad) assert.throws(() => toIstioFault(spec as never), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG', JSON.stringify(spec));
});

test('serviceFqdn and routesService: every name a caller may use', () => {
  for (const n of ['ratings', 'ratings.default', 'ratings.default.svc', FQDN]) assert.equal(serviceFqdn(n, 'default'), FQDN);
  assert.equal(serviceFqdn('ratings', 'prod'), 'ratings.prod.svc.cluster.local');
  assert.ok(routesService(vs([]), FQDN));
  assert.ok(routesService(vs([], ['ratings.default']), FQDN));
  assert.ok(!routesService(vs([], ['reviews']), FQDN));
  assert.ok(!routesService(vs([], ['ratings'], { gateways: ['ingress'] }), FQDN));
  assert.ok(routesService(vs([], ['ratings'], { gateways: ['mesh', 'ingress'] }), FQDN));
});

test('withFault: in place without a match; a copy with the match in front of each route otherwise', () => {
  const base = vs([
    { name: 'api', match: [{ uri: { prefix: '/api' } }, { headers: { x: { exact: '1' } } }], route: [{ destination: { host: 'ratings' } }] },
    { name: 'moved', redirect: { uri: '/new' } },
    { name: 'rest', route: [{ destination: { host: 'ratings' } }], fault: { delay: { fixedDelay: '1s' } } },
  ]);
  const abort = { abort: { httpStatus: 503, percentage: { value: 10 } } };
  const inPlace = withFault(base, { service: 'ratings' }, abort, 1).spec.http!;
  assert.deepEqual(inPlace.map((r) => [r.name, r.fault]), [['api', abort], ['moved', undefined], ['rest', { delay: { fixedDelay: '1s' }, ...abort }]]);
  const scoped = withFault(base, { service: 'ratings', from: 'reviews', match: { headers: { y: { exact: '2' } } } }, abort, 3).spec.http!;
  assert.deepEqual(scoped.map((r) => r.name), ['api.fault-3', 'api', 'moved', 'rest.fault-3', 'rest']);
  assert.deepEqual(scoped[0]!.match, [
    { uri: { prefix: '/api' }, headers: { y: { exact: '2' } }, sourceLabels: { app: 'reviews' } },
    { headers: { x: { exact: '1' }, y: { exact: '2' } }, sourceLabels: { app: 'reviews' } },
  ]);
  assert.deepEqual(scoped[3]!.match, [{ headers: { y: { exact: '2' } }, sourceLabels: { app: 'reviews' } }]);
  const one = withFault(base, { service: 'ratings', route: 'rest', partition: { from: 'reviews' } }, abort, 4).spec.http!;
  assert.deepEqual(one.map((r) => r.name), ['api', 'moved', 'rest.fault-4', 'rest']);
  assert.equal(base.spec.http![0]!.fault, undefined, 'the input is not changed');
  assert.throws(() => withFault(base, { service: 'ratings', route: 'nope' }, abort, 5), /no HTTP route named "nope"/);
});

test('ConfigSync: faults on a synthetic VirtualService, then on the user one; dispose restores it', async () => {
  const store = new MemoryStore();
  const sync = new ConfigSync(store, 'default');
  const n = sync.addFault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
  assert.equal(await sync.write(), true);
  assert.deepEqual(store.list().map((r) => r.metadata.name), [syntheticVirtualService('ratings', FQDN, 'default').metadata.name]);
  const user = parseInput({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'mine' }, spec: { hosts: ['ratings'], http: [{ name: 'all', route: [{ destination: { host: 'ratings' } }] }] } }, 'default');
  sync.addUser(user);
  await sync.write();
  // The synthetic one is gone (two VirtualServices for a host: only the oldest would apply).
  assert.deepEqual(store.list().map((r) => [r.metadata.name, (r as VirtualService).spec.http![0]!.fault]), [['mine', { abort: { httpStatus: 503, percentage: { value: 10 } } }]]);
  assert.equal(sync.removeFault(n), true);
  await sync.write();
  assert.deepEqual((store.list()[0] as VirtualService).spec, user[0]!.spec);
  assert.equal(await sync.write(), false, 'nothing left to write');
});

test('parseInput: YAML, objects and arrays through the loader; errors are coded', () => {
  const r = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'a' }, spec: { hosts: ['x'], http: [{ route: [{ destination: { host: 'x' } }] }] } };
  assert.equal(parseInput([r, { ...r, metadata: { name: 'b' } }], 'default').length, 2);
  assert.equal(parseInput('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\nspec: {hosts: [x], http: [{route: [{destination: {host: x}}]}]}', 'default')[0]?.metadata.namespace, 'default');
  assert.throws(() => parseInput({ ...r, spec: { hosts: 'x' } }, 'default'), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG_SCHEMA');
  assert.throws(() => parseInput(42 as never, 'default'), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG');
  assert.throws(() => parseInput('x'.repeat(5 * 1024 * 1024), 'default'), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG_LIMIT');
});
