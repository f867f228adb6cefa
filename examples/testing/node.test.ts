// The example under node:test:  node --import tsx --test examples/testing/node.test.ts
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setup, underAbort, underDelay, type Scenario } from './scenario.js';

let s: Scenario;
before(async () => {
  s = await setup();
});
after(() => s.t.close());

test('a 10% abort of ratings: those pages render without stars, the others with', async () => {
  const { pages, aborted } = await underAbort(s);
  const degraded = pages.filter((p) => p.stars === null);
  assert.ok(aborted > 0 && aborted < pages.length, `seed ${s.t.seed}: ${aborted} aborted`);
  assert.equal(degraded.length, aborted);
  assert.ok(degraded.every((p) => p.note === 'ratings unavailable (503)'));
  assert.ok(pages.filter((p) => p.stars !== null).every((p) => p.stars === 5));
});

test('a 200 ms delay of ratings: the page gives up after its budget', async () => {
  const page = await underDelay(s);
  assert.deepEqual(page, { id: 7, stars: null, note: 'ratings unavailable (timeout)' });
});

test('with the fault gone, ratings answers again', async () => {
  assert.deepEqual(await s.render(1), { id: 1, stars: 5 });
});
