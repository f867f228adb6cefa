import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayeredMap } from '../../../src/control/layered-map.js';
import { rng } from '../translate/random-config.js';

const sortedMap = (m: Map<string, number>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

test('LayeredMap behaves as a sorted map through random patches, folds included, and never changes an older version', () => {
  const r = rng(11);
  const names = Array.from({ length: 3000 }, (_, i) => `n${(i * 7919) % 3000}`);
  let want = new Map<string, number>();
  for (const n of names.slice(0, 1000)) want.set(n, 0);
  want = sortedMap(want);
  let map = LayeredMap.of(new Map(want));
  const history: Array<[LayeredMap<number>, Array<[string, number]>]> = [];
  for (let step = 0; step < 400; step++) {
    const changes = new Map<string, number | undefined>();
    const k = 1 + Math.floor(r() * (step % 50 === 0 ? 2000 : 20));
    for (let i = 0; i < k; i++) changes.set(names[Math.floor(r() * names.length)]!, r() < 0.3 ? undefined : step);
    for (const [n, v] of changes) if (v === undefined) want.delete(n); else want.set(n, v);
    want = sortedMap(want);
    map = map.patch(changes);
    assert.equal(map.size, want.size, `step ${step}: size`);
    assert.deepEqual([...map], [...want], `step ${step}: entries`);
    for (const n of names.slice(0, 200)) {
      assert.equal(map.get(n), want.get(n));
      assert.equal(map.has(n), want.has(n));
    }
    if (step % 40 === 0) history.push([map, [...want]]);
  }
  for (const [old, entries] of history) assert.deepEqual([...old], entries);
  assert.deepEqual([...map.keys()], [...want.keys()]);
  assert.deepEqual([...map.values()], [...want.values()]);
});
