import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, DEFAULT_BACKOFF } from '../../../src/xds/backoff.js';

test('defaults follow gRPC connection backoff: 1s × 1.6 up to 120s', () => {
  assert.deepEqual({ ...DEFAULT_BACKOFF }, { initialMs: 1000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000 });
  const b = new Backoff({ random: () => 0.5 }); // 0.5 = no jitter
  const delays = Array.from({ length: 14 }, () => b.next());
  assert.deepEqual(delays.slice(0, 5), [1000, 1600, 2560, 4096, 6554]);
  assert.equal(delays.at(-1), 120_000);
  assert.equal(b.attempts, 14);
});

test('jitter spreads ±20% around the base delay', () => {
  const low = new Backoff({ random: () => 0 });
  const high = new Backoff({ random: () => 0.999_999 });
  assert.equal(low.next(), 800);
  assert.equal(high.next(), 1200);
  assert.equal(low.next(), 1280);
  assert.equal(high.next(), 1920);
  // The cap applies to the base, jitter still spreads around it.
  const capped = new Backoff({ initialMs: 100, maxMs: 100, random: () => 0 });
  capped.next();
  assert.equal(capped.next(), 80);
});

test('reset goes back to the initial delay; options are clamped', () => {
  const b = new Backoff({ initialMs: 50, multiplier: 2, jitter: 0, maxMs: 300 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 300, 300]);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 50);
  const odd = new Backoff({ initialMs: -5, multiplier: 0.5, jitter: 7, random: () => 0 });
  assert.equal(odd.multiplier, 1);
  assert.equal(odd.jitter, 1);
  assert.equal(odd.next(), 0);
});
