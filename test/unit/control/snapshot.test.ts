import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Snapshot } from '../../../src/control/snapshot.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const listener = (name: string, port = 9080) => ({ name, message: { name, address: { socket_address: { address: '0.0.0.0', port_value: port } } } });
const cluster = (name: string) => ({ name, message: { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } } });

function build(listeners: ReturnType<typeof listener>[], clusters: ReturnType<typeof cluster>[], prev?: Snapshot): Snapshot {
  return Snapshot.build(new Map<string, Array<{ name: string; message: Record<string, unknown> }>>([[TYPE_URL.listener, listeners], [TYPE_URL.cluster, clusters]]), prev);
}

describe('Snapshot', () => {
  test('versions are content hashes: same input, same versions', () => {
    const a = build([listener('l1'), listener('l2')], [cluster('c1')]);
    const b = build([listener('l2'), listener('l1')], [cluster('c1')]);
    assert.equal(a.version, b.version);
    assert.equal(a.typeVersion(TYPE_URL.listener), b.typeVersion(TYPE_URL.listener));
    assert.deepEqual([...a.resources(TYPE_URL.listener).keys()], ['l1', 'l2']);
  });

  test('a change moves only the changed resource and its type', () => {
    const a = build([listener('l1'), listener('l2')], [cluster('c1')]);
    const b = build([listener('l1'), listener('l2', 9090)], [cluster('c1')], a);
    assert.notEqual(a.typeVersion(TYPE_URL.listener), b.typeVersion(TYPE_URL.listener));
    assert.equal(a.typeVersion(TYPE_URL.cluster), b.typeVersion(TYPE_URL.cluster));
    assert.equal(a.resources(TYPE_URL.listener).get('l1')!.version, b.resources(TYPE_URL.listener).get('l1')!.version);
    assert.notEqual(a.resources(TYPE_URL.listener).get('l2')!.version, b.resources(TYPE_URL.listener).get('l2')!.version);
    // Unchanged entries are the same objects: encoded once, shared.
    assert.equal(a.resources(TYPE_URL.listener).get('l1'), b.resources(TYPE_URL.listener).get('l1'));
    assert.equal(a.resources(TYPE_URL.cluster).get('c1'), b.resources(TYPE_URL.cluster).get('c1'));
  });

  test('empty types exist with a stable version; unknown types are empty', () => {
    const a = build([], []);
    assert.equal(a.resources(TYPE_URL.route).size, 0);
    assert.equal(a.typeVersion(TYPE_URL.route), Snapshot.empty().typeVersion(TYPE_URL.route));
    assert.equal(a.resources('type.googleapis.com/x.Y').size, 0);
  });

  test('decode() round-trips to JSON', () => {
    const a = build([listener('l1')], []);
    const [l] = a.decode(TYPE_URL.listener);
    assert.equal(l!.name, 'l1');
    assert.deepEqual(l!.resource['address'], { socket_address: { address: '0.0.0.0', port_value: 9080 } });
  });

  test('an unencodable resource is reported and left out, its siblings stay', () => {
    const bad = { name: 'bad', message: { name: 'bad', address: 'not an object' } };
    const a = build([listener('ok'), bad as never], []);
    assert.deepEqual([...a.resources(TYPE_URL.listener).keys()], ['ok']);
    assert.equal(a.errors.length, 1);
    assert.equal(a.errors[0]!.name, 'bad');
  });

  test('an unchanged generated message reuses its entry without re-encoding; a changed one does not', () => {
    const a = build([listener('l1'), listener('l2')], [cluster('c1')]);
    const b = build([listener('l1'), listener('l2', 9091)], [cluster('c1')], a);
    assert.equal(b.resources(TYPE_URL.listener).get('l1'), a.resources(TYPE_URL.listener).get('l1'));
    assert.notEqual(b.resources(TYPE_URL.listener).get('l2')!.version, a.resources(TYPE_URL.listener).get('l2')!.version);
    // Same content again: the type version is carried over, not recomputed differently.
    const c = build([listener('l1'), listener('l2', 9091)], [cluster('c1')], b);
    assert.equal(c.version, b.version);
    assert.equal(c.typeVersion(TYPE_URL.listener), b.typeVersion(TYPE_URL.listener));
    // Identical to a build from scratch.
    const fresh = build([listener('l1'), listener('l2', 9091)], [cluster('c1')]);
    assert.equal(c.version, fresh.version);
  });

  test('the same message object mutated between builds is encoded again', () => {
    const l = listener('l1');
    const a = build([l], []);
    (l.message.address as { socket_address: { port_value: number } }).socket_address.port_value = 7000;
    const b = build([l], [], a);
    assert.notEqual(b.typeVersion(TYPE_URL.listener), a.typeVersion(TYPE_URL.listener));
    assert.equal(b.decode(TYPE_URL.listener)[0]!.resource['address'] && (b.decode(TYPE_URL.listener)[0]!.resource['address'] as { socket_address: { port_value: number } }).socket_address.port_value, 7000);
  });

  test('response heads are shared per content key and match the resources', () => {
    const a = build([listener('l1'), listener('l2')], []);
    const all = () => [...a.resources(TYPE_URL.listener).values()].map((e) => e.bytes);
    const h1 = a.responseHead(TYPE_URL.listener, '*', all);
    const h2 = a.responseHead(TYPE_URL.listener, '*', () => { throw new Error('not called for a cached key'); });
    assert.equal(h1, h2);
    assert.equal(h1.count, 2);
  });
});
