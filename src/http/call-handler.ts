/**
 * The state of one routed (`forward`) request, undici-style: the interceptor logic lives here,
 * not in the dispatcher (CONVENTIONS 1). Order of a call, as in Envoy's filter chain:
 * fault delay → fault abort → circuit breaker admission → mirrors → attempts (pick, send,
 * retry with backoff) under one deadline timer. Every failure reaches the caller's
 * `onResponseError` or becomes a local reply; nothing is thrown.
 *
 * Hedging (route hedge_policy.hedge_on_per_try_timeout, idempotent methods only) follows
 * Envoy's router: a per-try timeout leaves the attempt running ("racing") and starts another
 * through the normal retry path (budget, backoff, previous hosts); the first response that is
 * not retriable wins and the others are aborted; a retriable failure of one racer is dropped
 * while another attempt or a scheduled retry can still answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { AttemptOutcome, CallPlan, Engine, HeldSlot, ResponseFlag, UpstreamEndpoint } from '../core/types.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/timer.js';
import { Attempt, CALLER_ENDED, classifyError, responseOutcome, type AttemptOwner } from './attempt.js';
import { readBody, shouldBuffer } from './body-buffer.js';
import { CallerController, localReply, rawOf, safely, swallowed, type ControllerHooks, type DispatchHandler } from './handler.js';
import { FLAGS_HEADER, responseHeaders, withSetCookie, type HeaderRecord } from './headers.js';
import { LOCAL_REPLY, originOf, replayable, sendMirrors, upstreamOptions } from './upstream.js';
import type { RecordSink } from '../telemetry/record.js';

/** What every call of one dispatcher shares (one object per dispatcher). */
export interface CallContext {
  readonly agent: Dispatcher;
  /** Sends an attempt upstream, honouring the cluster's `maxRequestsPerConnection` (undefined: unlimited). */
  dispatchUpstream(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, maxRequestsPerConnection: number | undefined): void;
  readonly engine: Engine;
  readonly random: () => number;
}

/** The request after routing: what goes upstream. */
export interface RoutedRequest {
  readonly opts: Dispatcher.DispatchOptions;
  readonly method: string;
  readonly host: string;
  /** Original path (for records). */
  readonly path: string;
  /** Path sent upstream (rewritten). */
  readonly upstreamPath: string;
  /** Request headers after the route's mutation, `host` set. */
  readonly headers: HeaderRecord;
  /** TLS server name matching the Host header, when known (spares undici deriving it per request). */
  readonly servername?: string | undefined;
}

const RETRY_ABORT = new Error('meshlet: attempt abandoned for a retry');
const TIMEOUT_ABORT = new Error('meshlet: attempt timed out');
const HEDGE_LOST = new Error('meshlet: another hedged attempt answered first');

/**
 * Runs one forward call. Create and call {@link CallHandler.run}; the caller's handler gets
 * exactly one ending (onResponseEnd or onResponseError).
 *
 * @example
 * ```ts
 * new CallHandler(ctx, undefined, routed, toCurrentHandler(handler), result.plan).run();
 * ```
 */
export class CallHandler implements AttemptOwner, ControllerHooks {
  readonly controller: CallerController;
  private readonly flags: ResponseFlag[] = [];
  /** The newest attempt's endpoint; `tried` (for previous-hosts picks) exists only once a call retries. */
  private lastTried: UpstreamEndpoint | undefined;
  private tried: UpstreamEndpoint[] | undefined;
  private replayable: boolean;
  private readonly startedAt: number;
  /** The newest attempt: the one a per-try deadline applies to and, once it wins, the response. */
  private attempt: Attempt | undefined;
  /** Older attempts still in flight after a hedge (undefined unless hedging happened). */
  private racing: Attempt[] | undefined;
  /** The attempt whose response the caller got. */
  private servedBy: Attempt['endpoint'] | undefined;
  private attempts = 0;
  private admission: HeldSlot | undefined;
  /** Retry slot held across a backoff wait. */
  private waitingSlot: HeldSlot | undefined;
  private deadline = 0;
  private timer: LongTimer | undefined;
  private wait: LongTimer | undefined;
  private done = false;
  private streaming = false;
  private status = 0;

  constructor(
    private readonly ctx: CallContext,
    /** Set only while someone listens for request records. */
    private readonly record: RecordSink | undefined,
    private req: RoutedRequest,
    private readonly handler: DispatchHandler,
    private readonly plan: CallPlan,
  ) {
    this.replayable = replayable(req.opts.body);
    this.controller = new CallerController(this);
    this.startedAt = record ? performance.now() : 0;
  }

  onCallerPause(): void {
    this.attempt?.controller?.pause();
  }

  onCallerResume(): void {
    this.attempt?.controller?.resume();
  }

  /**
   * Starts the call, synchronously as undici's own dispatchers do (onRequestStart may arrive
   * before `dispatch()` returns). Never throws: a failure becomes the caller's error.
   */
  run(): void {
    try {
      this.handler.onRequestStart?.(this.controller, {});
    } catch (err) {
      swallowed(err);
    }
    if (this.done || this.controller.aborted) return;
    try {
      const { body } = this.req.opts;
      if (this.replayable || !shouldBuffer(body, this.req.headers, this.plan)) return this.start();
      readBody(body as AsyncIterable<unknown>, Number(this.req.headers['content-length'])).then(
        (bytes) => {
          if (this.done) return;
          this.req = { ...this.req, opts: { ...this.req.opts, body: bytes } };
          this.replayable = true;
          this.start();
        },
        (err: Error) => this.fail(err),
      );
    } catch (err) {
      this.fail(err as Error);
    }
  }

  // ---- phases -------------------------------------------------------------------------------

  private start(): void {
    const delay = this.plan.fault?.delayMs;
    if (delay !== undefined && delay > 0) {
      this.flag('DI');
      this.wait = setLongTimeout(() => this.route(), delay);
    } else this.route();
  }

  private route(): void {
    this.wait = undefined;
    if (this.done) return;
    const abort = this.plan.fault?.abortStatus;
    if (abort !== undefined) {
      this.flag('FI');
      return this.reply(abort, LOCAL_REPLY.faultAbort);
    }
    const admission = this.plan.admit();
    if (!admission.ok) {
      this.flag(admission.flag);
      return this.reply(503, LOCAL_REPLY.overflow);
    }
    this.admission = admission;
    if (this.plan.mirrors.length > 0 && this.replayable) sendMirrors(this.ctx.agent, this.ctx.engine, this.plan.mirrors, this.req);
    const timeout = this.plan.timeoutMs;
    if (timeout !== undefined && timeout > 0) this.deadline = Date.now() + timeout;
    this.next(undefined);
  }

  private next(retrySlot: HeldSlot | undefined): void {
    this.wait = undefined;
    this.waitingSlot = undefined;
    if (this.done) return void retrySlot?.release();
    if (this.lastTried && !this.tried) this.tried = [this.lastTried];
    const endpoint = this.plan.pick(this.tried);
    if (!endpoint) {
      retrySlot?.release();
      if (this.racing) return this.armTimer(); // the hedged attempts may still answer
      this.flag('UH');
      return this.reply(503, LOCAL_REPLY.noHealthyUpstream);
    }
    this.attempts++;
    this.tried?.push(endpoint);
    this.lastTried = endpoint;
    const attempt = new Attempt(this, this.plan, endpoint, retrySlot);
    this.attempt = attempt;
    const perTry = this.plan.retry?.perTryTimeoutMs;
    if (perTry) attempt.deadline = Date.now() + perTry;
    this.armTimer();
    const { opts, upstreamPath, headers } = this.req;
    try {
      this.ctx.dispatchUpstream(upstreamOptions(opts, originOf(endpoint), upstreamPath, headers, this.req.servername), attempt, this.plan.maxRequestsPerConnection);
    } catch (err) {
      attempt.onResponseError(undefined as never, err as Error);
    }
  }

  /** A retriable outcome: retry when allowed (true), else the flag to record (or false). */
  private mayRetry(outcome: AttemptOutcome): true | ResponseFlag | false {
    const retry = this.plan.retry;
    if (!retry || retry.numRetries <= 0 || !this.replayable || this.done) return false;
    if (!retry.shouldRetry(outcome, this.req.method)) return false;
    if (this.attempts > retry.numRetries) return 'URX';
    if (this.deadline && Date.now() >= this.deadline) return false;
    const slot = this.plan.admitRetry();
    if (!slot.ok) return slot.flag;
    this.waitingSlot = slot;
    const delay = retry.backoffMs(this.attempts, this.ctx.random);
    this.wait = setLongTimeout(() => this.next(slot), delay);
    this.armTimer();
    return true;
  }

  // ---- attempt callbacks --------------------------------------------------------------------

  onAttemptHeaders(attempt: Attempt, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (status < 200 || !this.isLive(attempt)) return; // 1xx are not forwarded
    attempt.status = status;
    attempt.releaseRetrySlot();
    const outcome = responseOutcome(status);
    const retry = attempt.hedged ? false : this.mayRetry(outcome);
    if (retry === true || (this.racing && this.othersPending(attempt) && this.plan.retry?.shouldRetry(outcome, this.req.method))) {
      this.drop(attempt);
      attempt.end(outcome);
      attempt.abandon(RETRY_ABORT);
      return;
    }
    if (retry) this.flag(retry);
    this.win(attempt);
    this.streaming = true;
    this.status = status;
    attempt.deadline = 0;
    if (this.timer && !this.deadline) this.clearTimer();
    let out = responseHeaders(headers, this.plan.responseHeaders, this.flags);
    const cookie = this.plan.setCookie;
    if (cookie !== undefined) out = withSetCookie(out, cookie, out === headers);
    if (out === headers) this.controller.rawHeaders = rawOf(attempt.controller, 'rawHeaders');
    // try/catch rather than safely(): no closure per response or per chunk on the hot path.
    try {
      this.handler.onResponseStart?.(this.controller, status, out, statusMessage);
    } catch (err) {
      swallowed(err);
    }
  }

  onAttemptData(chunk: Buffer): void {
    try {
      this.handler.onResponseData?.(this.controller, chunk);
    } catch (err) {
      swallowed(err);
    }
  }

  onAttemptEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    attempt.end(responseOutcome(attempt.status));
    this.finish();
    this.controller.rawTrailers = rawOf(attempt.controller, 'rawTrailers');
    try {
      this.handler.onResponseEnd?.(this.controller, trailers);
    } catch (err) {
      swallowed(err);
    }
  }

  onAttemptError(attempt: Attempt, err: Error): void {
    if (!this.isLive(attempt)) return;
    this.drop(attempt);
    const outcome = classifyError(err);
    if (this.streaming || !outcome) {
      attempt.end(outcome ?? CALLER_ENDED);
      if (outcome) this.flag(outcome.kind === 'timeout' ? 'UT' : 'UR');
      return this.fail(err);
    }
    attempt.end(outcome);
    const retry = attempt.hedged ? false : this.mayRetry(outcome);
    if (retry === true || this.othersPending(attempt)) return;
    if (retry) this.flag(retry);
    if (outcome.kind === 'connect-failure') {
      this.flag('UF');
      this.reply(503, LOCAL_REPLY.connectFailure);
    } else if (outcome.kind === 'timeout') {
      this.flag('UT');
      this.reply(504, LOCAL_REPLY.timeout);
    } else {
      this.flag('UC');
      this.reply(503, LOCAL_REPLY.reset);
    }
  }

  onAttemptUpgrade(attempt: Attempt, status: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (!this.isLive(attempt)) return void socket.destroy();
    this.win(attempt);
    this.attempt = undefined;
    attempt.end(responseOutcome(status));
    this.status = status;
    this.finish();
    safely(() => this.handler.onRequestUpgrade?.(this.controller, status, headers, socket));
  }

  // ---- timeouts and endings -----------------------------------------------------------------

  /** One timer per request, at the nearer of the overall deadline and the per-try deadline. */
  private armTimer(): void {
    const perTry = this.streaming || !this.attempt ? 0 : this.attempt.deadline;
    if (!this.deadline && !perTry) return;
    const now = Date.now();
    const at = Math.min(this.deadline || Infinity, perTry || Infinity);
    this.clearTimer();
    if (at !== Infinity) this.timer = setLongTimeout(() => this.onTimer(), at - now);
  }

  private clearTimer(): void {
    clearLongTimeout(this.timer);
    this.timer = undefined;
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.done) return;
    const now = Date.now();
    const overall = this.deadline !== 0 && now >= this.deadline;
    const attempt = this.attempt;
    if (!overall && !(attempt && attempt.deadline && now >= attempt.deadline)) return this.armTimer();
    if (attempt && !overall && this.plan.retry?.hedgeOnPerTryTimeout) return this.softTimeout(attempt);
    if (attempt) {
      this.attempt = undefined;
      attempt.end({ kind: 'timeout' });
      attempt.abandon(TIMEOUT_ABORT);
    }
    if (!overall && !this.streaming && this.mayRetry({ kind: 'timeout' }) === true) return;
    this.flag('UT');
    if (this.streaming) this.fail(Object.assign(new Error(LOCAL_REPLY.timeout), { code: 'UND_ERR_BODY_TIMEOUT' }));
    else this.reply(504, LOCAL_REPLY.timeout);
  }

  onCallerAbort(reason: Error): void {
    if (this.done) return;
    this.flag('DC');
    const attempt = this.attempt;
    this.attempt = undefined;
    if (attempt) {
      attempt.end(CALLER_ENDED);
      attempt.abandon(reason);
    }
    this.abandonRacing(reason);
    this.finish();
    safely(() => this.handler.onResponseError?.(this.controller, reason));
  }

  private reply(status: number, body: string): void {
    this.status = status;
    if (!this.finish()) return;
    const headers: IncomingHttpHeaders = this.flags.length > 0 ? { [FLAGS_HEADER]: this.flags.join(',') } : {};
    if (this.plan.setCookie !== undefined) withSetCookie(headers, this.plan.setCookie, false);
    localReply(this.handler, status, body, headers, this.controller, true);
  }

  private fail(err: Error): void {
    if (this.finish()) safely(() => this.handler.onResponseError?.(this.controller, err));
  }

  /** Ends the call once: timers, breaker and retry slots, the record. */
  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.clearTimer();
    clearLongTimeout(this.wait);
    this.wait = undefined;
    this.waitingSlot?.release();
    this.waitingSlot = undefined;
    if (this.racing) {
      // Ended while hedged attempts were in flight (e.g. one failed locally): stop them all.
      const current = this.attempt;
      this.attempt = undefined;
      current?.end(CALLER_ENDED);
      current?.abandon(HEDGE_LOST);
      this.abandonRacing(HEDGE_LOST);
    }
    this.admission?.release();
    this.admission = undefined;
    const sink = this.record;
    if (sink) {
      const last = this.servedBy ?? this.lastTried;
      sink({
        method: this.req.method, host: this.req.host, path: this.req.path,
        routeName: this.plan.routeName, clusterName: this.plan.clusterName,
        ...(last ? { endpoint: last.key } : {}),
        status: this.controller.aborted ? 0 : this.status, flags: this.flags, attempts: this.attempts,
        durationMs: performance.now() - this.startedAt,
      });
    }
    return true;
  }

  // ---- hedging -------------------------------------------------------------------------------

  /**
   * A per-try timeout on a hedged route (Envoy's onSoftPerTryTimeout): reported to outlier
   * detection, the attempt keeps running; idempotent requests get a parallel attempt when the
   * retry policy and budget allow one (else the flag says why and the attempt carries on alone).
   */
  private softTimeout(attempt: Attempt): void {
    attempt.deadline = 0;
    attempt.end({ kind: 'timeout' });
    if (!this.streaming && this.plan.retry?.hedges(this.req.method)) {
      attempt.hedged = true;
      this.attempt = undefined;
      (this.racing ??= []).push(attempt);
      const retry = this.mayRetry({ kind: 'timeout' });
      if (retry === true) return;
      if (retry) this.flag(retry);
      this.racing.pop();
      if (this.racing.length === 0) this.racing = undefined;
      attempt.hedged = false;
      this.attempt = attempt;
    }
    this.armTimer();
  }

  private isLive(attempt: Attempt): boolean {
    return attempt === this.attempt || (this.racing !== undefined && this.racing.includes(attempt));
  }

  /** Another attempt in flight or a retry scheduled, besides `attempt`. */
  private othersPending(attempt: Attempt): boolean {
    if (this.wait) return true;
    if (this.attempt && this.attempt !== attempt) return true;
    return this.racing !== undefined && this.racing.some((a) => a !== attempt);
  }

  /** Forgets an attempt that failed or was discarded. */
  private drop(attempt: Attempt): void {
    if (this.attempt === attempt) this.attempt = undefined;
    else if (this.racing) {
      const i = this.racing.indexOf(attempt);
      if (i >= 0) this.racing.splice(i, 1);
      if (this.racing.length === 0) this.racing = undefined;
    }
  }

  /** `attempt` answers the call: every other attempt and any scheduled retry are cancelled. */
  private win(attempt: Attempt): void {
    this.servedBy = attempt.endpoint;
    if (!this.racing && this.attempt === attempt) return;
    const current = this.attempt;
    if (current && current !== attempt) {
      current.end(CALLER_ENDED);
      current.abandon(HEDGE_LOST);
    }
    this.attempt = undefined;
    this.drop(attempt);
    this.abandonRacing(HEDGE_LOST);
    this.attempt = attempt;
    if (this.wait) {
      clearLongTimeout(this.wait);
      this.wait = undefined;
      this.waitingSlot?.release();
      this.waitingSlot = undefined;
    }
  }

  private abandonRacing(reason: Error): void {
    const racing = this.racing;
    if (!racing) return;
    this.racing = undefined;
    for (const a of racing) {
      a.end(CALLER_ENDED);
      a.abandon(reason);
    }
  }

  private flag(flag: ResponseFlag): void {
    if (!this.flags.includes(flag)) this.flags.push(flag);
  }
}

