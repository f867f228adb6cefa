// The examples/testing unit test (a 10% abort and a 200 ms delay, with a seed) passes under each
// runner users have: node:test, vitest and jest, each run as its own process the way a user runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // MESHLET_TEST and the node:test context variables would make the child believe it is a subtest.
    const { NODE_TEST_CONTEXT: _ctx, ...base } = process.env;
    const child = spawn(command, args, { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const bin = (name: string): string => fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url));

test('node:test', async () => {
  // The reporter is named: the default differs by Node version and by whether CI is set.
  const r = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'examples/testing/node.test.ts']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /# pass 3/);
  assert.match(r.out, /# fail 0/);
});

test('vitest', async () => {
  // CI=true makes vitest colour its summary even into a pipe; the assertion reads plain text.
  const r = await run(bin('vitest'), ['run', '--config', 'examples/testing/vitest.config.ts'], { NO_COLOR: '1', FORCE_COLOR: '0' });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Tests\s+3 passed \(3\)/);
});

test('jest', async () => {
  const r = await run(bin('jest'), ['--config', 'examples/testing/jest.config.cjs'], { NODE_OPTIONS: '--experimental-vm-modules' });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Tests:\s+3 passed, 3 total/);
});
