// Hedged requests (route hedge_policy.hedge_on_per_try_timeout) in the HTTP adapter, against real
// node:http backends with a scripted engine: at a per-try timeout the attempt keeps running and
// another starts; the first usable response wins and the rest are aborted (Envoy's router).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { MeshDispatcher } from '../../../src/http/dispatcher.js';
import type { RequestRecord } from '../../../src/telemetry/record.js';
import { reply, sleep, startBackend, type Backend, type Behaviour } from '../../helpers/http-backends.js';
import { FakeEngine, endpoint, newLog, plan, retryPlan } from '../../helpers/http-fake-engine.js';

const engine = new FakeEngine();
const records: RequestRecord[] = [];
const mesh = new MeshDispatcher({ engine, records: () => (r) => records.push(r) });
const backends: Backend[] = [];

after(async () => {
  await Promise.all([mesh.close(), ...backends.map((b) => b.close())]);
});

interface Slow extends Backend {
  aborted(): number;
  /** When the last request arrived and when a caller last hung up early (performance.now()). */
  times: { hit: number; abort: number };
}

/** A backend that answers `status` after `ms`, and counts requests whose caller hung up first. */
async function slow(name: string, ms: number, status = 200): Promise<Slow> {
  let aborted = 0;
  const times = { hit: 0, abort: 0 };
  const behaviour: Behaviour = async (_h, res: ServerResponse) => {
    times.hit = performance.now();
    res.on('close', () => {
      if (res.writableFinished) return;
      aborted++;
      times.abort = performance.now();
    });
    await sleep(ms);
    if (!res.destroyed) reply(res, status, name);
  };
  const b = await startBackend(name, behaviour);
  backends.push(b);
  return Object.assign(b, { aborted: () => aborted, times });
}

async function get(method = 'GET'): Promise<{ status: number; body: string; flags: string; ms: number }> {
  const t0 = performance.now();
  const res = await request('http://reviews:9080/', { dispatcher: mesh, method, ...(method === 'POST' ? { body: 'x' } : {}) });
  const body = await res.body.text();
  return { status: res.statusCode, body, flags: String(res.headers['x-meshlet-response-flags'] ?? ''), ms: performance.now() - t0 };
}

test('hedge: the slow attempt keeps running, a parallel attempt to another host answers, the loser is aborted', async () => {
  const a = await slow('a-slow', 2_000);
  const b = await slow('b-fast', 0);
  const log = newLog();
  // 300 ms per try: the hedge's own per-try timer must not also expire before b-fast's answer is
  // read (at 80 ms a loaded CI box once started a third, correct but unexpected, hedge).
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], log, { retry: retryPlan({ perTryTimeoutMs: 300, hedgeOnPerTryTimeout: true }) }) });
  const r = await get();
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b-fast');
  assert.ok(r.ms < 1_000, `answered in ${r.ms} ms`);
  assert.deepEqual(log.started, [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
  // The per-try timeout is reported to outlier detection; the loser ends as cancelled.
  assert.deepEqual(log.ended.map((e) => e.outcome), [{ kind: 'timeout' }, { kind: 'response', status: 200 }]);
  await waitUntil(() => a.aborted() === 1, 'the losing attempt is aborted upstream');
  assert.ok(a.times.abort > b.times.hit, 'the first attempt was still in flight when the hedge reached the other host');
  assert.equal(log.retrySlots, log.retryReleased);
  assert.equal(log.admitted, log.released);
  const rec = records.at(-1);
  assert.equal(rec?.attempts, 2);
  assert.equal(rec?.endpoint, `127.0.0.1:${b.port}`);
});

test('hedge: the first attempt still wins when it answers before the hedge (a plain retry would have cancelled it)', async () => {
  const a = await slow('a', 250);
  // The hedge's backend answers much later than the first attempt's: on a loaded machine equal
  // delays (hedge sent at 80 ms) let the event loop decide which answer is read first.
  const b = await slow('b', 1500);
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], log, { retry: retryPlan({ numRetries: 1, perTryTimeoutMs: 80, hedgeOnPerTryTimeout: true }) }) });
  const r = await get();
  assert.equal(r.status, 200);
  assert.equal(r.body, 'a');
  assert.equal(log.started.length, 2);
  await waitUntil(() => b.aborted() === 1, 'the hedge is aborted once the first attempt won');
  assert.equal(a.aborted(), 0);

  // The same route without hedging: each attempt is cancelled at its per-try timeout.
  const plain = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], plain, { retry: retryPlan({ numRetries: 1, perTryTimeoutMs: 80 }) }) });
  const p = await get();
  assert.equal(p.status, 504);
  assert.match(p.flags, /UT/);
});

test('hedge: a retriable 503 from the hedged attempt is dropped while the newer attempt can still answer', async () => {
  const a = await slow('a-503', 150, 503);
  const b = await slow('b-ok', 250);
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], log, { retry: retryPlan({ numRetries: 1, perTryTimeoutMs: 100, hedgeOnPerTryTimeout: true }) }) });
  const r = await get();
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b-ok');
  assert.equal(a.hits.length, 1);
  assert.equal(b.hits.length, 1);
});

test('hedge: POST is never duplicated; its per-try timeout is soft on a hedged route', async () => {
  const a = await slow('a-post', 200);
  const b = await slow('b-post', 0);
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], log, { retry: retryPlan({ perTryTimeoutMs: 50, hedgeOnPerTryTimeout: true }) }) });
  const r = await get('POST');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'a-post');
  assert.equal(b.hits.length, 0);
  assert.deepEqual(log.started, [`127.0.0.1:${a.port}`]);
});

test('hedge: the overall timeout ends every racing attempt with 504 UT', async () => {
  const a = await slow('a-hang', 1_500);
  const b = await slow('b-hang', 1_500);
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], log, { timeoutMs: 250, retry: retryPlan({ numRetries: 1, perTryTimeoutMs: 60, hedgeOnPerTryTimeout: true }) }) });
  const r = await get();
  assert.equal(r.status, 504);
  assert.match(r.flags, /UT/);
  assert.ok(r.ms < 1_000, `answered in ${r.ms} ms`);
  assert.equal(log.started.length, 2);
  await waitUntil(() => a.aborted() === 1 && b.aborted() === 1, 'both attempts are aborted upstream');
  assert.equal(log.admitted, log.released);
  assert.equal(log.retrySlots, log.retryReleased);
});

test('hedge: with the retry budget spent there is no hedge; the first attempt carries on (URX)', async () => {
  const a = await slow('a-alone', 200);
  const b = await slow('b-unused', 0);
  const log = newLog();
  engine.next = () => ({ kind: 'forward', plan: plan([endpoint(a.port), endpoint(b.port)], log, { retryBudget: 0, retry: retryPlan({ perTryTimeoutMs: 50, hedgeOnPerTryTimeout: true }) }) });
  const r = await get();
  assert.equal(r.status, 200);
  assert.equal(r.body, 'a-alone');
  assert.equal(r.flags, 'URX');
  assert.equal(b.hits.length, 0);
});

async function waitUntil(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !pred(); i++) await sleep(20);
  assert.ok(pred(), what);
}
