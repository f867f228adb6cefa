// Runs the real data-plane harness on a tiny case (raw undici vs itself against a local origin,
// 5 tiny rounds) to check the machinery and the table's shape. Nothing here asserts a timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runHttpCases } from '../../../bench/cases/http.js';
import { formatTable } from '../../../bench/lib/table.js';

test('harness: raw vs raw, 5 rounds, one table row per variant with an A/A verdict', async () => {
  const tiny = { closedRequests: 40, concurrency: 4, rateRps: 400, rateRequests: 20 };
  const r = await runHttpCases({
    quick: true, rounds: 5, payloads: ['tiny'], only: [],
    load: { tiny, '1k': tiny, '64k': tiny },
  });
  assert.equal(r.rows.length, 2);
  assert.deepEqual(r.rows.map((x) => x.case), ['raw undici (baseline)', 'A/A: raw undici again']);
  assert.match(r.rows[0]!.result, /^\d+ rps \[\d+–\d+\]$/);
  assert.match(r.rows[1]!.result, /^\d+\.\d\d× \[\d+\.\d\d–\d+\.\d\d\]$/);
  assert.match(r.rows[1]!.goal, /A\/A ok|VOID/);
  assert.equal(r.gates.length, 1);
  assert.equal(r.gates[0]!.ratio.n, 5);
  for (const row of r.rows) {
    assert.doesNotMatch(row.goal, /errors/, 'no request failed');
    assert.match(row.cpu, /client \d+ .*origin \d+ µs\/req/);
  }
  const table = formatTable(r.rows).split('\n');
  assert.equal(table.length, 4);
  assert.equal(table[0]!.split('|').length, table[2]!.split('|').length);
});
