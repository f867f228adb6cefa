import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRetryPlan, isIdempotent } from '../../../src/core/resilience/retry.js';
import type { CallPlan, UpstreamEndpoint } from '../../../src/core/types.js';
import { CLUSTER, OUTLIER, cluster, flat, listener, oneService, req, route, routeConfig, FQDN } from './fixtures.js';

function planOf(engine: ReturnType<typeof oneService>): CallPlan {
  const r = engine.route(req());
  assert.equal(r.kind, 'forward');
  return (r as { plan: CallPlan }).plan;
}

function fail(plan: CallPlan, ep: UpstreamEndpoint, times: number, status = 503): void {
  for (let i = 0; i < times; i++) {
    plan.startAttempt(ep);
    plan.endAttempt(ep, { kind: 'response', status });
  }
}

test('circuit breaker: overflow → UO at maxRequests and at maxConnections + maxPending', () => {
  const engine = oneService({ cluster: { circuitBreakers: { maxConnections: 2, maxPendingRequests: 1, maxRequests: 10, maxRetries: 3 } } });
  const plan = planOf(engine);
  const slots = [plan.admit(), plan.admit(), plan.admit()];
  assert.ok(slots.every((s) => s.ok));
  assert.deepEqual(plan.admit(), { ok: false, flag: 'UO' });
  assert.equal(engine.stats().clusters[CLUSTER]?.pending, 1);
  const first = slots[0]!;
  if (first.ok) {
    first.release();
    first.release(); // idempotent
  }
  assert.equal(engine.stats().clusters[CLUSTER]?.active, 2);
  assert.ok(plan.admit().ok);
  assert.equal(engine.stats().clusters[CLUSTER]?.overflows, 1);
  const byRequests = planOf(oneService({ cluster: { circuitBreakers: { maxConnections: 100, maxPendingRequests: 100, maxRequests: 1, maxRetries: 3 } } }));
  assert.ok(byRequests.admit().ok);
  assert.deepEqual(byRequests.admit(), { ok: false, flag: 'UO' });
});

test('no retry budget unless the cluster has one (Istio sets none): only max_retries limits concurrent retries', () => {
  const plan = planOf(oneService({ cluster: { circuitBreakers: { maxConnections: 1000, maxPendingRequests: 1000, maxRequests: 1000, maxRetries: 4294967295 } } }));
  for (let i = 0; i < 4; i++) assert.ok(plan.admit().ok);
  for (let i = 0; i < 50; i++) assert.ok(plan.admitRetry().ok, `retry ${i} with 4 requests in flight`);
});

test('a configured retry budget caps concurrent retries at max(min, percent of first attempts in flight); max_retries → UO', () => {
  const engine = oneService({ cluster: { circuitBreakers: { maxConnections: 1000, maxPendingRequests: 1000, maxRequests: 1000, maxRetries: 1000, retryBudget: { percent: 20, minRetryConcurrency: 3 } } } });
  const plan = planOf(engine);
  for (let i = 0; i < 5; i++) assert.ok(plan.admit().ok);
  const retries = [plan.admitRetry(), plan.admitRetry(), plan.admitRetry()];
  assert.ok(retries.every((r) => r.ok), 'minimum of 3 concurrent retries');
  assert.deepEqual(plan.admitRetry(), { ok: false, flag: 'URX' });
  for (let i = 0; i < 45; i++) plan.admit(); // 50 active: r retries allowed while r < 20% of (50 − r)
  let admitted = 3;
  while (plan.admitRetry().ok) admitted++;
  assert.equal(admitted, 8);
  const r0 = retries[0]!;
  if (r0.ok) r0.release();
  assert.equal(engine.stats().clusters[CLUSTER]?.retriesActive, 7);

  const small = planOf(oneService({ cluster: { circuitBreakers: { maxConnections: 1000, maxPendingRequests: 1000, maxRequests: 1000, maxRetries: 1 } } }));
  assert.ok(small.admitRetry().ok);
  assert.deepEqual(small.admitRetry(), { ok: false, flag: 'UO' });
});

test('retry plan: conditions, idempotency, backoff', () => {
  const p = compileRetryPlan({ retryOn: ['5xx', 'retriable-status-codes', 'retriable-4xx'], numRetries: 2, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [418] }, false);
  assert.equal(p.shouldRetry({ kind: 'response', status: 500 }, isIdempotent('GET')), true);
  assert.equal(p.shouldRetry({ kind: 'response', status: 404 }, isIdempotent('GET')), false);
  assert.equal(p.shouldRetry({ kind: 'response', status: 418 }, isIdempotent('GET')), true);
  assert.equal(p.shouldRetry({ kind: 'response', status: 409 }, isIdempotent('PUT')), true);
  assert.equal(p.shouldRetry({ kind: 'response', status: 503 }, isIdempotent('POST')), false, 'POST saw the request');
  assert.equal(p.shouldRetry({ kind: 'connect-failure' }, isIdempotent('POST')), true);
  assert.equal(p.shouldRetry({ kind: 'reset', beforeRequestSent: true }, isIdempotent('POST')), true);
  assert.equal(p.shouldRetry({ kind: 'reset', beforeRequestSent: false }, isIdempotent('POST')), false);
  const gw = compileRetryPlan({ retryOn: ['gateway-error'], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, true);
  for (const on of ['gateway-error', '5xx', 'reset']) {
    const p2 = compileRetryPlan({ retryOn: [on], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
    assert.equal(p2.shouldRetry({ kind: 'reset', beforeRequestSent: false }, isIdempotent('GET')), true, `${on} retries a connection reset (wouldRetryFromReset)`);
    assert.equal(p2.shouldRetry({ kind: 'timeout' }, isIdempotent('GET')), true, `${on} retries a per-try timeout (onPerTryTimeout)`);
    assert.equal(p2.shouldRetry({ kind: 'connect-failure' }, isIdempotent('GET')), true, `${on} retries a connect failure`);
  }
  const rbr = compileRetryPlan({ retryOn: ['reset-before-request'], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
  assert.equal(rbr.shouldRetry({ kind: 'reset', beforeRequestSent: true }, isIdempotent('POST')), true);
  assert.equal(rbr.shouldRetry({ kind: 'reset', beforeRequestSent: false }, isIdempotent('GET')), false);
  assert.equal(rbr.shouldRetry({ kind: 'timeout' }, isIdempotent('GET')), false);
  const cf = compileRetryPlan({ retryOn: ['connect-failure'], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
  assert.equal(cf.shouldRetry({ kind: 'reset', beforeRequestSent: false }, isIdempotent('GET')), false, 'connect-failure alone does not retry a reset');
  assert.equal(gw.shouldRetry({ kind: 'response', status: 500 }, isIdempotent('GET')), false);
  assert.equal(gw.shouldRetry({ kind: 'response', status: 504 }, isIdempotent('POST')), true, 'opt-in retries non-idempotent');
  const top = () => 0.999_999;
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => p.backoffMs(n, top)), [25, 50, 100, 200, 250]);
  assert.equal(p.backoffMs(3, () => 0), 0);
});

test('route metadata meshlet.retryNonIdempotent opts POST into retries', () => {
  const engine = oneService({ routes: [route({ metadata: { meshlet: { retryNonIdempotent: true } }, retryPolicy: { retryOn: ['5xx'], numRetries: 2, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [], perTryTimeoutMs: 100 } })] });
  const retry = planOf(engine).retry!;
  assert.equal(retry.retryNonIdempotent, true);
  assert.equal(retry.perTryTimeoutMs, 100);
  assert.equal(retry.shouldRetry({ kind: 'response', status: 500 }, isIdempotent('POST')), true);
});

test('route hedge policy: the plan hedges idempotent methods only', () => {
  const policy = { retryOn: ['5xx'], numRetries: 2, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [], perTryTimeoutMs: 100 };
  const hedged = planOf(oneService({ routes: [route({ hedgeOnPerTryTimeout: true, retryPolicy: policy })] })).retry!;
  assert.equal(hedged.hedgeOnPerTryTimeout, true);
  assert.deepEqual(['GET', 'head', 'PUT', 'DELETE', 'OPTIONS', 'POST', 'PATCH'].map((m) => hedged.hedges(isIdempotent(m))), [true, true, true, true, true, false, false]);
  const plain = planOf(oneService({ routes: [route({ retryPolicy: policy })] })).retry!;
  assert.equal(plain.hedgeOnPerTryTimeout, false);
  assert.equal(plain.hedges(isIdempotent('GET')), false);
});

test('outlier detection: eject after N consecutive 5xx, return after base × count, growing time', () => {
  const clock = { t: 1_000_000 };
  const engine = oneService({ clock, cluster: { outlierDetection: { ...OUTLIER, consecutive5xx: 3, consecutiveGatewayFailure: 0 } }, endpoints: flat(CLUSTER, 3) });
  const plan = planOf(engine);
  const bad = plan.pick()!;
  fail(plan, bad, 2);
  plan.endAttempt(bad, { kind: 'response', status: 200 }); // a success resets the count
  fail(plan, bad, 2);
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, []);
  fail(plan, bad, 1);
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, [bad.key]);
  for (let i = 0; i < 100; i++) assert.notEqual(plan.pick()?.key, bad.key);
  clock.t += 29_999;
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, [bad.key]);
  clock.t += 1;
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) seen.add(plan.pick()!.key);
  assert.ok(seen.has(bad.key), 'back after base ejection time');
  // Second ejection lasts 2 × base.
  fail(plan, bad, 3);
  clock.t += 59_999;
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, [bad.key]);
  clock.t += 1;
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, []);
  // After a long healthy stretch the multiplier decays: next ejection is base × 1 again.
  clock.t += 10 * OUTLIER.intervalMs;
  fail(plan, bad, 3);
  clock.t += 30_000;
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, []);
});

test('outlier detection: connect failures count; gateway failures; maxEjectionPercent', () => {
  const engine = oneService({ cluster: { outlierDetection: { ...OUTLIER, consecutive5xx: 0, consecutiveGatewayFailure: 2, maxEjectionPercent: 34 } }, endpoints: flat(CLUSTER, 3) });
  const plan = planOf(engine);
  const [a, b] = [plan.pick()!, plan.pick()!];
  plan.endAttempt(a, { kind: 'connect-failure' });
  plan.endAttempt(a, { kind: 'timeout' });
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, [a.key]);
  fail(plan, b, 2, 502);
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, [a.key], '2 of 3 would exceed 34%');
  const none = oneService({ cluster: { outlierDetection: { ...OUTLIER, consecutive5xx: 1, maxEjectionPercent: 10 } }, endpoints: flat(CLUSTER, 3) });
  const p2 = planOf(none);
  fail(p2, p2.pick()!, 1, 500);
  assert.deepEqual(none.stats().clusters[CLUSTER]?.ejected, [], '10% of 3 hosts: none (Envoy)');
  const split = oneService({ cluster: { outlierDetection: { ...OUTLIER, consecutive5xx: 2, consecutiveLocalOriginFailure: 3, splitExternalLocalOriginErrors: true } } });
  const p3 = planOf(split);
  const h = p3.pick()!;
  p3.endAttempt(h, { kind: 'connect-failure' });
  p3.endAttempt(h, { kind: 'connect-failure' });
  assert.deepEqual(split.stats().clusters[CLUSTER]?.ejected, []);
  p3.endAttempt(h, { kind: 'connect-failure' });
  assert.deepEqual(split.stats().clusters[CLUSTER]?.ejected, [h.key]);
});

test('least request counters and state survive update()', () => {
  const clock = { t: 5_000_000 };
  const engine = oneService({ clock, cluster: { outlierDetection: { ...OUTLIER, consecutive5xx: 1 } }, endpoints: flat(CLUSTER, 3) });
  const plan = planOf(engine);
  assert.ok(plan.admit().ok);
  const bad = plan.pick()!;
  fail(plan, bad, 1);
  // New snapshot: same cluster, one more endpoint.
  const name = `${FQDN}:9080`;
  engine.update({
    listeners: new Map([[name, listener(name)]]),
    routes: new Map([[name, routeConfig(name, [route()], ['*'])]]),
    clusters: new Map([[CLUSTER, cluster(CLUSTER, { outlierDetection: { ...OUTLIER, consecutive5xx: 1 } })]]),
    endpoints: new Map([[CLUSTER, flat(CLUSTER, 4)]]),
  });
  const s = engine.stats().clusters[CLUSTER]!;
  assert.equal(s.active, 1, 'breaker counters carried over');
  assert.deepEqual(s.ejected, [bad.key], 'ejection carried over');
  const fresh = planOf(engine);
  for (let i = 0; i < 40; i++) assert.notEqual(fresh.pick()?.key, bad.key);
  // An in-flight attempt from the old snapshot still lands on the same host state.
  const ep = fresh.pick()!;
  fresh.startAttempt(ep);
  plan.endAttempt(ep, { kind: 'response', status: 200 });
  clock.t += 30_000;
  assert.deepEqual(engine.stats().clusters[CLUSTER]?.ejected, []);
});

test('gRPC retry_on names map to status codes', () => {
  const p = compileRetryPlan({ retryOn: ['unavailable', 'cancelled'], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
  const answered = (grpcStatus: number, status: number) => p.shouldRetry({ kind: 'response', status, grpcStatus }, true);
  assert.equal(answered(14, 503), true);
  assert.equal(answered(1, 499), true);
  assert.equal(answered(13, 500), false);
  // Envoy's wouldRetryFromHeaders: the gRPC names match a grpc-status an upstream answered with,
  // never a connection failure or reset (those are connect-failure / reset / 5xx).
  assert.equal(p.shouldRetry({ kind: 'connect-failure' }, true), false);
  assert.equal(p.shouldRetry({ kind: 'reset', beforeRequestSent: false }, true), false);
  // A gRPC answer's :status is 200: HTTP conditions never match it.
  const http = compileRetryPlan({ retryOn: ['5xx', 'retriable-status-codes'], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [503] }, false);
  assert.equal(http.shouldRetry({ kind: 'response', status: 503, grpcStatus: 14 }, true), false);
  assert.equal(http.shouldRetry({ kind: 'response', status: 503 }, true), true);
  // A timed-out gRPC attempt is DEADLINE_EXCEEDED to its client: deadline-exceeded covers it.
  const dl = compileRetryPlan({ retryOn: ['deadline-exceeded'], numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
  assert.equal(dl.shouldRetry({ kind: 'timeout', grpcStatus: 4 }, true), true);
  assert.equal(dl.shouldRetry({ kind: 'timeout' }, true), false);
});
