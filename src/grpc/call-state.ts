/**
 * Per-call state shared by the three grpc-js hooks meshlet plugs in: the client interceptor
 * (one logical call, its retries), the ConfigSelector (routing: the engine's CallPlan) and the
 * LB picker (endpoint choice). They find each other through the global registry's WeakMaps, so
 * nothing rides on the wire.
 */
import type { AttemptOutcome, CallPlan, HeldSlot, ResponseFlag, UpstreamEndpoint } from '../core/types.js';
import { grpcToHttpStatus } from './status.js';
import type { GrpcMeshRuntime, GrpcRequestRecord } from './types.js';

/** Told when the ConfigSelector routed the call (the client interceptor's call). */
export interface RoutedListener {
  onRouted(plan: CallPlan): void;
}

/** One logical call: routed once, possibly attempted several times. */
export class CallState {
  /** The interceptor's call, when one drives this call. */
  owner: RoutedListener | undefined;
  plan: CallPlan | undefined;
  /** Route decided (plan or a local reply). */
  routed = false;
  host = '';
  path = '';
  readonly tried: UpstreamEndpoint[] = [];
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
    const sink = this.runtime.records();
    if (!sink) return;
    const last = this.servedBy ?? this.tried[this.tried.length - 1];
    const record: GrpcRequestRecord = {
      protocol: 'grpc',
      method: 'POST',
      host: this.host,
      path: this.path,
      routeName: this.plan?.routeName ?? '',
      clusterName: this.plan?.clusterName ?? '',
      ...(last ? { endpoint: last.key } : {}),
      status: grpcToHttpStatus(code),
      grpcStatus: code,
      flags: [...this.flags],
      attempts: this.attempts,
      durationMs: performance.now() - this.startedAt,
    };
    try {
      sink(record);
    } catch {
      // a listener throwing must not break the call
    }
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

  constructor(readonly call: CallState) {}
}
