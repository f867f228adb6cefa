import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceKey, type IstioResource } from '../../../src/config/types.js';
import { MemoryStore } from '../../../src/control/store/memory.js';
import { rng } from '../translate/random-config.js';

const mk = (kind: string, ns: string, name: string, v: number): IstioResource =>
  ({ apiVersion: 'networking.istio.io/v1', kind, metadata: { name, namespace: ns }, spec: { hosts: [`h${v}`] } }) as never;

test('MemoryStore.list() stays sorted by key and current through random applies and deletes', async () => {
  const r = rng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const want = new Map<string, IstioResource>();
  const initial = Array.from({ length: 20 }, (_, i) => mk(pick(['VirtualService', 'ServiceEntry']), pick(['a', 'b']), `n${i % 7}`, i));
  for (const x of initial) want.set(resourceKey(x), x);
  const store = new MemoryStore(initial);
  for (let i = 0; i < 500; i++) {
    const kind = pick(['VirtualService', 'ServiceEntry', 'DestinationRule']);
    const ns = pick(['a', 'b', 'c']);
    const name = `n${Math.floor(r() * 9)}`;
    if (r() < 0.35) {
      const existed = want.delete(`${kind}/${ns}/${name}`);
      assert.equal(await store.delete(kind, ns, name), existed);
    } else {
      const batch = [mk(kind, ns, name, i), mk(pick(['VirtualService', 'Gateway']), ns, `m${i % 5}`, i)];
      for (const x of batch) want.set(resourceKey(x), x);
      await store.apply(batch);
    }
    const expected = [...want.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x);
    const got = store.list();
    assert.equal(got.length, expected.length);
    got.forEach((x, j) => assert.equal(x, expected[j], `step ${i}: position ${j}`));
  }
});
