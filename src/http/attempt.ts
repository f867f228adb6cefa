/**
 * One upstream attempt of a routed call: an undici handler (current API) that forwards to its
 * {@link AttemptOwner} until the call abandons it (retry, timeout, caller abort), after which
 * every late callback is ignored. It reports its outcome to the engine exactly once.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { RetryAttempt } from '../core/resilience/retry-state.js';
import type { AttemptOutcome, CallPlan, UpstreamEndpoint } from '../core/types.js';
import type { DispatchController, DispatchHandler } from './handler.js';

/** What an attempt reports to (the call handler). */
export interface AttemptOwner {
  onAttemptHeaders(attempt: Attempt, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void;
  onAttemptData(chunk: Buffer): void;
  onAttemptEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void;
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
  controller: DispatchController | undefined;
  status = 0;
  /** 1-based attempt number, set by an observed call. */
  n = 0;
  private abandoned: Error | undefined;
  private ended = false;

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
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  onRequestStart(controller: DispatchController): void {
    this.controller = controller;
    if (this.abandoned) controller.abort(this.abandoned);
  }

  onRequestUpgrade(_controller: DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (this.abandoned) return void socket.destroy();
    this.owner.onAttemptUpgrade(this, statusCode, headers, socket);
  }

  onResponseStart(_controller: DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (!this.abandoned) this.owner.onAttemptHeaders(this, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: DispatchController, chunk: Buffer): void {
    if (!this.abandoned) this.owner.onAttemptData(chunk);
  }

  onResponseEnd(_controller: DispatchController, trailers: IncomingHttpHeaders): void {
    if (!this.abandoned) this.owner.onAttemptEnd(this, trailers);
  }

  onResponseError(_controller: DispatchController, err: Error): void {
    if (!this.abandoned) this.owner.onAttemptError(this, err);
  }
}

/** A handler that ignores everything: mirrored requests' responses. */
export const DISCARD: DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};
