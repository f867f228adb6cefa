// TypeState.applyDelta: incremental responses through the same validation and removal as SotW.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TypeState } from '../../../src/xds/ads-state.js';
import { RESOURCE_CODECS, type ResourceCodec } from '../../../src/xds/resources/index.js';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const Cla = messageType('envoy.config.endpoint.v3.ClusterLoadAssignment');
const Cluster = messageType('envoy.config.cluster.v3.Cluster');
const cla = (name: string, weight: number) => ({
  name,
  version: `${name}-w${weight}`,
  resource: {
    type_url: TYPE_URL.endpoint,
    value: Cla.encode(Cla.fromObject({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: weight } }] }] })).finish(),
  },
});
const cluster = (name: string, type = 'EDS') => ({
  name,
  version: `${name}-1`,
  resource: { type_url: TYPE_URL.cluster, value: Cluster.encode(Cluster.fromObject({ name, type, eds_cluster_config: { eds_config: { ads: {} } } })).finish() },
});
const eds = () => new TypeState<unknown>(TYPE_URL.endpoint, RESOURCE_CODECS[TYPE_URL.endpoint] as ResourceCodec<unknown>);
const cds = () => new TypeState<unknown>(TYPE_URL.cluster, RESOURCE_CODECS[TYPE_URL.cluster] as ResourceCodec<unknown>);
const watch = (s: TypeState<unknown>, ...names: string[]) => { for (const n of names) s.watchers.set(n, new Set([{ onChange() {} }])); };

describe('TypeState.applyDelta', () => {
  test('applies only what the response carries; the rest of the cache is untouched', () => {
    const s = eds();
    watch(s, 'a', 'b');
    s.applyDelta({ system_version_info: 'v1', resources: [cla('a', 1), cla('b', 1)] });
    const b = s.get('b');
    const out = s.applyDelta({ system_version_info: 'v2', resources: [cla('a', 7)] });
    assert.deepEqual(out.changed.map(([n]) => n), ['a']);
    assert.equal(s.get('b'), b);
    assert.deepEqual(s.initialVersions(), { a: 'a-w7', b: 'b-w1' }, 'per-resource versions, for initial_resource_versions');
  });

  test('a bad resource is NACKed, keeps its last good value; its valid siblings apply (gRFC A46, as SotW)', () => {
    const s = eds();
    watch(s, 'a', 'b');
    s.applyDelta({ system_version_info: 'v1', resources: [cla('a', 1), cla('b', 1)] });
    const good = s.get('a');
    const bad = cla('a', 2);
    bad.resource.value = Cla.encode(Cla.fromObject({ cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 99999 } } } }] }] })).finish();
    const out = s.applyDelta({ system_version_info: 'v2', resources: [bad, cla('b', 3)] });
    assert.match(out.errorDetail, /^a: /);
    assert.deepEqual(out.changed.map(([n]) => n), ['b']);
    assert.equal(s.get('a'), good);
    assert.equal(s.initialVersions()['a'], 'a-w1', 'the rejected version is not claimed as held');
  });

  test('a wrapper whose name differs from the resource is rejected', () => {
    const s = eds();
    watch(s, 'a', 'b');
    const r = cla('a', 1);
    r.name = 'b';
    const out = s.applyDelta({ resources: [r] });
    assert.match(out.errorDetail, /named "b" but holds "a"/);
    assert.equal(s.get('a'), undefined);
  });

  test('removed_resources of LDS/CDS take the SotW removal path: dropped, reported once', () => {
    const s = cds();
    watch(s, '*');
    s.applyDelta({ resources: [cluster('c1'), cluster('c2')] });
    const out = s.applyDelta({ resources: [], removed_resources: ['c1'] });
    assert.deepEqual(out.removed, ['c1']);
    assert.deepEqual([...s.cache.keys()], ['c2']);
    assert.deepEqual(s.applyDelta({ removed_resources: ['c1'] }).removed, [], 'not reported twice');
    // The same as SotW leaving c1 out.
    const sotw = cds();
    watch(sotw, '*');
    sotw.apply({ resources: [cluster('c1').resource, cluster('c2').resource] });
    assert.deepEqual(sotw.apply({ resources: [cluster('c2').resource] }).removed, ['c1']);
  });

  test('a named CDS watch the server says does not exist is reported removed, as a SotW response without it', () => {
    const s = cds();
    watch(s, 'nope');
    assert.deepEqual(s.applyDelta({ removed_resources: ['nope'] }).removed, ['nope']);
  });

  test('removed_resources of RDS/EDS keep the last value until unsubscribed, as under SotW', () => {
    const s = eds();
    watch(s, 'a');
    s.applyDelta({ resources: [cla('a', 1)] });
    const out = s.applyDelta({ removed_resources: ['a'] });
    assert.deepEqual(out.removed, []);
    assert.ok(s.get('a'));
    // Envoy's "waiting for server": not claimed as held on the next stream, so the server sends it if it has it again.
    assert.deepEqual(s.initialVersions(), {});
  });

  test('resources nobody subscribes to (an unsubscribe crossed the response) are ignored', () => {
    const s = eds();
    watch(s, 'a');
    const out = s.applyDelta({ resources: [cla('a', 1), cla('z', 1)] });
    assert.deepEqual(out.changed.map(([n]) => n), ['a']);
    assert.equal(s.get('z'), undefined);
  });
});
