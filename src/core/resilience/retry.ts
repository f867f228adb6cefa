/**
 * RetryPlan from a route's RetryPolicyModel (Envoy's router retry state, reduced to decisions).
 *
 * Idempotency: GET/HEAD/OPTIONS/TRACE/PUT/DELETE are retried on every configured condition.
 * Other methods (POST, PATCH, …) only when the upstream provably never saw the request:
 * connect-failure, refused-stream, or a reset before the request was sent — unless the route
 * opts in through its metadata: `filter_metadata.meshlet.retryNonIdempotent: true`.
 */
import type { RetryPolicyModel } from '../model/index.js';
import type { AttemptOutcome, RetryPlan } from '../types.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether an HTTP method may be resent after the upstream saw it.
 *
 * @example isIdempotent('GET') // true; isIdempotent('post') // false
 */
export function isIdempotent(method: string): boolean {
  // Undici passes methods upper-case already: no toUpperCase() (a string per call) unless needed.
  return IDEMPOTENT.has(method) || IDEMPOTENT.has(method.toUpperCase());
}

/**
 * Envoy's gRPC retry_on names (retry_grpc_on) and the grpc-status each matches: the one table
 * of them. They match only a status an upstream answered with (Envoy's wouldRetryFromHeaders
 * reads grpc-status from the response headers), never a connection failure or reset.
 */
export const GRPC_RETRY_CONDITIONS: Readonly<Record<string, number>> = {
  cancelled: 1,
  'deadline-exceeded': 4,
  'resource-exhausted': 8,
  internal: 13,
  unavailable: 14,
};

class CompiledRetryPlan implements RetryPlan {
  readonly retryOn: ReadonlySet<string>;
  readonly numRetries: number;
  readonly perTryTimeoutMs?: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  readonly retryNonIdempotent: boolean;
  readonly hedgeOnPerTryTimeout: boolean;
  /** grpc-status codes retry_on names (`unavailable` → 14, …). */
  private readonly grpcCodes: ReadonlySet<number>;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(policy: RetryPolicyModel, retryNonIdempotent: boolean, hedgeOnPerTryTimeout: boolean) {
    this.retryOn = new Set(policy.retryOn);
    this.numRetries = policy.numRetries;
    if (policy.perTryTimeoutMs !== undefined && policy.perTryTimeoutMs > 0) this.perTryTimeoutMs = policy.perTryTimeoutMs;
    this.retriableStatusCodes = new Set(policy.retriableStatusCodes);
    this.retryNonIdempotent = retryNonIdempotent;
    this.hedgeOnPerTryTimeout = hedgeOnPerTryTimeout;
    const codes = new Set<number>();
    for (const name of policy.retryOn) if (Object.hasOwn(GRPC_RETRY_CONDITIONS, name)) codes.add(GRPC_RETRY_CONDITIONS[name] as number);
    this.grpcCodes = codes;
    this.baseMs = policy.backoff.baseMs > 0 ? policy.backoff.baseMs : 25;
    this.maxMs = policy.backoff.maxMs > 0 ? policy.backoff.maxMs : this.baseMs * 10;
  }

  hedges(idempotent: boolean): boolean {
    return this.hedgeOnPerTryTimeout && idempotent;
  }

  backoffMs(n: number, random: () => number): number {
    const ceiling = Math.min(this.baseMs * 2 ** Math.max(0, n - 1), this.maxMs);
    return Math.floor(random() * (ceiling + 1));
  }

  shouldRetry(outcome: AttemptOutcome, idempotent: boolean): boolean {
    const on = this.retryOn;
    const safe = this.retryNonIdempotent || idempotent;
    // Resets and per-try timeouts follow Envoy's RetryStateImpl::wouldRetryFromReset: a reset
    // counts as a 5xx (so 5xx, gateway-error and reset retry it), a connection failure is also
    // retried on connect-failure, a reset before the request went out on reset-before-request
    // (and refused-stream: what an HTTP/2 refused stream is).
    const anyReset = on.has('5xx') || on.has('gateway-error') || on.has('reset');
    switch (outcome.kind) {
      case 'connect-failure':
        return anyReset || on.has('connect-failure') || on.has('reset-before-request');
      case 'reset':
        if (outcome.beforeRequestSent) return anyReset || on.has('reset-before-request') || on.has('refused-stream');
        return safe && anyReset;
      case 'timeout':
        // onPerTryTimeout resets the upstream request (already started) and asks the same
        // question; an overall timeout ends the call instead. A gRPC attempt that times out is
        // a DEADLINE_EXCEEDED attempt to its client, so `deadline-exceeded` covers it too
        // (meshlet's gRPC reading; Envoy has no per-attempt gRPC status for its own timer).
        return safe && (anyReset || (outcome.grpcStatus !== undefined && this.grpcCodes.has(outcome.grpcStatus)));
      case 'response': {
        if (!safe) return false;
        // A gRPC answer's :status is 200: only the gRPC names can match it (wouldRetryFromHeaders).
        if (outcome.grpcStatus !== undefined) return this.grpcCodes.has(outcome.grpcStatus);
        const s = outcome.status;
        if (s >= 500 && on.has('5xx')) return true;
        if ((s === 502 || s === 503 || s === 504) && on.has('gateway-error')) return true;
        if (s === 409 && on.has('retriable-4xx')) return true;
        if (s === 429 && on.has('envoy-ratelimited')) return true;
        return on.has('retriable-status-codes') && this.retriableStatusCodes.has(s);
      }
    }
  }
}

/** Reads the opt-in from route metadata (`meshlet.retryNonIdempotent === true`). */
export function retryNonIdempotentOptIn(metadata: Readonly<Record<string, Readonly<Record<string, unknown>>>>): boolean {
  return metadata.meshlet?.retryNonIdempotent === true;
}

/**
 * Compiles a retry plan (once per route per snapshot). `hedgeOnPerTryTimeout` is the route's
 * hedge_policy (Envoy): per-try timeouts start a parallel attempt instead of cancelling.
 *
 * @example
 * ```ts
 * const plan = compileRetryPlan({ retryOn: ['5xx'], numRetries: 2, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
 * plan.shouldRetry({ kind: 'response', status: 503 }, isIdempotent('GET')); // true
 * ```
 */
export function compileRetryPlan(policy: RetryPolicyModel, retryNonIdempotent: boolean, hedgeOnPerTryTimeout = false): RetryPlan {
  return new CompiledRetryPlan(policy, retryNonIdempotent, hedgeOnPerTryTimeout);
}
