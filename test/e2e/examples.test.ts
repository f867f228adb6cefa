// The runnable examples the README points to, run as a user would (their own process, tsx) and
// held to what they print: the route a header selects, and traffic on every destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function run(script: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `${script} exited ${code}\n${out}\n${err}`);
  assert.equal(err, '');
  return out;
}

test('examples/http: jason always gets reviews v2, everyone else the canary split', async () => {
  const out = await run('examples/http/main.ts', ['--requests', '40']);
  const count = (who: string, version: string): number => Number(new RegExp(`${who}\\s+→ reviews ${version}: (\\d+)`).exec(out)?.[1] ?? 0);
  assert.equal(count('jason', 'v1'), 0, out);
  assert.ok(count('jason', 'v2') > 0, out);
  assert.ok(count('anonymous', 'v1') > count('anonymous', 'v2'), out);
  assert.equal(count('jason', 'v2') + count('anonymous', 'v1') + count('anonymous', 'v2'), 40, out);
});

test('examples/grpc: an 80/20 split and a header route', async () => {
  const out = await run('examples/grpc/main.ts', []);
  // The counts' key order is whichever version answered first, so read them as JSON.
  const split = /(\d+) calls: (\{[^}]*\})/.exec(out);
  assert.ok(split, out);
  const counts = JSON.parse(split[2]!) as Record<string, number>;
  const v1 = counts['ratings-v1'] ?? 0;
  const v2 = counts['ratings-v2'] ?? 0;
  assert.equal(v1 + v2, Number(split[1]), out);
  assert.ok(v1 > v2 && v2 > 0, out);
  assert.match(out, /end-user: jason → ratings-v2/);
});

test('examples/tracing: productpage → reviews → ratings (HTTP, gRPC) is one trace of five spans, no header copied', async () => {
  const out = await run('examples/tracing/main.ts', ['--console']);
  assert.match(out, /productpage: \{"reviewer":"Reviewer1","stars":5\}/);
  // ConsoleSpanExporter prints each span as an object literal: its traceId, then its name.
  const spans = [...out.matchAll(/traceId: '([0-9a-f]{32})',[\s\S]*?name: '([^']+)'/g)].map((m) => ({ traceId: m[1]!, name: m[2]! }));
  const ratings = spans.find((x) => x.name.startsWith('ratings.'));
  assert.ok(ratings, out);
  // The external caller sends no context: productpage's server span is the root; then a client
  // and a server span per hop.
  assert.deepEqual(spans.filter((x) => x.traceId === ratings.traceId).map((x) => x.name.split('.')[0]).sort(), ['productpage', 'ratings', 'ratings', 'reviews', 'reviews'], out);
});
