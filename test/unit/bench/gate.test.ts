// The A/A gate decides whether a whole benchmark run means anything; its logic is pure and is
// checked here without running any benchmark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aaGate, runVerdict } from '../../../bench/lib/gate.js';
import { roundOrder } from '../../../bench/lib/schedule.js';
import { summarize } from '../../../bench/lib/summary.js';

test('two sample sets within ±3% of each other are valid', () => {
  const base = [10_000, 10_150, 9_900, 10_050, 9_980];
  const copy = [10_100, 10_000, 10_050, 9_900, 10_200];
  const g = aaGate(base, copy);
  assert.equal(g.valid, true, g.reason);
  assert.ok(Math.abs(g.ratio.median - 1) <= 0.03);
  assert.equal(runVerdict([g]).valid, true);
});

test('a disturbed copy (half the throughput in most rounds) makes the run VOID', () => {
  const base = [10_000, 10_150, 9_900, 10_050, 9_980];
  const disturbed = [5_100, 10_000, 4_900, 5_300, 5_000];
  const g = aaGate(base, disturbed);
  assert.equal(g.valid, false);
  assert.match(g.reason, /outside ±3%/);
  const verdict = runVerdict([aaGate(base, base), g]);
  assert.equal(verdict.valid, false);
  assert.deepEqual(verdict.reasons, [g.reason]);
});

test('the gate is judged on the median round: one bad round among five does not void', () => {
  const base = [100, 100, 100, 100, 100];
  assert.equal(aaGate(base, [100, 101, 60, 99, 100]).valid, true);
  assert.equal(aaGate(base, [96, 96, 96, 100, 100]).valid, false); // a consistent 4% gap does
});

test('edges: exactly 3% passes, unpaired or empty samples are not valid, no gate is not valid', () => {
  assert.equal(aaGate([100, 100, 100], [103, 103, 103]).valid, true);
  assert.equal(aaGate([100, 100, 100], [97, 97, 97]).valid, true);
  assert.equal(aaGate([100, 100], [100]).valid, false);
  assert.equal(aaGate([], []).valid, false);
  assert.equal(runVerdict([]).valid, false);
});

test('rounds rotate the variant order so each takes every position', () => {
  const v = ['a', 'b', 'c'];
  assert.deepEqual([0, 1, 2, 3].map((r) => roundOrder(v, r).join('')), ['abc', 'bca', 'cab', 'abc']);
  assert.deepEqual(summarize([3, 1, 2, 4]), { median: 2.5, min: 1, max: 4, n: 4 });
});

test('RESULTS.md: a run replaces only its own block; other sections (gRPC) stay', async () => {
  const { spliceResults } = await import('../../../bench/lib/results-file.js');
  const first = spliceResults(undefined, 'full', 'FULL 1');
  const withGrpc = `${first}\n## gRPC\n\ntheirs\n`;
  const quick = spliceResults(withGrpc, 'quick', 'QUICK 1');
  const again = spliceResults(quick, 'full', 'FULL 2');
  assert.match(again, /FULL 2/);
  assert.doesNotMatch(again, /FULL 1/);
  assert.match(again, /QUICK 1/);
  assert.match(again, /## gRPC\n\ntheirs/);
  assert.ok(again.indexOf('FULL 2') < again.indexOf('QUICK 1'));
});
