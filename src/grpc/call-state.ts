/**
 * Per-call state shared by the three grpc-js hooks meshlet plugs in: the client interceptor
 * (one logical call, its retries), the ConfigSelector (routing: the engine's CallPlan) and the
 * LB picker (endpoint choice). They find each other through the global registry's WeakMaps, so
 * nothing rides on the wire.
 */
import type { AttemptOutcome, CallPlan, HeldSlot, ResponseFlag, UpstreamEndpoint } from '../core/types.js';
import type { Metadata } from '@grpc/grpc-js';
import { grpcToHttpStatus } from './status.js';
import { triedCount, type TriedEndpoints } from '../core/resilience/previous-hosts.js';
import { currentScope } from '../telemetry/context.js';
import type { GrpcMeshRuntime } from './types.js';
import { observeAttempt, observeAttemptEnd, observeEnd, observeStart, type ObservedCall, type ObserverList } from '../core/observer.js';

/** Told when the ConfigSelector routed the call (the client interceptor's call). */
export interface RoutedListener {
  onRouted(plan: CallPlan): void;
}

/** One logical call: routed once, possibly attempted several times. */
export class CallState implements ObservedCall, TriedEndpoints {
  /** The interceptor's call, when one drives this call. */
  owner: RoutedListener | undefined;
  plan: CallPlan | undefined;
  /** Route decided (plan or a local reply). */
  routed = false;
  host = '';
  path = '';
  /** Endpoints attempts went to (previous hosts: core's previous-hosts.ts). */
  lastTried: UpstreamEndpoint | undefined = undefined;
  tried: UpstreamEndpoint[] | undefined = undefined;
  /** The endpoint whose response the caller got (with hedging, not always the last tried). */
  servedBy: UpstreamEndpoint | undefined;
  readonly flags: ResponseFlag[];
  attempts = 0;
  /** Epoch ms of the caller's own deadline (Infinity: none). */
  callerDeadline = Infinity;
  /** Epoch ms at which the route timeout expires (Infinity: none). */
  routeDeadline = Infinity;
  /** Circuit-breaker admission, released when the call ends. */
  admission: HeldSlot | undefined;
  private readonly startedAt = performance.now();
  private done = false;
  /** Messages the caller sent / received (Istio's istio_request_messages_total / istio_response_messages_total). */
  requestMessages = 0;
  responseMessages = 0;
  /** gRPC status the caller got (set at the end). */
  grpcStatus: number | undefined = undefined;
  /** The observers, fixed at the call's first attempt (or its end, if it had none). */
  private observers: ObserverList | undefined;
  private observed: unknown;
  private started = false;

  get protocol(): 'grpc' { return 'grpc'; }
  get method(): string { return 'POST'; }
  get authority(): string { return this.host; }
  get routeName(): string { return this.plan?.routeName ?? ''; }
  get clusterName(): string { return this.plan?.clusterName ?? ''; }
  get status(): number { return this.grpcStatus === undefined ? 0 : grpcToHttpStatus(this.grpcStatus); }
  get endpoint(): UpstreamEndpoint | undefined { return this.servedBy ?? this.lastTried; }
  get responseBytes(): number { return 0; }
  get durationMs(): number { return performance.now() - this.startedAt; }

  /** The caller's telemetry scope, captured where the caller made the call (a pick may run later, elsewhere). */
  readonly callerScope: unknown = currentScope();
  /** The metadata of the attempt being prepared (observers read it in onStart). */
  private sending: Metadata | undefined;
  /** Headers observers set (tracing), added to every attempt. */
  private extraHeaders: Array<[string, string]> | undefined;

  requestHeader(name: string): string | undefined {
    const values = this.sending?.get(name);
    if (!values || values.length === 0) return undefined;
    return values.length === 1 ? String(values[0]) : values.map(String).join(',');
  }

  setRequestHeader(name: string, value: string): void {
    (this.extraHeaders ??= []).push([name, value]);
    this.sending?.set(name, value);
  }

  /**
   * An attempt's metadata is about to go out (the ConfigSelector's filter): observers start
   * before the first (they may add headers), and what they added goes on every attempt.
   */
  /** Whether {@link prepareAttempt} has anything to do (observers to start, or headers they added). */
  wantsMetadata(): boolean {
    return this.started ? this.extraHeaders !== undefined : this.runtime.observers() !== undefined;
  }

  prepareAttempt(md: Metadata): void {
    if (!this.started) {
      this.sending = md;
      this.start();
      this.sending = undefined;
      return;
    }
    const extra = this.extraHeaders;
    if (extra) for (const [k, v] of extra) md.set(k, v);
  }

  private start(): ObserverList | undefined {
    if (this.started) return this.observers;
    this.started = true;
    const list = this.runtime.observers();
    if (!list) return undefined;
    this.observers = list;
    this.observed = observeStart(list, this);
    return list;
  }

  /** The picker sent attempt `attempt` to its endpoint. */
  attemptStarted(attempt: AttemptContext): void {
    const list = this.start();
    attempt.n = this.intercepted ? this.attempts : triedCount(this);
    if (list && attempt.endpoint) observeAttempt(list, this.observed, this, attempt.n, attempt.endpoint);
  }

  /** That attempt ended (reported to the engine). */
  attemptEnded(attempt: AttemptContext, outcome: AttemptOutcome): void {
    const list = this.observers;
    if (list && attempt.endpoint) observeAttemptEnd(list, this.observed, this, attempt.n, attempt.endpoint, outcome);
  }

  constructor(
    readonly runtime: GrpcMeshRuntime,
    /** True when the client interceptor drives this call (retries, records); false for a bare channel call. */
    readonly intercepted: boolean,
    /** The flag list (the interceptor's retry state shares its own). */
    flags: ResponseFlag[] = [],
  ) {
    this.flags = flags;
  }

  /** min(caller deadline, route deadline). */
  get deadline(): number {
    return Math.min(this.callerDeadline, this.routeDeadline);
  }

  flag(flag: ResponseFlag): void {
    if (!this.flags.includes(flag)) this.flags.push(flag);
  }

  /** Ends the call once: releases the breaker slot and emits the request record. */
  finish(code: number): void {
    if (this.done) return;
    this.done = true;
    this.admission?.release();
    this.admission = undefined;
    this.grpcStatus = code;
    const list = this.start();
    if (list) observeEnd(list, this.observed, this);
  }
}

/** One channel call (attempt) of a {@link CallState}. */
export class AttemptContext {
  /** The endpoint the picker chose, once the call started on it. */
  endpoint: UpstreamEndpoint | undefined;
  /** Response headers (or a trailers-only response) came back from the upstream. */
  sawHeaders = false;
  /** What was reported to the engine for this attempt. */
  outcome: AttemptOutcome | undefined;
  /** Ended locally before reaching an upstream (NR, UH, UO, FI): never retried. */
  local = false;
  /** 1-based attempt number (observers). */
  n = 0;

  constructor(readonly call: CallState) {}
}
