// The README's demo command, end to end: control server + example config + HTTP (Express,
// Fastify) and gRPC services on meshlet + meshlet and stock grpc-js-xds traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));

test('meshlet demo: every caller follows the VirtualServices', async () => {
  // 10 s: on a loaded machine 4 s gave ~10 calls per caller, too few to see a 20% subset.
  const child = spawn(process.execPath, [BIN, 'demo', '--duration', '10', '--xds-port', '0', '--admin-port', '0', '--gateway-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  assert.equal(err, '');
  // Every table the run printed, summed: on a loaded machine the last 2 s table may hold a
  // handful of calls, too few to show an 80/20 split.
  const last = out.split('\n\n').slice(1).join('\n\n');
  const rows = new Map<string, number>();
  for (const line of last.split('\n')) {
    const m = /^(.+?)\s+→\s+(.+?)\s+(\d+)$/.exec(line);
    if (m) {
      const key = `${m[1]!.replace(/\s+/g, ' ')} → ${m[2]}`;
      rows.set(key, (rows.get(key) ?? 0) + Number(m[3]));
    }
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
  // From outside the mesh through the ingress gateway (Istio's bookinfo-gateway.yaml, unchanged):
  // the page is productpage's, and jason's header reaches reviews through it.
  assert.match(out, /ingress gateway: curl http:\/\/127\.0\.0\.1:\d+\/productpage/);
  assert.match(out, /dashboard: http:\/\/127\.0\.0\.1:\d+\//);
  const page = [...rows.keys()].filter((k) => k.startsWith('ingress /productpage → '));
  assert.ok(page.length > 0 && page.every((k) => k.includes('productpage-v1')), last);
  assert.ok(n('ingress /productpage jason → productpage-v1 (reviews: reviews-v2)') > 0, last);
});

test('meshlet demo --secure: every call is mTLS under STRICT, and the ratings policy denies productpage', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--secure', '--duration', '4', '--xds-port', '0', '--admin-port', '0', '--gateway-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  // The gateway has its own SVID: STRICT productpage serves it.
  assert.ok(has(/^ingress\s+\/productpage\s+→ productpage-v1 \(reviews: reviews-v\d\)\s+\d+$/), last);
  assert.equal(last.split('\n').filter((l) => /UNAVAILABLE|UH|NR|grpc-js-xds/.test(l)).length, 0, last);
});

test('meshlet demo --tour: each step changes what the calls get', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--tour', '--xds-port', '0', '--admin-port', '0', '--gateway-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  assert.equal(err, '');
  // step N → label → { answer: count }
  const steps = out.split(/\nstep \d\/5 /).slice(1);
  assert.equal(steps.length, 5, out);
  const rows = (step: string): Map<string, Map<string, number>> => {
    const m = new Map<string, Map<string, number>>();
    for (const line of step.split('\n')) {
      const r = /^ {2}(\S.*?)\s+→ (.*?)(?: {3}\(each took.*)?$/.exec(line);
      if (!r) continue;
      m.set(r[1]!, new Map(r[2]!.split(', ').map((a) => { const i = a.lastIndexOf(' '); return [a.slice(0, i), Number(a.slice(i + 1))] as [string, number]; })));
    }
    return m;
  };
  const [canary, jason, delay, abort, denied] = steps.map(rows) as Array<Map<string, Map<string, number>>>;
  const get = (m: Map<string, Map<string, number>> | undefined, label: string) => m?.get(label) ?? new Map<string, number>();
  // 1: weights only, so jason is split like everyone else and nobody reaches v2.
  for (const who of ['reviews (anonymous)', 'reviews (end-user: jason)']) {
    const r = get(canary, who);
    assert.equal(r.get('reviews-v2') ?? 0, 0, out);
    assert.equal((r.get('reviews-v1') ?? 0) + (r.get('reviews-v3') ?? 0), who.includes('jason') ? 20 : 40, out);
  }
  assert.ok((get(canary, 'reviews (anonymous)').get('reviews-v1') ?? 0) > (get(canary, 'reviews (anonymous)').get('reviews-v3') ?? 0), out);
  // 2: the header match sends every jason call to v2 and nobody else.
  assert.deepEqual([...get(jason, 'reviews (end-user: jason)')], [['reviews-v2', 20]], out);
  assert.equal(get(jason, 'reviews (anonymous)').get('reviews-v2') ?? 0, 0, out);
  // 3: every call delayed (response flag DI) and still answered.
  assert.deepEqual([...get(delay, 'ratings')], [['ratings-v1 [DI]', 4]], out);
  // 4: some calls aborted with 503 (flag FI), the rest answered.
  const a = get(abort, 'ratings');
  assert.ok((a.get('HTTP 503 [FI]') ?? 0) > 0 && (a.get('ratings-v1') ?? 0) > 0, out);
  assert.equal((a.get('HTTP 503 [FI]') ?? 0) + (a.get('ratings-v1') ?? 0), 30, out);
  // 5: the ALLOW policy admits GET and refuses DELETE with 403.
  assert.deepEqual([...get(denied, 'GET ratings')], [['ratings-v1', 5]], out);
  assert.deepEqual([...get(denied, 'DELETE ratings')], [['HTTP 403', 5]], out);
});

test('meshlet demo: --tour and --secure together are a usage error', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--tour', '--secure'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(err, /MESHLET_ERR_USAGE: --tour and --secure cannot be combined/);
});
