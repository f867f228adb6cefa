// The example under vitest:  npx vitest run --config examples/testing/vitest.config.ts
import { afterAll, beforeAll, expect, test } from 'vitest';
import { setup, underAbort, underDelay, type Scenario } from './scenario.js';

let s: Scenario;
beforeAll(async () => {
  s = await setup();
});
afterAll(() => s.t.close());

test('a 10% abort of ratings: those pages render without stars, the others with', async () => {
  const { pages, aborted } = await underAbort(s);
  const degraded = pages.filter((p) => p.stars === null);
  expect(aborted).toBeGreaterThan(0);
  expect(aborted).toBeLessThan(pages.length);
  expect(degraded).toHaveLength(aborted);
  for (const p of degraded) expect(p.note).toBe('ratings unavailable (503)');
  for (const p of pages.filter((x) => x.stars !== null)) expect(p.stars).toBe(5);
});

test('a 200 ms delay of ratings: the page gives up after its budget', async () => {
  expect(await underDelay(s)).toEqual({ id: 7, stars: null, note: 'ratings unavailable (timeout)' });
});

test('with the fault gone, ratings answers again', async () => {
  expect(await s.render(1)).toEqual({ id: 1, stars: 5 });
});
