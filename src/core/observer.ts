/**
 * The call observer: what both adapters report about each outbound call (start, each upstream
 * attempt, each attempt's end, the end), for telemetry to implement (the `'request'` record,
 * metrics, traces, access logs). Adapters pass their own per-call object as the
 * {@link ObservedCall} view and the engine's shared objects for endpoints and outcomes, so
 * observing a call allocates nothing the observers do not allocate themselves.
 */
import type { AttemptOutcome, ResponseFlag, UpstreamEndpoint } from './types.js';

/**
 * One outbound call as the adapter sees it. The same object on every event of a call (it is the
 * adapter's own call state: read what you need during the event, do not keep it). Fields that
 * describe the ending (`status`, `grpcStatus`, `durationMs`, bytes) are final in `onEnd`.
 */
export interface ObservedCall {
  readonly protocol: 'http' | 'grpc';
  /** `GET`, …; `POST` for gRPC. */
  readonly method: string;
  /** Host as the caller wrote it (no port). */
  readonly authority: string;
  /** Path as the caller wrote it (`/pkg.Service/Method` for gRPC). */
  readonly path: string;
  /** RDS route name; `''` when none matched (and for passthrough). */
  readonly routeName: string;
  /** Upstream cluster (`outbound|9080|v1|reviews.default.svc.cluster.local`); `''` when none. See {@link subsetOf}. */
  readonly clusterName: string;
  /** Envoy response flags so far, each once. */
  readonly flags: readonly ResponseFlag[];
  /** Upstream attempts started so far. */
  readonly attempts: number;
  /** Status the caller got (gRPC: the HTTP equivalent of the gRPC status); 0 when it got an error. */
  readonly status: number;
  /** gRPC status code the caller got; undefined for HTTP. */
  readonly grpcStatus: number | undefined;
  /** The endpoint that answered (with hedging, the winner), else the last one tried. Its `labels` are the workload's. */
  readonly endpoint: UpstreamEndpoint | undefined;
  /** Bytes of response body the caller got (HTTP; 0 for gRPC, which does not count them yet). */
  readonly responseBytes: number;
  /** Milliseconds from the call's start to now (to the end, in `onEnd`). */
  readonly durationMs: number;
  /** Bytes of request body sent, when the adapter counts them (absent: unknown, metrics record 0). */
  readonly requestBytes?: number;
  /** gRPC: messages the caller sent (absent for HTTP). */
  readonly requestMessages?: number;
  /** gRPC: messages the caller received (absent for HTTP). */
  readonly responseMessages?: number;
  /** A request header as the caller sent it (lower-case name; several values joined with `,`), while the adapter can read them (`onStart`). */
  requestHeader?(name: string): string | undefined;
  /**
   * Sets a request header on every attempt of the call (tracing's `traceparent`, the
   * `x-request-id`); only effective from `onStart`, before the first attempt goes out.
   */
  setRequestHeader?(name: string, value: string): void;
  /**
   * The caller's telemetry scope (telemetry/context.ts) captured when the call was created, for
   * adapters whose `onStart` may run in another async context (gRPC: a call queued for a pick).
   */
  readonly callerScope?: unknown;
}

/**
 * Receives every outbound call of a mesh. `S` is the observer's own per-call state: what
 * `onStart` returns comes back on the call's later events (no closure or map per call).
 * Observers must not throw (a throw is swallowed so the call goes on).
 *
 * @example
 * ```ts
 * const slow: CallObserver<number> = {
 *   onStart: () => 0,
 *   onAttemptEnd: (_s, call, attempt, endpoint, outcome) => console.log(call.path, attempt, endpoint.key, outcome.kind),
 *   onEnd: (_s, call) => { if (call.durationMs > 500) console.warn(call.clusterName, call.status, call.flags.join(',')); },
 * };
 * const sub = mesh.observe(slow);
 * sub.dispose();
 * ```
 */
export interface CallObserver<S = unknown> {
  /** The call was routed (route and cluster known). */
  onStart(call: ObservedCall): S;
  /** Attempt number `attempt` (1-based) was sent to `endpoint`. */
  onAttempt?(state: S, call: ObservedCall, attempt: number, endpoint: UpstreamEndpoint): void;
  /**
   * That attempt ended (an answer, a failure, or abandoned: retried, timed out, lost a hedge).
   * HTTP reports every attempt's end before `onEnd`; gRPC reports an attempt cancelled by the
   * call's end (a losing hedge) when grpc-js does, which may be after `onEnd`.
   */
  onAttemptEnd?(state: S, call: ObservedCall, attempt: number, endpoint: UpstreamEndpoint, outcome: AttemptOutcome): void;
  /** The caller got its answer (or error); called once. */
  onEnd(state: S, call: ObservedCall): void;
}

/**
 * The observers of one call, fixed at its start (observers added later see later calls).
 *
 * @example
 * ```ts
 * const list: ObserverList | undefined = observers.current();
 * ```
 */
export type ObserverList = readonly CallObserver[];

/**
 * A mesh's observers. `current()` is asked once per call and is `undefined` when nobody
 * observes, so unobserved calls pay one call and a branch. Gated observers (the `'request'`
 * event's, active while someone listens) join only while their gate says so.
 *
 * @example
 * ```ts
 * const observers = new CallObservers();
 * const sub = observers.add(myObserver);
 * const list = observers.current(); // [myObserver]
 * ```
 */
export class CallObservers {
  private plain: ObserverList = [];
  private gated: Array<{ observer: CallObserver; gate: () => boolean }> = [];
  /** Lists per gate bit mask, rebuilt after add/remove. */
  private cache: Array<ObserverList | undefined> = [];

  /**
   * Adds an observer for calls that start from now on; `gate` (asked per call) makes it join
   * only while it returns true. Dispose to remove it (calls in flight keep their list).
   *
   * @example
   * ```ts
   * const sub = observers.add(recordObserver(sink), () => listeners > 0);
   * ```
   */
  add<S>(observer: CallObserver<S>, gate?: () => boolean): { dispose(): void } {
    const o = observer as CallObserver;
    if (gate) {
      if (this.gated.length >= 30) throw new RangeError('meshlet: too many gated call observers');
      const entry = { observer: o, gate };
      this.gated = [...this.gated, entry];
      this.cache = [];
      return { dispose: () => { this.gated = this.gated.filter((e) => e !== entry); this.cache = []; } };
    }
    this.plain = [...this.plain, o];
    this.cache = [];
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        const i = this.plain.indexOf(o);
        if (i >= 0) this.plain = [...this.plain.slice(0, i), ...this.plain.slice(i + 1)];
        this.cache = [];
      },
    };
  }

  /** The observers of a call starting now; undefined when there are none. */
  current(): ObserverList | undefined {
    const gated = this.gated;
    let mask = 0;
    for (let i = 0; i < gated.length; i++) if (gated[i]!.gate()) mask |= 1 << i;
    if (mask === 0) return this.plain.length > 0 ? this.plain : undefined;
    return (this.cache[mask] ??= [...gated.filter((_, i) => (mask & (1 << i)) !== 0).map((e) => e.observer), ...this.plain]);
  }
}

function swallow(_err: unknown): void {
  // an observer throwing must not break the call
}

/**
 * Calls `onStart` of each observer; returns the call's states (the one state itself when there is
 * one observer, so the common case allocates no array). Pass it back to the other `observe*`.
 *
 * @example
 * ```ts
 * const list = observers.current();
 * if (list) this.observed = observeStart(list, this);
 * ```
 */
export function observeStart(list: ObserverList, call: ObservedCall): unknown {
  if (list.length === 1) {
    try {
      return list[0]!.onStart(call);
    } catch (err) {
      swallow(err);
      return undefined;
    }
  }
  const states: unknown[] = [];
  for (const o of list) {
    try {
      states.push(o.onStart(call));
    } catch (err) {
      swallow(err);
      states.push(undefined);
    }
  }
  return states;
}

function stateOf(list: ObserverList, states: unknown, i: number): unknown {
  return list.length === 1 ? states : (states as unknown[])[i];
}

/**
 * Reports attempt `attempt` (1-based) sent to `endpoint`.
 *
 * @example
 * ```ts
 * if (this.observers) observeAttempt(this.observers, this.observed, this, this.attempts, endpoint);
 * ```
 */
export function observeAttempt(list: ObserverList, states: unknown, call: ObservedCall, attempt: number, endpoint: UpstreamEndpoint): void {
  for (let i = 0; i < list.length; i++) {
    const o = list[i]!;
    if (!o.onAttempt) continue;
    try {
      o.onAttempt(stateOf(list, states, i), call, attempt, endpoint);
    } catch (err) {
      swallow(err);
    }
  }
}

/**
 * Reports how an attempt ended (the outcome the engine got for it).
 *
 * @example
 * ```ts
 * if (this.observers) observeAttemptEnd(this.observers, this.observed, this, attempt.n, attempt.endpoint, outcome);
 * ```
 */
export function observeAttemptEnd(list: ObserverList, states: unknown, call: ObservedCall, attempt: number, endpoint: UpstreamEndpoint, outcome: AttemptOutcome): void {
  for (let i = 0; i < list.length; i++) {
    const o = list[i]!;
    if (!o.onAttemptEnd) continue;
    try {
      o.onAttemptEnd(stateOf(list, states, i), call, attempt, endpoint, outcome);
    } catch (err) {
      swallow(err);
    }
  }
}

/**
 * Reports the end of the call (once; the adapter guards that).
 *
 * @example
 * ```ts
 * if (this.observers) observeEnd(this.observers, this.observed, this);
 * ```
 */
export function observeEnd(list: ObserverList, states: unknown, call: ObservedCall): void {
  for (let i = 0; i < list.length; i++) {
    try {
      list[i]!.onEnd(stateOf(list, states, i), call);
    } catch (err) {
      swallow(err);
    }
  }
}

/**
 * The subset of an Istio cluster name (`outbound|9080|v1|reviews…` → `v1`); `''` for none.
 *
 * @example
 * ```ts
 * subsetOf('outbound|9080|v1|reviews.default.svc.cluster.local'); // 'v1'
 * ```
 */
export function subsetOf(clusterName: string): string {
  const parts = clusterName.split('|');
  return parts.length === 4 ? parts[2]! : '';
}
