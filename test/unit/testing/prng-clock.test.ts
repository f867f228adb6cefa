// The seeded random source and the manual clock of meshlet/testing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom, hashSeed } from '../../../src/internal/prng.js';
import { ManualClock } from '../../../src/testing/clock.js';
import { MeshError } from '../../../src/errors.js';

test('seededRandom: same seed, same sequence; reseed restarts it; values in [0, 1)', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(Array.from({ length: 1000 }, () => b()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  a.reseed(42);
  assert.equal(a(), xs[0]);
  assert.notEqual(seededRandom(43)(), xs[0]);
  assert.notEqual(seededRandom('productpage#0|1')(), seededRandom('productpage#0|2')());
  // Roughly uniform: each tenth gets 10% ± 2% of 100 000 draws.
  const r = seededRandom('uniform');
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) buckets[Math.floor(r() * 10)]!++;
  for (const n of buckets) assert.ok(n > 8_000 && n < 12_000, String(buckets));
  assert.equal(hashSeed(7), 7);
  assert.equal(hashSeed('a'), hashSeed('a'));
});

test('ManualClock: timers fire in order as time is advanced, and only then', () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  const h = clock.setTimeout(() => fired.push('never'), 15);
  clock.setTimeout(() => {
    fired.push(`a@${clock.now()}`);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5); // armed while advancing, due within the span
  }, 10);
  clock.clearTimeout(h);
  assert.deepEqual(clock.pending(), [10, 20]);
  assert.equal(clock.advance(9), 0);
  assert.deepEqual(fired, []);
  assert.equal(clock.advance(16), 3);
  assert.deepEqual(fired, ['a@1010', 'c@1015', 'b@1020']);
  assert.equal(clock.now(), 1025);
  assert.throws(() => clock.advance(-1), RangeError);
});

test('ManualClock: waitForTimers resolves on arming, rejects (coded) after its deadline; timeoutSignal', async () => {
  const clock = new ManualClock();
  const waiting = clock.waitForTimers(2);
  clock.setTimeout(() => {}, 5);
  const signal = clock.timeoutSignal(50);
  await waiting;
  assert.equal(signal.aborted, false);
  clock.advance(50);
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, 'TimeoutError');
  await assert.rejects(clock.waitForTimers(1, 10), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_TIMEOUT');
});
