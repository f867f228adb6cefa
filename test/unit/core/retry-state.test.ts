// core's attempt/retry state machine under node:test's fake timers (Date and setTimeout): a
// tiny driver plays the adapter (one DeadlineTimer, attempts as plain objects), the plan is the
// engine's own compiled RetryPlan over fake endpoints and a counting retry budget.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRetryPlan, isIdempotent } from '../../../src/core/resilience/retry.js';
import { RetryAttempt, RetryState, type TimerVerdict } from '../../../src/core/resilience/retry-state.js';
import type { AttemptOutcome, CallPlan, UpstreamEndpoint } from '../../../src/core/index.js';
import type { RetryPolicyModel } from '../../../src/core/model/index.js';
import { DeadlineTimer } from '../../../src/internal/timer.js';

const T0 = 1_700_000_000_000;
const TOP = () => 0.99999; // backoff = its ceiling: 25, 50, 100 ms …

class FakeAttempt extends RetryAttempt {
  constructor(readonly endpoint: UpstreamEndpoint) {
    super();
  }
}

interface PlanOptions {
  retry?: Partial<RetryPolicyModel>;
  hedge?: boolean;
  endpoints?: number;
  /** Retry slots the budget grants (default: unlimited). */
  budget?: number;
  budgetFlag?: 'URX' | 'UO';
}

function fakePlan(o: PlanOptions = {}) {
  const eps: UpstreamEndpoint[] = Array.from({ length: o.endpoints ?? 3 }, (_, i) => ({ key: `10.0.0.${i}:80`, address: `10.0.0.${i}`, port: 80, labels: {}, locality: { region: '', zone: '', subZone: '' } }));
  const slots = { held: 0, taken: 0 };
  let rr = 0;
  const retry = o.retry === undefined ? undefined : compileRetryPlan({ retryOn: ['5xx', 'connect-failure'], numRetries: 2, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [], ...o.retry }, false, o.hedge ?? false);
  const plan: CallPlan = {
    routeName: 'r', clusterName: 'c', mirrors: [], requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] },
    ...(retry ? { retry } : {}),
    admit: () => ({ ok: true, release() {} }),
    admitRetry: () => {
      if (o.budget !== undefined && slots.taken >= o.budget) return { ok: false, flag: o.budgetFlag ?? 'URX' };
      slots.taken++;
      slots.held++;
      let released = false;
      return { ok: true, release: () => void (!released && (released = true, slots.held--)) };
    },
    pick: (tried) => {
      const free = eps.filter((e) => !tried?.includes(e));
      return free.length > 0 ? free[rr++ % free.length] : undefined;
    },
    startAttempt() {},
    endAttempt() {},
  };
  return { plan, slots, eps };
}

/** The adapter's part: one timer at timerAt(), attempts started on 'start', verdicts logged. */
class Driver extends RetryState<FakeAttempt> {
  readonly verdicts: TimerVerdict[] = [];
  readonly started: FakeAttempt[] = [];
  private readonly timer = new DeadlineTimer({ onDeadline: () => this.fire() });

  constructor(readonly p: CallPlan, method = 'GET', timeoutMs?: number) {
    super(p, isIdempotent(method), true, TOP);
    this.startDeadline(timeoutMs);
  }

  send(): FakeAttempt | undefined {
    const endpoint = this.pick();
    if (!endpoint) {
      this.onNoHost();
      return undefined;
    }
    const a = new FakeAttempt(endpoint);
    this.onAttemptStart(a, endpoint);
    this.started.push(a);
    this.arm();
    return a;
  }

  result(a: FakeAttempt, outcome: AttemptOutcome) {
    const v = this.onAttemptResult(a, outcome);
    this.arm();
    return v;
  }

  arm(): void {
    this.timer.set(this.done ? Infinity : this.timerAt());
  }

  private fire(): void {
    for (;;) {
      const v = this.onTimer();
      this.verdicts.push(v);
      if (v === 'idle') return this.arm();
      if (v === 'start') return void this.send();
      if (v === 'timeout') return void this.settle();
    }
  }
}

const r = (status: number): AttemptOutcome => ({ kind: 'response', status });

describe('RetryState (fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
  afterEach(() => mock.timers.reset());

  test('a retriable response schedules a retry after the jittered backoff, on another host', () => {
    const { plan, slots } = fakePlan({ retry: {} });
    const d = new Driver(plan);
    const a1 = d.send()!;
    assert.equal(d.result(a1, r(503)), 'retry');
    assert.equal(d.retryAt, T0 + 25, 'first backoff: base 25 ms');
    assert.equal(slots.held, 1, 'the retry holds its budget slot during the backoff');
    mock.timers.tick(24);
    assert.equal(d.started.length, 1);
    mock.timers.tick(1);
    assert.equal(d.started.length, 2);
    const a2 = d.started[1]!;
    assert.notEqual(a2.endpoint, a1.endpoint, 'previous hosts are skipped');
    assert.equal(a2.retrySlot !== undefined, true, 'the slot moved to the retry');
    assert.equal(d.result(a2, r(503)), 'retry');
    assert.equal(slots.held, 1, 'the first slot was freed when its outcome was known: one at a time');
    assert.equal(d.retryAt, Date.now() + 50, 'second backoff doubles');
    mock.timers.tick(50);
    const a3 = d.started[2]!;
    assert.ok(![a1.endpoint, a2.endpoint].includes(a3.endpoint));
    assert.equal(d.result(a3, r(503)), 'done');
    assert.deepEqual(d.flags, ['URX'], 'retries exhausted');
    assert.equal(d.attempts, 3);
    assert.equal(slots.held, 0);
  });

  test('a response the policy does not cover is final; so is a non-idempotent request the upstream saw', () => {
    const d = new Driver(fakePlan({ retry: {} }).plan);
    assert.equal(d.result(d.send()!, r(404)), 'done');
    assert.deepEqual(d.flags, []);
    const post = new Driver(fakePlan({ retry: {} }).plan, 'POST');
    assert.equal(post.result(post.send()!, r(503)), 'done');
    const cf = new Driver(fakePlan({ retry: {} }).plan, 'POST');
    assert.equal(cf.result(cf.send()!, { kind: 'connect-failure' }), 'retry', 'a connect failure never reached the app');
  });

  test('failures that end the call carry their flag: UF, UC, UT', () => {
    const cases: Array<[AttemptOutcome, string]> = [[{ kind: 'connect-failure' }, 'UF'], [{ kind: 'reset', beforeRequestSent: false }, 'UC'], [{ kind: 'timeout' }, 'UT']];
    for (const [outcome, flag] of cases) {
      const d = new Driver(fakePlan().plan);
      assert.equal(d.result(d.send()!, outcome), 'done');
      assert.deepEqual(d.flags, [flag]);
    }
  });

  test('the budget refusing a retry ends the call with its flag (URX, UO)', () => {
    for (const flag of ['URX', 'UO'] as const) {
      const { plan, slots } = fakePlan({ retry: {}, budget: 0, budgetFlag: flag });
      const d = new Driver(plan);
      assert.equal(d.result(d.send()!, r(503)), 'done');
      assert.deepEqual(d.flags, [flag]);
      assert.equal(slots.taken, 0);
    }
  });

  test('the deadline is not checked against the backoff: it ends the call inside it (504 UT), freeing the slot', () => {
    const { plan, slots } = fakePlan({ retry: { backoff: { baseMs: 500, maxMs: 500 } } });
    const d = new Driver(plan, 'GET', 100);
    assert.equal(d.result(d.send()!, r(503)), 'retry', 'scheduled although the backoff outlasts the deadline (Envoy)');
    mock.timers.tick(99);
    assert.deepEqual(d.verdicts, []);
    mock.timers.tick(1);
    assert.deepEqual(d.verdicts, ['timeout']);
    assert.deepEqual(d.flags, ['UT']);
    assert.equal(d.started.length, 1, 'no attempt after the deadline');
    assert.equal(slots.held, 0);
    // A failure reported once the deadline has ended the call is not retried.
    const late = new Driver(fakePlan({ retry: {} }).plan, 'GET', 100);
    const a = late.send()!;
    mock.timers.tick(100);
    assert.equal(late.onAttemptResult(a, r(503)), 'done');
  });

  test('a retriable result that arrives after the deadline, before its timer ran, ends the call as the timer does (UT), not with that result', () => {
    const { plan, slots } = fakePlan({ retry: {} });
    const d = new Driver(plan, 'GET', 100);
    const a = d.send()!;
    mock.timers.setTime(T0 + 150); // the deadline passed; its timer has not run yet (a busy event loop)
    assert.equal(d.result(a, r(503)), 'retry', 'scheduled, as Envoy does: the due timeout ends it');
    assert.deepEqual(d.flags, []);
    mock.timers.tick(0);
    assert.deepEqual(d.verdicts, ['timeout']);
    assert.deepEqual(d.flags, ['UT']);
    assert.equal(d.started.length, 1, 'no attempt after the deadline');
    assert.equal(slots.held, 0, 'the retry slot is freed');
  });

  test('a per-try timeout abandons the attempt and retries; when none is left the call times out (URX, UT)', () => {
    const { plan, slots } = fakePlan({ retry: { numRetries: 1, perTryTimeoutMs: 50 } });
    const d = new Driver(plan, 'GET', 1000);
    const a1 = d.send()!;
    assert.equal(d.timerAt(), T0 + 50, 'the nearer of the per-try and the route deadline');
    mock.timers.tick(50);
    assert.deepEqual(d.verdicts.slice(0, 1), ['retry']);
    assert.equal(d.isLive(a1), false);
    mock.timers.tick(25);
    assert.equal(d.started.length, 2);
    assert.equal(d.timerAt(), T0 + 125);
    mock.timers.tick(50);
    assert.equal(d.verdicts.at(-1), 'timeout');
    assert.deepEqual(d.flags, ['URX', 'UT']);
    assert.equal(slots.held, 0);
  });

  test('hedging: a per-try timeout starts a parallel attempt; the first one can still win and the hedge is the loser', () => {
    const { plan } = fakePlan({ retry: { numRetries: 1, perTryTimeoutMs: 50, retryOn: ['unavailable'] }, hedge: true });
    const d = new Driver(plan);
    const a1 = d.send()!;
    mock.timers.tick(50);
    assert.deepEqual(d.verdicts, ['hedge', 'idle'], 'retry_on need not cover the timeout (shouldHedgeRetryPerTryTimeout)');
    assert.equal(d.isLive(a1), true, 'the first attempt keeps running');
    assert.equal(a1.hedged, true);
    mock.timers.tick(25);
    const a2 = d.started[1]!;
    assert.notEqual(a2.endpoint, a1.endpoint);
    assert.equal(d.onAttemptResult(a1, r(200)), 'done');
    assert.deepEqual(d.commit(a1), [a2]);
    assert.equal(d.committed, true);
    assert.equal(d.timerAt(), Infinity, 'no per-try timeout after the commit');
  });

  test('hedging: a retriable failure of one racer is dropped while another attempt can answer', () => {
    const { plan } = fakePlan({ retry: { numRetries: 1, perTryTimeoutMs: 50 }, hedge: true });
    const d = new Driver(plan);
    const a1 = d.send()!;
    mock.timers.tick(50); // the hedge is scheduled …
    mock.timers.tick(25); // … and starts after its backoff
    const a2 = d.started[1]!;
    assert.equal(d.result(a1, r(503)), 'wait');
    assert.equal(d.isLive(a1), false);
    assert.equal(d.result(a2, r(200)), 'done');
    assert.equal(d.commit(a2), undefined, 'nothing left to abort');
  });

  test('hedging: POST, a stream-fed call (hedging off) and a spent budget get a soft timeout only', () => {
    const post = new Driver(fakePlan({ retry: { perTryTimeoutMs: 50 }, hedge: true }).plan, 'POST');
    const a = post.send()!;
    mock.timers.tick(50);
    assert.deepEqual(post.verdicts, ['soft', 'idle']);
    assert.equal(post.isLive(a), true, 'it carries on; its per-try deadline is spent');
    assert.equal(post.timerAt(), Infinity);

    class NoHedge extends RetryState<FakeAttempt> {}
    const off = new NoHedge(fakePlan({ retry: { perTryTimeoutMs: 50 }, hedge: true }).plan, true, true, TOP, { hedging: false });
    const b = new FakeAttempt(off.pick()!);
    off.onAttemptStart(b, b.endpoint);
    mock.timers.tick(50);
    assert.equal(off.onTimer(), 'soft');

    const spent = new Driver(fakePlan({ retry: { perTryTimeoutMs: 50 }, hedge: true, budget: 0 }).plan);
    spent.send();
    mock.timers.tick(50);
    assert.deepEqual(spent.verdicts, ['soft', 'idle']);
    assert.deepEqual(spent.flags, ['URX']);
    assert.equal(spent.racing, undefined);
  });

  test('no host for a retry: UH unless a hedged attempt may still answer', () => {
    const d = new Driver(fakePlan({ retry: {}, endpoints: 1 }).plan);
    assert.equal(d.result(d.send()!, r(503)), 'retry');
    mock.timers.tick(25);
    assert.deepEqual(d.flags, ['UH']);
    const h = new Driver(fakePlan({ retry: { perTryTimeoutMs: 50 }, hedge: true, endpoints: 1 }).plan);
    const a = h.send()!;
    mock.timers.tick(50);
    mock.timers.tick(25);
    assert.deepEqual(h.flags, []);
    assert.equal(h.isLive(a), true);
  });

  test("the caller's own deadline ends the call without UT; gRPC timeouts count as deadline-exceeded", () => {
    class Grpc extends RetryState<FakeAttempt> {}
    const { plan } = fakePlan({ retry: { retryOn: ['deadline-exceeded'], perTryTimeoutMs: 50 } });
    const g = new Grpc(plan, true, true, TOP, { timeoutOutcome: { kind: 'timeout', grpcStatus: 4 } });
    g.callerDeadline = T0 + 500;
    const a = new FakeAttempt(g.pick()!);
    g.onAttemptStart(a, a.endpoint);
    mock.timers.tick(50);
    assert.equal(g.onTimer(), 'retry', 'deadline-exceeded covers a timed-out gRPC attempt');
    mock.timers.tick(450);
    assert.equal(g.onTimer(), 'timeout');
    assert.deepEqual(g.flags, []);
  });

  test('settle() ends the call: the scheduled retry and its slot are dropped, open attempts returned', () => {
    const { plan, slots } = fakePlan({ retry: { perTryTimeoutMs: 50 }, hedge: true });
    const d = new Driver(plan);
    const a1 = d.send()!;
    mock.timers.tick(50);
    assert.equal(slots.held, 1);
    assert.deepEqual(d.settle(), [a1]);
    assert.equal(slots.held, 0);
    assert.equal(d.onTimer(), 'idle');
  });
});

describe('DeadlineTimer (fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
  afterEach(() => mock.timers.reset());

  test('keeps an earlier timer when the deadline moves later, re-arms when it moves earlier, Infinity cancels', () => {
    const fired: number[] = [];
    const t = new DeadlineTimer({ onDeadline: () => void fired.push(Date.now() - T0) });
    t.set(T0 + 100);
    t.set(T0 + 300);
    mock.timers.tick(100);
    assert.deepEqual(fired, [100], 'the earlier one fired; its owner re-arms');
    t.set(T0 + 300);
    t.set(T0 + 200);
    mock.timers.tick(100);
    assert.deepEqual(fired, [100, 200]);
    t.set(T0 + 400);
    t.set(Infinity);
    mock.timers.tick(1000);
    assert.deepEqual(fired, [100, 200]);
  });
});
