/**
 * The state of one routed (`forward`) request, undici-style: the interceptor logic lives here,
 * not in the dispatcher (CONVENTIONS 1). Order of a call, as in Envoy's filter chain:
 * fault delay → fault abort → circuit breaker admission → mirrors → attempts (pick, send,
 * retry with backoff) under one deadline timer. Every failure reaches the caller's
 * `onResponseError` or becomes a local reply; nothing is thrown.
 *
 * Every retry decision (conditions, backoff, per-try timeouts, the deadline, hedging, previous
 * hosts, the budget, the flags) is core's {@link RetryState}, which this handler extends: the
 * handler does the I/O — sends and aborts attempts, arms one timer, replies.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { util as undiciUtil, type Dispatcher } from 'undici';
import { isIdempotent } from '../core/resilience/retry.js';
import { RetryState } from '../core/resilience/retry-state.js';
import type { AttemptOutcome, CallPlan, Engine, HeldSlot, UpstreamEndpoint } from '../core/types.js';
import { clearLongTimeout, DeadlineTimer, setLongTimeout, type LongTimer } from '../internal/timer.js';
import type { DeadlineQueue } from '../internal/deadlines.js';
import type { Clock } from '../internal/clock.js';
import { Attempt, CALLER_ENDED, classifyError, responseOutcome, type AttemptOwner } from './attempt.js';
import { readBody, shouldBuffer } from './body-buffer.js';
import { CallerController, localReply, RAW_ONLY, readsRawHeaders, safely, swallowed, type ControllerHooks, type DispatchHandler } from './handler.js';
import { FLAGS_HEADER, isEmptyMutation, responseHeaders, withSetCookie, type HeaderRecord } from './headers.js';
import { LOCAL_REPLY, originOf, replayable, sendMirrors, upstreamOptions } from './upstream.js';
import { observeAttempt, observeAttemptEnd, observeEnd, observeStart, type ObservedCall, type ObserverList } from '../core/observer.js';

/** What every call of one dispatcher shares (one object per dispatcher). */
export interface CallContext {
  readonly agent: Dispatcher;
  /** Sends an attempt upstream, honouring the cluster's `maxRequestsPerConnection` (undefined: unlimited) and its HTTP/2 protocol. */
  dispatchUpstream(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, maxRequestsPerConnection: number | undefined, http2?: boolean): void;
  readonly engine: Engine;
  readonly random: () => number;
  /** Every call's deadline timers (one Node timer per duration, not per call). */
  readonly deadlines: DeadlineQueue;
  /** An injected clock (tests); undefined: Date.now and Node's timers. */
  readonly clock?: Clock | undefined;
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
const TIMED_OUT: AttemptOutcome = Object.freeze({ kind: 'timeout' });
const NO_TRAILERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;

/**
 * Runs one forward call. Create and call {@link CallHandler.run}; the caller's handler gets
 * exactly one ending (onResponseEnd or onResponseError).
 *
 * @example
 * ```ts
 * new CallHandler(ctx, undefined, routed, toCurrentHandler(handler), result.plan).run();
 * ```
 */
export class CallHandler extends RetryState<Attempt> implements AttemptOwner, ControllerHooks, ObservedCall {
  readonly controller: CallerController;
  private readonly startedAt: number;
  /** The attempt whose response the caller got. */
  private servedBy: UpstreamEndpoint | undefined;
  private admission: HeldSlot | undefined;
  /** The one timer (route deadline, per-try deadline, backoff); created only for calls that need it. */
  private timer: { set(at: number): void; clear(): void } | undefined;
  /** The fault delay. */
  private wait: LongTimer | undefined;
  private answered = 0;
  /** Response body bytes forwarded to the caller. */
  responseBytes = 0;
  /** The observers' per-call state (see observeStart). */
  private observed: unknown;
  /** The caller reads raw header lists (undici.request, fetch): headers it gets unchanged are never parsed. */
  private readonly rawCaller: boolean;

  constructor(
    private readonly ctx: CallContext,
    /** Set only while someone observes calls. */
    private readonly observers: ObserverList | undefined,
    private req: RoutedRequest,
    private readonly handler: DispatchHandler,
    private readonly plan: CallPlan,
  ) {
    // Idempotency only matters to a retry policy: no method lookup for the other calls.
    super(plan, plan.retry !== undefined && isIdempotent(req.method), replayable(req.opts.body), ctx.random);
    this.controller = new CallerController(this);
    this.rawCaller = readsRawHeaders(handler);
    this.startedAt = observers ? performance.now() : 0;
  }

  // ---- the observed call (ObservedCall) --------------------------------------------------------

  get protocol(): 'http' { return 'http'; }
  get method(): string { return this.req.method; }
  get authority(): string { return this.req.host; }
  get path(): string { return this.req.path; }
  get routeName(): string { return this.plan.routeName; }
  get clusterName(): string { return this.plan.clusterName; }
  get status(): number { return this.controller.aborted ? 0 : this.answered; }
  get grpcStatus(): undefined { return undefined; }
  get endpoint(): UpstreamEndpoint | undefined { return this.servedBy ?? this.lastTried; }
  get durationMs(): number { return performance.now() - this.startedAt; }
  /** Request body size (Istio's istio_request_bytes): a buffered body's length, else Content-Length, else 0. */
  get requestBytes(): number {
    const body = this.req.opts.body;
    if (typeof body === 'string') return Buffer.byteLength(body);
    if (body instanceof Uint8Array) return body.byteLength;
    const declared = Number(this.req.headers['content-length']);
    return Number.isFinite(declared) && declared >= 0 ? declared : 0;
  }

  requestHeader(name: string): string | undefined {
    const v = this.req.headers[name];
    return v === undefined || typeof v === 'string' ? v : v.join(',');
  }

  setRequestHeader(name: string, value: string): void {
    this.req.headers[name] = value;
  }

  onCallerPause(): void {
    this.current?.pause();
  }

  onCallerResume(): void {
    this.current?.resume();
  }

  /**
   * Starts the call, synchronously as undici's own dispatchers do (onRequestStart may arrive
   * before `dispatch()` returns). Never throws: a failure becomes the caller's error.
   */
  run(): void {
    if (this.observers) this.observed = observeStart(this.observers, this);
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
      const clock = this.ctx.clock;
      this.wait = clock ? (clock.setTimeout(() => this.route(), delay) as LongTimer) : setLongTimeout(() => this.route(), delay);
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
    if (this.plan.mirrors.length > 0 && this.replayable) sendMirrors((o, h) => this.ctx.dispatchUpstream(o, h, undefined), this.ctx.engine, this.plan.mirrors, this.req);
    this.startDeadline(this.plan.timeoutMs);
    this.next();
  }

  /** Picks an endpoint and sends the next attempt (the first, a retry or a hedge). */
  private next(): void {
    if (this.done) return;
    const endpoint = this.pick();
    if (!endpoint) {
      if (this.onNoHost() === 'wait') return this.armTimer(); // the hedged attempts may still answer
      return this.reply(503, LOCAL_REPLY.noHealthyUpstream);
    }
    const attempt = new Attempt(this, this.plan, endpoint);
    this.onAttemptStart(attempt, endpoint);
    if (this.observers) {
      attempt.n = this.attempts;
      observeAttempt(this.observers, this.observed, this, attempt.n, endpoint);
    }
    this.armTimer();
    const { opts, upstreamPath, headers } = this.req;
    try {
      this.ctx.dispatchUpstream(upstreamOptions(opts, originOf(endpoint), upstreamPath, headers, this.req.servername), attempt, this.plan.maxRequestsPerConnection, this.plan.http2);
    } catch (err) {
      attempt.onError(err as Error);
    }
  }

  // ---- attempt callbacks --------------------------------------------------------------------

  onAttemptHeaders(attempt: Attempt, status: number, rawHeaders: Buffer[], statusMessage?: string): void {
    if (status < 200 || !this.isLive(attempt)) return; // 1xx are not forwarded
    attempt.status = status;
    const outcome = responseOutcome(status);
    const verdict = this.onAttemptResult(attempt, outcome);
    if (verdict !== 'done') {
      attempt.end(outcome);
      attempt.abandon(RETRY_ABORT);
      if (verdict === 'retry') this.armTimer();
      return;
    }
    this.win(attempt);
    this.answered = status;
    if (this.timer) this.armTimer(); // the per-try deadline is over; the route deadline stays
    const cookie = this.plan.setCookie;
    let out: IncomingHttpHeaders;
    if (this.rawCaller && cookie === undefined && this.flags.length === 0 && isEmptyMutation(this.plan.responseHeaders)) {
      // The caller reads the raw list and nothing rewrites it: the upstream's bytes go through unparsed.
      this.controller.rawHeaders = rawHeaders;
      out = RAW_ONLY;
    } else {
      const headers = undiciUtil.parseHeaders(rawHeaders) as IncomingHttpHeaders;
      out = responseHeaders(headers, this.plan.responseHeaders, this.flags);
      if (cookie !== undefined) out = withSetCookie(out, cookie, out === headers);
      this.controller.rawHeaders = out === headers ? rawHeaders : null;
    }
    // try/catch rather than safely(): no closure per response or per chunk on the hot path.
    try {
      this.handler.onResponseStart?.(this.controller, status, out, statusMessage);
    } catch (err) {
      swallowed(err);
    }
  }

  onAttemptData(chunk: Buffer): void {
    this.responseBytes += chunk.length;
    try {
      this.handler.onResponseData?.(this.controller, chunk);
    } catch (err) {
      swallowed(err);
    }
  }

  onAttemptEnd(attempt: Attempt, rawTrailers: Buffer[]): void {
    if (attempt !== this.current || !this.committed) return;
    this.current = undefined;
    attempt.end(responseOutcome(attempt.status));
    this.finish();
    this.controller.rawTrailers = rawTrailers;
    const trailers = this.rawCaller || rawTrailers.length === 0 ? NO_TRAILERS : undiciUtil.parseHeaders(rawTrailers) as IncomingHttpHeaders;
    try {
      this.handler.onResponseEnd?.(this.controller, trailers);
    } catch (err) {
      swallowed(err);
    }
  }

  onAttemptError(attempt: Attempt, err: Error): void {
    if (!this.isLive(attempt)) return;
    const outcome = classifyError(err);
    if (this.committed || !outcome) {
      this.forget(attempt);
      attempt.end(outcome ?? CALLER_ENDED);
      if (outcome) this.onStreamError(outcome);
      return this.fail(err);
    }
    attempt.end(outcome);
    const verdict = this.onAttemptResult(attempt, outcome);
    if (verdict === 'retry') return this.armTimer();
    if (verdict === 'wait') return;
    this.forget(attempt);
    if (outcome.kind === 'connect-failure') this.reply(503, LOCAL_REPLY.connectFailure);
    else if (outcome.kind === 'timeout') this.reply(504, LOCAL_REPLY.timeout);
    else this.reply(503, LOCAL_REPLY.reset);
  }

  onAttemptUpgrade(attempt: Attempt, status: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (!this.isLive(attempt)) return void socket.destroy();
    this.win(attempt);
    this.current = undefined;
    attempt.end(responseOutcome(status));
    this.answered = status;
    this.finish();
    safely(() => this.handler.onRequestUpgrade?.(this.controller, status, headers, socket));
  }

  onAttemptOutcome(attempt: Attempt, outcome: AttemptOutcome): void {
    if (this.observers) observeAttemptEnd(this.observers, this.observed, this, attempt.n, attempt.endpoint, outcome);
  }

  // ---- timeouts and endings -----------------------------------------------------------------

  /** Arms the one timer at the state's nearest deadline. */
  protected override armTimer(): void {
    const at = this.timerAt();
    if (at === Infinity) this.timer?.clear();
    // An injected clock arms its own timers; otherwise the dispatcher's shared deadline lists.
    else (this.timer ??= this.ctx.clock ? new DeadlineTimer(this, this.ctx.clock) : this.ctx.deadlines.timer(this)).set(at);
  }

  protected override now(): number {
    return this.ctx.clock ? this.ctx.clock.now() : Date.now();
  }

  protected override startAttempt(): void {
    this.next();
  }

  protected override abandonAttempt(a: Attempt): void {
    a.end(TIMED_OUT);
    a.abandon(TIMEOUT_ABORT);
  }

  /** Reported to outlier detection; the attempt keeps running (Envoy's onSoftPerTryTimeout). */
  protected override softTimeout(a: Attempt): void {
    a.end(TIMED_OUT);
  }

  protected override timedOut(): void {
    this.abortAll(TIMED_OUT, TIMEOUT_ABORT);
    if (this.committed) return this.fail(Object.assign(new Error(LOCAL_REPLY.timeout), { code: 'UND_ERR_BODY_TIMEOUT' }));
    this.reply(504, LOCAL_REPLY.timeout);
  }

  onCallerAbort(reason: Error): void {
    if (this.done) return;
    this.flag('DC');
    this.abortAll(CALLER_ENDED, reason);
    this.finish();
    safely(() => this.handler.onResponseError?.(this.controller, reason));
  }

  private reply(status: number, body: string): void {
    this.answered = status;
    if (!this.finish()) return;
    const headers: IncomingHttpHeaders = this.flags.length > 0 ? { [FLAGS_HEADER]: this.flags.join(',') } : {};
    if (this.plan.setCookie !== undefined) withSetCookie(headers, this.plan.setCookie, false);
    localReply(this.handler, status, body, headers, this.controller, true);
  }

  private fail(err: Error): void {
    if (this.finish()) safely(() => this.handler.onResponseError?.(this.controller, err));
  }

  /** Ends the call once: timers, breaker and retry slots, attempts still open, the record. */
  private finish(): boolean {
    if (this.done) return false;
    // Ended while attempts were in flight (e.g. a hedge failed locally): stop them all.
    this.abort(this.settle(), CALLER_ENDED, HEDGE_LOST);
    this.timer?.clear();
    if (this.wait !== undefined) {
      if (this.ctx.clock) this.ctx.clock.clearTimeout(this.wait);
      else clearLongTimeout(this.wait);
    }
    this.wait = undefined;
    this.admission?.release();
    this.admission = undefined;
    if (this.observers) observeEnd(this.observers, this.observed, this);
    return true;
  }

  /** Aborts every attempt still open. */
  private abortAll(outcome: AttemptOutcome, reason: Error): void {
    this.abort(this.takeAll(), outcome, reason);
  }

  private abort(attempts: Attempt[] | undefined, outcome: AttemptOutcome, reason: Error): void {
    if (attempts) for (const a of attempts) {
      a.end(outcome);
      a.abandon(reason);
    }
  }

  /** `attempt` answers the call: every other attempt and any scheduled retry are cancelled. */
  private win(attempt: Attempt): void {
    this.servedBy = attempt.endpoint;
    this.abort(this.commit(attempt), CALLER_ENDED, HEDGE_LOST);
  }
}
