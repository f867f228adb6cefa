// Every code block in docs/*.md is executed (issue 17: "every code block in them is executed by a
// test"): ts/js blocks as ES modules against this checkout, sh blocks through bash with the
// checkout's CLI on free ports (background servers stopped by PID), yaml blocks through
// `meshlet analyze` (a Prometheus config through promtool). `file=NAME` blocks are written into
// the doc's work directory first (a yaml config an sh block applies, a ts program an sh block
// runs); `no-run` blocks are counted, and more than a handful fails the test. README.md's yaml
// blocks are analyzed the same way. The runner is docs-run.ts; OWN_FILE names the docs that run
// in docs-getting-started.test.ts and docs-operations.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUNNABLE } from './docs-blocks.js';
import { ALL_BLOCKS as all, DOCS, MAX_NO_RUN, OWN_FILE, ROOT, runDoc, runReadmeYaml, where } from './docs-run.js';

test('the docs exist and have code blocks; few are marked no-run', () => {
  for (const name of ['getting-started.md', 'concepts.md', 'configuration.md', 'migrating-from-istio.md', 'errors.md', 'operations.md', 'faq.md']) {
    assert.ok(DOCS.includes(name), `docs/${name} is missing`);
  }
  const runnable = all.filter((b) => RUNNABLE.has(b.lang));
  const noRun = runnable.filter((b) => b.attrs['no-run']);
  assert.ok(runnable.length - noRun.length >= 10, `only ${runnable.length - noRun.length} blocks run`);
  assert.ok(noRun.length <= MAX_NO_RUN, `${noRun.length} blocks are marked no-run (at most ${MAX_NO_RUN}): ${noRun.map(where).join(', ')}`);
  for (const b of all) {
    if (b.lang === '' || RUNNABLE.has(b.lang) || b.lang === 'text' || b.lang === 'json') continue;
    assert.fail(`${where(b)}: unknown block language "${b.lang}" (use ts, js, sh, yaml, text or json)`);
  }
  // A program written with file= must be run by an sh block of the same doc.
  for (const b of all.filter((x) => /^(ts|js)/.test(x.lang) && typeof x.attrs['file'] === 'string')) {
    const runs = all.some((s) => s.doc === b.doc && /^(sh|bash)/.test(s.lang) && s.code.includes(b.attrs['file'] as string));
    assert.ok(runs, `${where(b)}: file=${b.attrs['file']} is never run by an sh block`);
  }
});

test('docs run in another file have that file', () => {
  for (const file of new Set(Object.values(OWN_FILE))) assert.ok(existsSync(join(ROOT, 'test/e2e', file)), file);
  for (const doc of Object.keys(OWN_FILE)) assert.ok(DOCS.includes(doc), `OWN_FILE names docs/${doc}, which does not exist`);
});

for (const doc of DOCS.filter((d) => !OWN_FILE[d])) {
  if (!all.some((b) => b.doc === `docs/${doc}` && RUNNABLE.has(b.lang) && !b.attrs['no-run'])) continue;
  test(`docs/${doc}: every code block runs`, async () => {
    assert.ok((await runDoc(doc)) > 0);
  });
}

test('README.md: every yaml block passes meshlet analyze', async () => {
  assert.ok((await runReadmeYaml()) > 0);
});
