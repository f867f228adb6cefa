// docs/errors.md is the error-code table users read: like fastify's
// test/internals/errors.test.js, it must list exactly the codes src/errors.ts defines, each with
// a meaning and a fix, so neither can drift from the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../src/errors.js';

const DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** The rows of the table: code → [meaning, fix]. */
function rows(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of DOC.split('\n')) {
    const m = /^\| `(MESHLET_ERR_[A-Z0-9_]+)` \|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    assert.ok(!out.has(m[1]!), `${m[1]} is listed twice`);
    out.set(m[1]!, m[2]!.split(' | ').map((c) => c.trim()));
  }
  return out;
}

test('docs/errors.md lists every MESHLET_ERR_* code of src/errors.ts', () => {
  const documented = rows();
  const missing = Object.keys(ERROR_CODES).filter((code) => !documented.has(code));
  assert.deepEqual(missing, [], 'codes missing from docs/errors.md');
});

test('docs/errors.md names no code that does not exist', () => {
  const known = new Set(Object.keys(ERROR_CODES));
  const named = new Set([...DOC.matchAll(/MESHLET_ERR_[A-Z0-9_]+/g)].map((m) => m[0]));
  assert.deepEqual([...named].filter((code) => !known.has(code)), []);
});

test('every row has a meaning and a fix', () => {
  for (const [code, cells] of rows()) {
    assert.equal(cells.length, 2, `${code}: expected | meaning | what to do |`);
    for (const cell of cells) assert.ok(cell.length > 10, `${code}: empty cell`);
  }
});

test('warnings are documented as warnings', () => {
  const documented = rows();
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    if (!/^Warning:|\(warning\)/.test(meaning)) continue;
    assert.match(documented.get(code)?.[0] ?? '', /warning/i, `${code} is a warning in src/errors.ts`);
  }
});
