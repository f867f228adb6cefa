/**
 * One call's attempt/retry state machine, shared by the HTTP and gRPC adapters (Envoy's
 * `RetryStateImpl` plus the attempt bookkeeping of its router filter). It decides; the adapters
 * do the I/O: they send and abort attempts, arm one timer at {@link RetryState.timerAt} and
 * report back what happened. Nothing here touches a socket or a timer; the clock is read through
 * one overridable method, so the whole machine runs under a fake clock (node:test mock.timers).
 *
 * Semantics (Envoy's router.cc / retry_state_impl.cc):
 * - retry conditions are the plan's (`shouldRetry`: `wouldRetryFromHeaders`/`FromReset`);
 *   gRPC names (`unavailable`, …) match only a grpc-status an upstream answered with;
 * - the overall deadline is not checked against the backoff, nor when a result comes in: a
 *   retry is scheduled, and the deadline ends the call (UT) if it falls inside the backoff or
 *   has already passed (its timer not run yet), as Envoy's response timeout does;
 * - a per-try timeout on a hedged route is soft (`onSoftPerTryTimeout`): the attempt keeps
 *   racing and, when retries and the budget allow, another starts (`shouldHedgeRetryPerTryTimeout`
 *   retries regardless of retry_on); the first response that is not retriable wins;
 * - a retry takes a budget / max_retries slot when scheduled and frees it once that retry's
 *   outcome is known, so one call never holds two;
 * - flags: URX (retries or budget exhausted), UO (retry overflow), UT, UF, UC, UR, UH.
 *
 * Adapters extend this class (one object per call, no extra allocation) and their attempt type
 * extends {@link RetryAttempt}.
 */
import { previousHosts, recordTried, type TriedEndpoints } from './previous-hosts.js';
import type { AttemptOutcome, CallPlan, HeldSlot, ResponseFlag, RetryPlan, UpstreamEndpoint } from '../types.js';

/** What an adapter does with an attempt's outcome. */
export type AttemptVerdict =
  /** A retry is scheduled at `retryAt`: forget this attempt (abort it if still open), re-arm the timer. */
  | 'retry'
  /** Another attempt or a scheduled retry can still answer: forget this one, keep waiting. */
  | 'wait'
  /** This outcome answers the call: forward the response ({@link RetryState.commit}) or reply locally. */
  | 'done';

/** What an adapter does when its timer fires. */
export type TimerVerdict =
  /** Nothing due: re-arm at `timerAt()`. */
  | 'idle'
  /** The backoff is over: pick and start the next attempt. */
  | 'start'
  /** `expired` hit its per-try timeout and is abandoned; a retry is scheduled. */
  | 'retry'
  /** `expired` hit a soft per-try timeout: report a timeout for it, it keeps running; a hedge is scheduled. */
  | 'hedge'
  /** `expired` hit a soft per-try timeout and carries on alone (no hedge allowed). */
  | 'soft'
  /** The call timed out (overall deadline, or a per-try timeout with no retry left): end every attempt. */
  | 'timeout';

const TIMEOUT: AttemptOutcome = Object.freeze({ kind: 'timeout' });

/** The state machine's view of one attempt; adapters' attempt classes extend it. */
export class RetryAttempt {
  /** Per-try deadline (epoch ms); Infinity: none, committed, or already timed out softly. */
  perTryAt = Infinity;
  /** The retry-budget slot this attempt holds (retries only). */
  retrySlot: HeldSlot | undefined = undefined;
  /** Hedged at its per-try timeout (Envoy's `retried()`): races a newer attempt, never retried itself. */
  hedged = false;

  /** Frees the retry slot as soon as this retry's outcome is known (before the next retry asks for one). */
  releaseRetrySlot(): void {
    const slot = this.retrySlot;
    this.retrySlot = undefined;
    slot?.release();
  }
}

/** Per-protocol settings of a {@link RetryState}. */
export interface RetryStateOptions {
  /** Whether this call may run attempts in parallel at all (default true; gRPC: not for streamed requests). */
  readonly hedging?: boolean;
  /** The flag list to fill (gRPC shares the call's, which routing and the picker write too). */
  readonly flags?: ResponseFlag[];
  /** What a per-try timeout counts as (gRPC: `{ kind: 'timeout', grpcStatus: 4 }`); default `{ kind: 'timeout' }`. */
  readonly timeoutOutcome?: AttemptOutcome;
}

/** The flag list of a call that has none yet (shared, frozen: flag() replaces it). */
const NO_FLAGS = Object.freeze([]) as unknown as ResponseFlag[];

/**
 * The attempt/retry state of one call.
 *
 * @example
 * ```ts
 * const state = new RetryState(plan, isIdempotent('GET'), true, Math.random);
 * state.startDeadline(plan.timeoutMs);
 * const endpoint = state.pick();                 // previous hosts excluded on retries
 * const attempt = new RetryAttempt();
 * state.onAttemptStart(attempt, endpoint!);
 * // … the adapter sends it, arms one timer at state.timerAt() …
 * if (state.onAttemptResult(attempt, { kind: 'response', status: 503 }) === 'retry') {
 *   // arm the timer at state.timerAt(); onTimer() returns 'start' once the backoff is over
 * }
 * ```
 */
export class RetryState<A extends RetryAttempt = RetryAttempt> implements TriedEndpoints {
  /**
   * Response flags, each once, in the order they happened. Most calls end with none: they share
   * one frozen empty list and get their own on the first flag (read it; change it with flag()).
   */
  flags: ResponseFlag[];
  /** Attempts started (the first one included). */
  attempts = 0;
  /** The newest attempt: the one a per-try deadline applies to. */
  current: A | undefined = undefined;
  /** Older attempts still in flight after a hedge (undefined unless hedging happened). */
  racing: A[] | undefined = undefined;
  /** The attempt the last 'retry' / 'hedge' / 'soft' / 'timeout' timer verdict is about. */
  expired: A | undefined = undefined;
  /** Endpoint of the newest attempt; `tried` (previous hosts) exists only once a call retries. */
  lastTried: UpstreamEndpoint | undefined = undefined;
  tried: UpstreamEndpoint[] | undefined = undefined;
  /** Route deadline (epoch ms, Infinity: none); its expiry flags UT. */
  deadline = Infinity;
  /** The caller's own deadline (gRPC): ends the call without a flag. */
  callerDeadline = Infinity;
  /** When the scheduled retry starts (epoch ms, Infinity: none scheduled). */
  retryAt = Infinity;
  /** A response was forwarded to the caller: no more retries, no per-try timeouts. */
  committed = false;
  /** The call ended ({@link RetryState.settle}). */
  done = false;
  replayable: boolean;
  protected callPlan: CallPlan | undefined;
  private idempotent: boolean;
  private hedging: boolean;
  private random: () => number;
  private timeout: AttemptOutcome;
  /** The slot a scheduled retry holds during its backoff. */
  private pendingSlot: HeldSlot | undefined = undefined;

  /**
   * Positional rather than one options object: the HTTP adapter builds one state per request and
   * allocates nothing else for it. `idempotent`: safe to resend after the upstream saw it (HTTP:
   * the method; gRPC: always, as A6 and Envoy treat a route's policy). `replayable`: the request
   * can be sent again (adapters may clear it later: a streamed gRPC message went out).
   */
  constructor(plan: CallPlan | undefined, idempotent: boolean, replayable: boolean, random: () => number, options?: RetryStateOptions) {
    this.callPlan = plan;
    this.idempotent = idempotent;
    this.replayable = replayable;
    this.random = random;
    this.hedging = options?.hedging ?? true;
    this.timeout = options?.timeoutOutcome ?? TIMEOUT;
    this.flags = options?.flags ?? NO_FLAGS;
  }

  /** The clock (epoch ms); node:test's mock.timers drives it in tests. */
  protected now(): number {
    return Date.now();
  }

  /** Binds the plan once routing decided it (gRPC routes inside the channel, after the call started). */
  protected bindPlan(plan: CallPlan): void {
    this.callPlan = plan;
    const perTry = plan.retry?.perTryTimeoutMs;
    if (this.current && perTry !== undefined && perTry > 0) this.current.perTryAt = this.now() + perTry;
  }

  /** Starts the route timeout (ms from now; undefined or ≤ 0: none). */
  startDeadline(timeoutMs: number | undefined): void {
    if (timeoutMs !== undefined && timeoutMs > 0) this.deadline = this.now() + timeoutMs;
  }

  flag(flag: ResponseFlag): void {
    if (this.flags === NO_FLAGS) this.flags = [flag];
    else if (!this.flags.includes(flag)) this.flags.push(flag);
  }

  /** The endpoint for the next attempt, excluding previous hosts on retries (retry_host_predicate). */
  pick(): UpstreamEndpoint | undefined {
    return (this.callPlan as CallPlan).pick(previousHosts(this));
  }

  /**
   * No endpoint for a scheduled retry: 'wait' while hedged attempts may still answer, else
   * 'done' with UH (the adapter replies 503 no healthy upstream).
   */
  onNoHost(): 'wait' | 'done' {
    this.releasePending();
    if (this.racing) return 'wait';
    this.flag('UH');
    return 'done';
  }

  /** `a` was sent (to `endpoint`, when the adapter knows it yet): it is now the current attempt. */
  onAttemptStart(a: A, endpoint: UpstreamEndpoint | undefined): void {
    this.attempts++;
    this.current = a;
    this.retryAt = Infinity;
    a.retrySlot = this.pendingSlot;
    this.pendingSlot = undefined;
    const perTry = this.callPlan?.retry?.perTryTimeoutMs;
    a.perTryAt = perTry !== undefined && perTry > 0 ? this.now() + perTry : Infinity;
    if (endpoint) this.onPicked(endpoint);
  }

  /** Records the endpoint an attempt went to (for previous-hosts picks). */
  onPicked(endpoint: UpstreamEndpoint): void {
    recordTried(this, endpoint);
  }

  /** Is `a` still one the call waits for? */
  isLive(a: A): boolean {
    return a === this.current || (this.racing !== undefined && this.racing.includes(a));
  }

  /**
   * How `a` ended before anything was forwarded: a response (headers) or a failure (connect
   * failure, reset, timeout). On 'done' for a failure the flag (UF, UT, UC) is already set.
   */
  onAttemptResult(a: A, outcome: AttemptOutcome): AttemptVerdict {
    a.releaseRetrySlot();
    const retry = a.hedged ? false : this.mayRetry(outcome);
    if (retry === true) {
      this.forget(a);
      return 'retry';
    }
    const response = outcome.kind === 'response';
    if (this.othersPending(a) && (!response || this.callPlan?.retry?.shouldRetry(outcome, this.idempotent))) {
      // A retriable failure of one racer is dropped while another attempt can still answer.
      this.forget(a);
      return 'wait';
    }
    if (retry) this.flag(retry);
    if (!response) {
      if (outcome.kind !== 'timeout') this.flag(outcome.kind === 'connect-failure' ? 'UF' : 'UC');
      else if (!this.callerTimedOut(this.now())) this.flag('UT');
    }
    return 'done';
  }

  /**
   * `a`'s response goes to the caller: no more retries or per-try timeouts. Returns the other
   * attempts still in flight, for the adapter to abort (undefined when there are none: the
   * common case allocates nothing).
   */
  commit(a: A): A[] | undefined {
    this.committed = true;
    a.perTryAt = Infinity;
    this.releasePending();
    this.retryAt = Infinity;
    if (!this.racing && this.current === a) return undefined;
    const losers = this.racing ?? [];
    this.racing = undefined;
    const i = losers.indexOf(a);
    if (i >= 0) losers.splice(i, 1);
    if (this.current && this.current !== a) losers.push(this.current);
    this.current = a;
    return losers.length > 0 ? losers : undefined;
  }

  /** Takes every attempt still open, for the adapter to abort (undefined when none). */
  takeAll(): A[] | undefined {
    const all = this.racing;
    const current = this.current;
    this.racing = undefined;
    this.current = undefined;
    if (!current) return all;
    if (!all) return [current];
    all.push(current);
    return all;
  }

  /**
   * The call ends (the adapter delivers the ending): frees a scheduled retry's slot and returns
   * every attempt still open, for the adapter to abort (undefined when none).
   */
  settle(): A[] | undefined {
    this.done = true;
    this.releasePending();
    this.retryAt = Infinity;
    return this.takeAll();
  }

  /** The committed response failed mid-stream: the flag for it (UT for a timeout, else UR). */
  onStreamError(outcome: AttemptOutcome): void {
    this.flag(outcome.kind === 'timeout' ? 'UT' : 'UR');
  }

  /** When the adapter's one timer must fire next (epoch ms; Infinity: no timer). */
  timerAt(): number {
    let at = this.deadline < this.callerDeadline ? this.deadline : this.callerDeadline;
    if (this.retryAt < at) at = this.retryAt;
    const a = this.current;
    if (a && !this.committed && a.perTryAt < at) at = a.perTryAt;
    return at;
  }

  /** The adapter's timer fired (or it wants to know what is due). Call again until 'idle'. */
  onTimer(): TimerVerdict {
    this.expired = undefined;
    if (this.done) return 'idle';
    const now = this.now();
    if (now >= this.deadline || now >= this.callerDeadline) {
      if (now >= this.deadline) this.flag('UT');
      this.releasePending();
      this.retryAt = Infinity;
      return 'timeout';
    }
    const a = this.current;
    if (a && !this.committed && now >= a.perTryAt) return this.perTryTimeout(a);
    if (now >= this.retryAt) {
      this.retryAt = Infinity;
      return 'start';
    }
    return 'idle';
  }

  /**
   * The adapter's timer fired: runs what is due through the hooks below, until nothing is —
   * the one loop both adapters' timers call.
   */
  onDeadline(): void {
    for (;;) {
      switch (this.onTimer()) {
        case 'idle':
          return this.armTimer();
        case 'start':
          return this.startAttempt();
        case 'retry':
          this.abandonAttempt(this.expired as A);
          continue;
        case 'hedge':
        case 'soft':
          this.softTimeout(this.expired as A);
          continue;
        case 'timeout':
          return this.timedOut();
      }
    }
  }

  // Hooks for runTimer(), which the adapters implement (I/O lives there).
  /** Arm the one timer at timerAt() (Infinity: clear it). */
  protected armTimer(): void {}
  /** The backoff is over: pick an endpoint and send the next attempt (onNoHost when none). */
  protected startAttempt(): void {}
  /** A per-try timeout ended this attempt (a retry is scheduled): abort it upstream. */
  protected abandonAttempt(_a: A): void {}
  /** A soft per-try timeout: the attempt keeps running (report the timeout to outlier detection). */
  protected softTimeout(_a: A): void {}
  /** The call timed out (flags set): abort every open attempt (takeAll) and end the call. */
  protected timedOut(): void {}

  /** A per-try timeout: soft on a hedged route (Envoy's onSoftPerTryTimeout), else the attempt is over. */
  private perTryTimeout(a: A): TimerVerdict {
    a.perTryAt = Infinity;
    this.expired = a;
    const retry = this.callPlan?.retry as RetryPlan;
    if (retry.hedgeOnPerTryTimeout) {
      if (this.hedging && retry.hedges(this.idempotent)) {
        a.hedged = true;
        this.current = undefined;
        const racing = (this.racing ??= []);
        racing.push(a);
        const r = this.mayRetry(this.timeout, true);
        if (r === true) return 'hedge';
        if (r) this.flag(r);
        racing.pop();
        if (racing.length === 0) this.racing = undefined;
        a.hedged = false;
        this.current = a;
      }
      return 'soft';
    }
    a.releaseRetrySlot();
    const r = this.mayRetry(this.timeout);
    if (r === true) {
      this.current = undefined;
      return 'retry';
    }
    if (r) this.flag(r);
    this.flag('UT');
    return 'timeout'; // `a` stays open: the adapter aborts it with the rest
  }

  /**
   * Schedules a retry when the policy, the attempt count, the deadline and the budget allow it
   * (true); else the flag saying why not (URX, UO), or false. `hedge`: a hedge at a per-try
   * timeout, retried whatever retry_on says (shouldHedgeRetryPerTryTimeout).
   */
  private mayRetry(outcome: AttemptOutcome, hedge = false): true | 'URX' | 'UO' | false {
    const plan = this.callPlan;
    const retry = plan?.retry;
    if (!plan || !retry || retry.numRetries <= 0 || !this.replayable || this.done || this.committed) return false;
    if (!hedge && !retry.shouldRetry(outcome, this.idempotent)) return false;
    if (this.attempts > retry.numRetries) return 'URX';
    // A deadline that has already passed is not checked here either (Envoy schedules the retry
    // and its timeout, due, ends the call with UT): the result arrived before the adapter's
    // timer ran, and the call ends as that timer would have ended it, not with this result.
    const now = this.now();
    const slot = plan.admitRetry();
    if (!slot.ok) return slot.flag;
    this.pendingSlot = slot;
    this.retryAt = now + Math.max(0, retry.backoffMs(this.attempts, this.random));
    return true;
  }

  /** The caller's own deadline (not the route's) is what passed: a timeout without UT. */
  private callerTimedOut(now: number): boolean {
    return now >= this.callerDeadline && this.callerDeadline < this.deadline;
  }

  private releasePending(): void {
    const slot = this.pendingSlot;
    this.pendingSlot = undefined;
    slot?.release();
  }

  /** Another attempt in flight or a retry scheduled, besides `a`. */
  private othersPending(a: A): boolean {
    if (this.retryAt !== Infinity) return true;
    if (this.current && this.current !== a) return true;
    return this.racing !== undefined && this.racing.some((r) => r !== a);
  }

  /** Forgets an attempt that failed or was discarded. */
  forget(a: A): void {
    if (this.current === a) this.current = undefined;
    else if (this.racing) {
      const i = this.racing.indexOf(a);
      if (i >= 0) this.racing.splice(i, 1);
      if (this.racing.length === 0) this.racing = undefined;
    }
  }
}
