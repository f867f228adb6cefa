// MeshDispatcher + CallHandler against real node:http backends, with a scripted engine: each test
// fixes what route() decides, so the adapter's own semantics (local replies, retries, timeouts,
// admission, mirrors, header handling, caller aborts) are checked in isolation from routing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, fetch, request } from 'undici';
import { MeshDispatcher } from '../../../src/http/dispatcher.js';
import type { RequestRecord } from '../../../src/telemetry/record.js';
import { isMeshError } from '../../../src/errors.js';
import { closedPort, reply, sleep, startBackend, type Backend } from '../../helpers/http-backends.js';
import { FakeEngine, endpoint, newLog, plan, retryPlan } from '../../helpers/http-fake-engine.js';

const engine = new FakeEngine();
const records: RequestRecord[] = [];
const mesh = new MeshDispatcher({ engine, records: () => (r) => records.push(r) });
const strict = new MeshDispatcher({ engine, strict: true });
const backends: Backend[] = [];
let ok: Backend;

before(async () => {
  ok = await startBackend('ok', (hit, res) => reply(res, 200, JSON.stringify(hit), { 'x-up': 'yes', 'x-drop': 'me' }));
  backends.push(ok);
});

after(async () => {
  await Promise.all([mesh.close(), strict.close(), ...backends.map((b) => b.close())]);
});

async function backend(name: string, behaviour: Parameters<typeof startBackend>[1]): Promise<Backend> {
  const b = await startBackend(name, behaviour);
  backends.push(b);
  return b;
}

test('forward: Host is the original authority, path rewrite and header mutations apply both ways', async () => {
  const log = newLog();
  engine.next = () => ({
    kind: 'forward',
    plan: plan([endpoint(ok.port)], log, {
      rewritePath: '/v2/x',
      requestHeaders: { set: [{ name: 'x-added', value: '1', action: 'overwrite' }], remove: ['x-secret'] },
      responseHeaders: { set: [{ name: 'x-resp', value: 'r', action: 'append' }], remove: ['x-drop'] },
    }),
  });
  const res = await request('http://reviews:9080/v1/x?q=1', { dispatcher: mesh, headers: { 'X-Secret': 's', 'x-keep': 'k' } });
  const seen = JSON.parse(await res.body.text()) as { url: string; headers: Record<string, string> };
  assert.equal(res.statusCode, 200);
  assert.equal(seen.url, '/v2/x');
  assert.equal(seen.headers['host'], 'reviews:9080');
  assert.equal(seen.headers['x-added'], '1');
  assert.equal(seen.headers['x-keep'], 'k');
  assert.equal(seen.headers['x-secret'], undefined);
  assert.equal(res.headers['x-resp'], 'r');
  assert.equal(res.headers['x-drop'], undefined);
  assert.equal(res.headers['x-meshlet-response-flags'], undefined);
  assert.equal(engine.seen.at(-1)?.host, 'reviews');
  assert.equal(engine.seen.at(-1)?.port, 9080);
  assert.equal(engine.seen.at(-1)?.method, 'GET');
  assert.deepEqual(log.started, [`127.0.0.1:${ok.port}`]);
  assert.equal(log.admitted, log.released);
});

test('retries: a 503 then 200 is retried for GET (attempts 2), not for POST', async () => {
  let n = 0;
  const flaky = await backend('flaky', (_h, res) => reply(res, ++n % 2 === 1 ? 503 : 200, 'x'));
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(flaky.port)], log, { retry: retryPlan() }) });
  records.length = 0;
  const get = await request('http://reviews/', { dispatcher: mesh });
  await get.body.text();
  assert.equal(get.statusCode, 200);
  assert.equal(records[0]?.attempts, 2);
  assert.deepEqual(log.ended.map((e) => e.outcome), [{ kind: 'response', status: 503 }, { kind: 'response', status: 200 }]);
  assert.equal(log.retrySlots, 1);
  assert.equal(log.retryReleased, 1);
  const post = await request('http://reviews/', { dispatcher: mesh, method: 'POST', body: 'b' });
  await post.body.text();
  assert.equal(post.statusCode, 503);
  assert.equal(records[1]?.attempts, 1);
});

test('retries stop at numRetries with URX; a refused retry passes the response through', async () => {
  const down = await backend('down', (_h, res) => reply(res, 503, 'down'));
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(down.port)], log, { retry: retryPlan({ numRetries: 2 }) }) });
  const res = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(await res.body.text(), 'down');
  assert.equal(res.headers['x-meshlet-response-flags'], 'URX');
  assert.equal(log.started.length, 3);
  const log2 = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(down.port)], log2, { retry: retryPlan(), retryBudget: 0 }) });
  const refused = await request('http://reviews/', { dispatcher: mesh });
  await refused.body.text();
  assert.equal(refused.headers['x-meshlet-response-flags'], 'URX');
  assert.equal(log2.started.length, 1);
});

test('connect failure: retried on another endpoint; with none left → 503 UF like Envoy', async () => {
  const dead = endpoint(await closedPort());
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([dead, endpoint(ok.port)], log, { retry: retryPlan() }) });
  const res = await request('http://reviews/', { dispatcher: mesh, method: 'POST', body: 'x' });
  await res.body.text();
  assert.equal(res.statusCode, 200, 'connect failures are retried even for POST');
  assert.deepEqual(log.ended[0]?.outcome, { kind: 'connect-failure' });
  engine.next = () => ({ kind: 'forward', plan: plan([dead], newLog()) });
  const failed = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(failed.statusCode, 503);
  assert.equal(failed.headers['x-meshlet-response-flags'], 'UF');
  assert.match(await failed.body.text(), /reset reason: connection failure/);
});

test('timeouts: per-try timeout retries a slow attempt; the overall timeout answers 504 UT', async () => {
  let n = 0;
  const slowFirst = await backend('slow-first', async (_h, res) => {
    if (++n === 1) await sleep(300);
    reply(res, 200, `try ${n}`);
  });
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(slowFirst.port)], log, { retry: retryPlan({ perTryTimeoutMs: 80 }) }) });
  const res = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(await res.body.text(), 'try 2');
  assert.deepEqual(log.ended[0]?.outcome, { kind: 'timeout' });
  const slow = await backend('slow', async (_h, res2) => {
    await sleep(300);
    reply(res2, 200, 'late');
  });
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(slow.port)], newLog(), { timeoutMs: 60 }) });
  const t0 = Date.now();
  const timedOut = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(timedOut.statusCode, 504);
  assert.equal(await timedOut.body.text(), 'upstream request timeout');
  assert.equal(timedOut.headers['x-meshlet-response-flags'], 'UT');
  assert.ok(Date.now() - t0 < 250);
});

test('local replies: fault delay+abort, overflow, no healthy upstream, no route, direct, redirect', async () => {
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(ok.port)], newLog(), { fault: { delayMs: 50, abortStatus: 418 } }) });
  const t0 = Date.now();
  const faulted = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(faulted.statusCode, 418);
  assert.equal(await faulted.body.text(), 'fault filter abort');
  assert.equal(faulted.headers['x-meshlet-response-flags'], 'DI,FI');
  assert.ok(Date.now() - t0 >= 45);
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(ok.port)], newLog(), { maxActive: 0 }) });
  const overflow = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(overflow.statusCode, 503);
  assert.equal(await overflow.body.text(), 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  assert.equal(overflow.headers['x-meshlet-response-flags'], 'UO');
  engine.next = () => ({ kind: 'forward', plan: plan([], newLog()) });
  const uh = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(await uh.body.text(), 'no healthy upstream');
  assert.equal(uh.headers['x-meshlet-response-flags'], 'UH');
  engine.next = () => ({ kind: 'no_route' });
  const nr = await request('http://reviews/', { dispatcher: mesh });
  await nr.body.text();
  assert.equal(nr.statusCode, 404);
  assert.equal(nr.headers['x-meshlet-response-flags'], 'NR');
  engine.next = () => ({ kind: 'direct', status: 200, body: 'hello', responseHeaders: { set: [{ name: 'x-direct', value: 'y', action: 'overwrite' }], remove: [] } });
  const direct = await fetch('http://reviews/', { dispatcher: mesh });
  assert.equal(await direct.text(), 'hello');
  assert.equal(direct.headers.get('x-direct'), 'y');
  engine.next = () => ({ kind: 'redirect', status: 301, location: 'http://ratings/x' });
  const redirect = await fetch('http://reviews/', { dispatcher: mesh, redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), 'http://ratings/x');
});

test('mirrors get a fire-and-forget copy with Host <host>-shadow; the main response is unaffected', async () => {
  const shadow = await backend('shadow', (_h, res) => reply(res, 500, 'mirror broke'));
  engine.mirrorTargets.set('mirror-cluster', endpoint(shadow.port));
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(ok.port)], newLog(), { mirrors: ['mirror-cluster', 'unknown-cluster'] }) });
  const res = await request('http://reviews:9080/m', { dispatcher: mesh, method: 'PUT', body: 'payload' });
  await res.body.text();
  assert.equal(res.statusCode, 200);
  for (let i = 0; i < 50 && shadow.hits.length === 0; i++) await sleep(10);
  assert.equal(shadow.hits[0]?.headers.host, 'reviews-shadow:9080');
  assert.equal(shadow.hits[0]?.body, 'payload');
});

test('fetch() bodies: a small declared body is buffered so PUT is retried and mirrored; a large or unsized stream goes out once', async () => {
  let n = 0;
  const flaky = await backend('flaky-put', (_h, res) => reply(res, ++n % 2 === 1 ? 503 : 200, 'x'));
  const shadow = await backend('shadow-put', (_h, res) => reply(res, 200, 'ok'));
  engine.mirrorTargets.set('mirror-put', endpoint(shadow.port));
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(flaky.port)], newLog(), { retry: retryPlan(), mirrors: ['mirror-put'] }) });
  records.length = 0;
  const res = await fetch('http://reviews/put', { dispatcher: mesh, method: 'PUT', body: JSON.stringify({ a: 1 }) });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(records[0]?.attempts, 2);
  assert.deepEqual(flaky.hits.map((h) => h.body), ['{"a":1}', '{"a":1}']);
  for (let i = 0; i < 50 && shadow.hits.length === 0; i++) await sleep(10);
  assert.equal(shadow.hits[0]?.body, '{"a":1}');

  // Beyond the buffer limit (64 KiB): sent once, the 503 passes through.
  n = 0;
  const big = 'x'.repeat(64 * 1024 + 1);
  const bigRes = await fetch('http://reviews/put', { dispatcher: mesh, method: 'PUT', body: big });
  assert.equal(bigRes.status, 503);
  await bigRes.text();
  assert.equal(flaky.hits.at(-1)?.body.length, big.length);
  // A stream without a declared length (chunked): sent once too.
  n = 0;
  const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('chunked')); c.close(); } });
  const chunked = await fetch('http://reviews/put', { dispatcher: mesh, method: 'PUT', body: stream, duplex: 'half' });
  assert.equal(chunked.status, 503);
  await chunked.text();
  assert.equal(flaky.hits.at(-1)?.body, 'chunked');
  assert.equal(flaky.hits.length, 4);
});

test('passthrough forwards unchanged; strict mode refuses with MESHLET_ERR_UNKNOWN_HOST', async () => {
  engine.next = () => ({ kind: 'passthrough' });
  const res = await request(`http://127.0.0.1:${ok.port}/direct`, { dispatcher: mesh });
  const seen = JSON.parse(await res.body.text()) as { url: string; headers: Record<string, string> };
  assert.equal(seen.headers['host'], `127.0.0.1:${ok.port}`);
  assert.equal(res.headers['x-drop'], 'me');
  await assert.rejects(request(`http://127.0.0.1:${ok.port}/`, { dispatcher: strict }), (err: unknown) => isMeshError(err, 'MESHLET_ERR_UNKNOWN_HOST'));
});

test('a caller abort ends the attempt, frees the breaker slot and records DC', async () => {
  const hang = await backend('hang', async (_h, res) => {
    await sleep(400);
    reply(res, 200, 'late');
  });
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(hang.port)], log) });
  records.length = 0;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(fetch('http://reviews/', { dispatcher: mesh, signal: ac.signal }), /abort/i);
  assert.equal(log.released, 1);
  assert.deepEqual(records[0]?.flags, ['DC']);
  assert.equal(log.ended.length, 1);
});

test('response headers reach a request() caller as the upstream sent them: repeated set-cookie, trailers', async () => {
  const multi = await backend('multi', (_h, res) => {
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.setHeader('Trailer', 'x-checksum');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('body');
    res.addTrailers({ 'x-checksum': 'abc' });
    res.end();
  });
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(multi.port)], log) });
  const res = await request('http://reviews/', { dispatcher: mesh });
  assert.equal(await res.body.text(), 'body');
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
  assert.deepEqual(res.trailers, { 'x-checksum': 'abc' });
  // With a response mutation the caller sees the mutated headers (rebuilt, not the upstream's raw list).
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(multi.port)], log, { responseHeaders: { set: [{ name: 'x-resp', value: 'r', action: 'overwrite' }], remove: [] } }) });
  const mutated = await request('http://reviews/', { dispatcher: mesh });
  await mutated.body.text();
  assert.equal(mutated.headers['x-resp'], 'r');
  assert.deepEqual(mutated.headers['set-cookie'], ['a=1', 'b=2']);
});

test('options for a user-supplied agent reach it; onRequestStart may come before dispatch() returns', async () => {
  const seen: Record<string, unknown>[] = [];
  const agent = new Agent().compose((dispatch) => (opts, handler) => {
    seen.push(opts as unknown as Record<string, unknown>);
    return dispatch(opts, handler);
  });
  const custom = new MeshDispatcher({ engine, agent });
  try {
    const log = newLog();
    engine.next = () => ({ kind: 'forward', plan: plan([endpoint(ok.port)], log) });
    const res = await custom.request({ origin: 'http://reviews:9080', path: '/x', method: 'GET', headersTimeout: 1234, myInterceptorOption: 'yes' } as Parameters<typeof custom.request>[0]);
    await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(seen[0]?.['origin'], `http://127.0.0.1:${ok.port}`);
    assert.equal(seen[0]?.['headersTimeout'], 1234);
    assert.equal(seen[0]?.['myInterceptorOption'], 'yes');
    assert.deepEqual(seen[0]?.['headers'], { host: 'reviews:9080' });
  } finally {
    await custom.close();
    await agent.close();
  }
});
