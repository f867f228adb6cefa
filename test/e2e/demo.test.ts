// The README's demo command, end to end: control server + example config + announced services +
// stock grpc-js-xds traffic that follows the VirtualServices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));

test('meshlet demo routes jason to v2, splits the rest v1/v3, and aborts x-test calls', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--duration', '4', '--xds-port', '0', '--admin-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  assert.equal(err, '');
  const tables = out.split('\n\n').slice(1);
  const last = tables.at(-1) ?? '';
  const count = (label: string) => Number(new RegExp(`${label.replace(/[()]/g, '\\$&')}\\s+(\\d+)`).exec(last)?.[1] ?? 0);
  assert.ok(count('reviews (jason)     → reviews-v2') > 0, out);
  assert.match(last, /ratings \(x-test\)\s+→ gRPC UNAVAILABLE/);
  assert.doesNotMatch(last, /reviews \(jason\)\s+→ reviews-v[13]/);
  assert.doesNotMatch(last, /reviews \(anonymous\)\s+→ reviews-v2/);
  const v1 = count('reviews (anonymous) → reviews-v1');
  const v3 = count('reviews (anonymous) → reviews-v3');
  assert.ok(v1 > v3 && v3 > 0, `80/20 canary expected, got v1=${v1} v3=${v3}`);
});
