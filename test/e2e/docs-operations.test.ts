// The code blocks of docs/operations.md and docs/migrating-from-istio.md, run as docs.test.ts describes (split out to keep each test
// file inside the runner's per-file timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDoc } from './docs-run.js';

for (const doc of ['operations.md', 'migrating-from-istio.md']) {
  test(`docs/${doc}: every code block runs`, async () => {
    assert.ok((await runDoc(doc)) > 0);
  });
}
