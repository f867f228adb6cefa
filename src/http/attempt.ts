/**
 * One upstream attempt of a routed call: an undici handler that forwards to its
 * {@link AttemptOwner} until the call abandons it (retry, timeout, caller abort), after which
 * every late callback is ignored. It reports its outcome to the engine exactly once.
 *
 * It speaks undici's legacy handler API (onConnect/onHeaders/onData/onComplete), the one
 * undici's core calls: a current-API handler is wrapped by undici in an UnwrapHandler and an
 * UnwrapController per request, and its response headers are parsed into an object that most
 * calls never read (the caller gets the raw list). Here the raw headers go up as they came.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { util as undiciUtil } from 'undici';
import { RetryAttempt } from '../core/resilience/retry-state.js';
import type { AttemptOutcome, CallPlan, UpstreamEndpoint } from '../core/types.js';
import type { DispatchHandler } from './handler.js';

/** What an attempt reports to (the call handler). */
export interface AttemptOwner {
  /** The response head, with undici's raw header list (name, value, name, value…). */
  onAttemptHeaders(attempt: Attempt, status: number, rawHeaders: Buffer[], statusMessage?: string): void;
  onAttemptData(chunk: Buffer): void;
  /** The response ended; `rawTrailers` as undici gives them (empty when there are none). */
  onAttemptEnd(attempt: Attempt, rawTrailers: Buffer[]): void;
  onAttemptError(attempt: Attempt, err: Error): void;
  onAttemptUpgrade(attempt: Attempt, status: number, headers: IncomingHttpHeaders, socket: Duplex): void;
  /** The attempt's outcome was reported (once): for the call's observers. */
  onAttemptOutcome?(attempt: Attempt, outcome: AttemptOutcome): void;
}

/** Outcome reported for attempts the caller (not the upstream) ended: a 4xx outlier detection ignores. */
export const CALLER_ENDED: AttemptOutcome = { kind: 'response', status: 499 };

const RESPONSES: AttemptOutcome[] = [];

/**
 * The (shared, frozen) outcome of an attempt answered with `status`: one object per status code
 * rather than one per request.
 *
 * @example
 * ```ts
 * attempt.end(responseOutcome(200));
 * ```
 */
export function responseOutcome(status: number): AttemptOutcome {
  if (!Number.isInteger(status) || status < 100 || status > 999) return { kind: 'response', status };
  return (RESPONSES[status] ??= Object.freeze({ kind: 'response', status }));
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * Maps an undici/socket error to an attempt outcome; undefined for errors that are not the
 * upstream's doing (bad arguments, the request body failing), which are passed to the caller.
 *
 * @example
 * ```ts
 * classifyError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // { kind: 'connect-failure' }
 * ```
 */
export function classifyError(err: unknown): AttemptOutcome | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECT_FAILURES.has(code)) return { kind: 'connect-failure' };
    if (RESETS.has(code)) return { kind: 'reset', beforeRequestSent: false };
    if (TIMEOUTS.has(code)) return { kind: 'timeout' };
  }
  return undefined;
}

/**
 * A single try against one endpoint; registers itself with the plan (`startAttempt`) on creation.
 *
 * @example
 * ```ts
 * const attempt = new Attempt(call, plan, endpoint);
 * agent.dispatch({ ...opts, origin: 'http://10.0.0.7:9080' }, attempt);
 * ```
 */
export class Attempt extends RetryAttempt implements DispatchHandler {
  status = 0;
  /** 1-based attempt number, set by an observed call. */
  n = 0;
  private abandoned: Error | undefined;
  private ended = false;
  /** undici's abort for this request (onConnect), its resume (onHeaders), and our pause state. */
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private paused = false;

  constructor(
    private readonly owner: AttemptOwner,
    private readonly plan: CallPlan,
    readonly endpoint: UpstreamEndpoint,
  ) {
    super();
    plan.startAttempt(endpoint);
  }

  /** Reports the outcome (once) and frees the retry slot. */
  end(outcome: AttemptOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.plan.endAttempt(this.endpoint, outcome);
    this.releaseRetrySlot();
    this.owner.onAttemptOutcome?.(this, outcome);
  }

  /** The call gives up on this attempt: abort it upstream, ignore whatever comes next. */
  abandon(reason: Error): void {
    if (this.abandoned) return;
    this.abandoned = reason;
    // undici ignores an abort once the request completed or failed.
    this.abortUpstream?.(reason);
  }

  /** Backpressure from the caller: undici stops reading until {@link resume}. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeUpstream?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.abandoned) abort(this.abandoned);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    if (this.abandoned) return void socket.destroy();
    this.owner.onAttemptUpgrade(this, statusCode, undiciUtil.parseHeaders(rawHeaders ?? []) as IncomingHttpHeaders, socket);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean {
    this.resumeUpstream = resume;
    if (!this.abandoned) this.owner.onAttemptHeaders(this, statusCode, rawHeaders, statusMessage);
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    if (!this.abandoned) this.owner.onAttemptData(chunk);
    return !this.paused;
  }

  onComplete(rawTrailers: Buffer[] | string[] | Record<string, string | string[] | undefined> | null): void {
    if (this.abandoned) return;
    // HTTP/1.1 hands a raw list; undici's HTTP/2 client hands node:http2's trailers object.
    this.owner.onAttemptEnd(this, rawTrailers === null ? NO_RAW : Array.isArray(rawTrailers) ? rawTrailers as Buffer[] : rawList(rawTrailers));
  }

  onError(err: Error): void {
    if (!this.abandoned) this.owner.onAttemptError(this, err);
  }
}

const NO_RAW: Buffer[] = [];

/** A header object as undici's raw `[name, value, …]` list (an array value gives one entry per element). */
function rawList(headers: Record<string, string | string[] | undefined>): Buffer[] {
  const out: Buffer[] = [];
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push(Buffer.from(name), Buffer.from(String(one)));
  }
  return out.length === 0 ? NO_RAW : out;
}

/** A handler that ignores everything: mirrored requests' responses. */
export const DISCARD: DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};
