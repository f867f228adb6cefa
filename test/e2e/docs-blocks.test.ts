// The docs test's own machinery: how blocks are found and how sh lines are rewritten. If these
// were wrong, docs.test.ts could pass without running what the docs show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeHosts, cliLine, extractBlocks, shScript, withPorts } from './docs-blocks.js';

test('extractBlocks: language, attributes, indented fences, unclosed fences', () => {
  const md = 'text\n```ts file=app.ts no-run\nconst a = 1;\n```\n1. step\n   ```sh\n   meshlet status\n   ```\n';
  const blocks = extractBlocks('x.md', md);
  assert.deepEqual(blocks.map((b) => [b.line, b.lang, b.attrs, b.code]), [
    [2, 'ts', { file: 'app.ts', 'no-run': true }, 'const a = 1;\n'],
    [6, 'sh', {}, 'meshlet status\n'],
  ]);
  assert.throws(() => extractBlocks('x.md', '```ts\nopen'), /x\.md:1: unclosed/);
});

test('shScript: the checkout CLI, free ports for a control server, background PIDs, npm install checked', () => {
  const { script, problems } = shScript('npm install meshlet-node left-pad\nnpx meshlet control --config istio &   # comment\nnpx tsx app.ts\nnpm test\n', '/r/bin/meshlet.js', '/w/wait.mjs', (p) => p === 'meshlet-node');
  assert.deepEqual(problems, ['npm install names left-pad, which this checkout does not have', 'cannot run "npm test" from a doc block (mark it no-run)']);
  assert.equal(script, [
    'set -euo pipefail',
    'node "/r/bin/meshlet.js" control --config istio --xds-port "$DOCS_XDS_PORT" --admin-port "$DOCS_ADMIN_PORT" --no-state & echo $! >> "$DOCS_PIDS"',
    'node "/w/wait.mjs"',
    'node --import tsx app.ts',
    '',
  ].join('\n'));
});

test('cliLine: one-shot commands only', () => {
  assert.deepEqual(cliLine('npx meshlet get vs reviews -o yaml   # show it'), { argv: ['get', 'vs', 'reviews', '-o', 'yaml'] });
  assert.deepEqual(cliLine('meshlet token create --ca-dir ./ca > t.token'), { argv: ['token', 'create', '--ca-dir', './ca'], stdout: 't.token' });
  for (const l of ['meshlet control --config x &', 'meshlet demo --tour', 'meshlet status | head', 'meshlet apply -f "a b.yaml"', 'node x.js']) assert.equal(cliLine(l), undefined, l);
});

test('withPorts and analyzeHosts', () => {
  assert.equal(withPorts('127.0.0.1:15010 :15012 :15014 150100', { xds: 1, secure: 2, admin: 3 }), '127.0.0.1:1 :2 :3 150100');
  const flags = analyzeHosts([
    { kind: 'DestinationRule', spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } },
    { kind: 'VirtualService', spec: { hosts: ['ratings', '*.x'], http: [{ route: [{ destination: { host: 'details' } }] }] } },
  ]);
  assert.deepEqual(flags, ['--host', 'reviews', '--host', 'reviews:version=v1', '--host', 'details', '--host', 'ratings']);
});
