// The README's demo command, end to end: control server + example config + HTTP (Express,
// Fastify) and gRPC services on meshlet + meshlet and stock grpc-js-xds traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));

test('meshlet demo: every caller follows the VirtualServices', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--duration', '4', '--xds-port', '0', '--admin-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  assert.equal(err, '');
  const last = out.split('\n\n').at(-1) ?? '';
  const rows = new Map<string, number>();
  for (const line of last.split('\n')) {
    const m = /^(.+?)\s+→\s+(.+?)\s+(\d+)$/.exec(line);
    if (m) rows.set(`${m[1]!.replace(/\s+/g, ' ')} → ${m[2]}`, Number(m[3]));
  }
  const n = (key: string) => rows.get(key) ?? 0;
  assert.ok(n('meshlet HTTP details → details-v1') > 0, last);
  assert.ok(n('meshlet HTTP ratings → ratings-v1') > 0, last);
  assert.ok(n('meshlet HTTP ratings x-test → HTTP 503 (FI)') > 0, last);
  for (const caller of ['meshlet gRPC', 'grpc-js-xds']) {
    assert.ok(n(`${caller} reviews jason → reviews-v2`) > 0, last);
    assert.equal(n(`${caller} reviews jason → reviews-v1`) + n(`${caller} reviews jason → reviews-v3`), 0, last);
    assert.equal(n(`${caller} reviews → reviews-v2`), 0, last);
    const v1 = n(`${caller} reviews → reviews-v1`);
    const v3 = n(`${caller} reviews → reviews-v3`);
    assert.ok(v1 > v3 && v3 > 0, `${caller}: 80/20 canary expected, got v1=${v1} v3=${v3}`);
  }
  assert.equal([...rows.keys()].filter((k) => /UNAVAILABLE|UH|NR/.test(k)).length, 0, last);
});

test('meshlet demo --secure: every call is mTLS under STRICT, and the ratings policy denies productpage', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--secure', '--duration', '4', '--xds-port', '0', '--admin-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  assert.match(out, /secure: CA in .*STRICT mTLS mesh-wide/);
  const last = out.split('\n\n').at(-1) ?? '';
  const has = (re: RegExp) => last.split('\n').some((l) => re.test(l));
  assert.ok(has(/^meshlet HTTP\s+details\s+→ details-v1\s+\d+$/), last);
  assert.ok(has(/^meshlet HTTP\s+ratings\s+→ HTTP 403\s+\d+$/), `the policy denies productpage → ratings:\n${last}`);
  assert.ok(!has(/^meshlet HTTP\s+ratings\s+→ ratings-v1/), last);
  assert.ok(has(/^meshlet gRPC\s+reviews jason\s+→ reviews-v2\s+\d+$/), last);
  assert.equal(last.split('\n').filter((l) => /UNAVAILABLE|UH|NR|grpc-js-xds/.test(l)).length, 0, last);
});
