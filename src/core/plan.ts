/**
 * The per-request CallPlan: a small object holding the decisions already taken (fault, mirrors,
 * rewrites, request hash) and delegating admission and picks to the cluster's counters and
 * balancer. No closures are created per request.
 */
import type { ClusterRuntime } from './cluster.js';
import type { CallPlan, HeaderMutation, RetryPlan, UpstreamEndpoint, AttemptOutcome } from './types.js';
import type { RolledFault } from './filters/fault-roll.js';

/** Mutable fields set by the router while building the plan (filters' onForward writes them too). */
export type PlanFields = Pick<RoutedPlan, 'routeName' | 'fault' | 'timeoutMs' | 'maxStreamDurationMs' | 'retry' | 'requestHeaders' | 'responseHeaders' | 'rewritePath' | 'rewriteHost' | 'mirrors' | 'hash' | 'setCookie'>;

/** CallPlan bound to one cluster runtime of one snapshot. */
export class RoutedPlan implements CallPlan {
  // Written only while the router builds the plan (filters' onForward included); read-only to
  // everyone else through CallPlan. Built directly rather than from a PlanFields literal: one
  // object per request instead of two.
  readonly clusterName: string;
  routeName: string;
  fault?: RolledFault;
  timeoutMs?: number;
  maxStreamDurationMs?: number;
  retry?: RetryPlan;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  rewritePath?: string;
  rewriteHost?: string;
  mirrors: readonly string[];
  /** The 64-bit request hash for consistent-hash balancing (undefined: none, a random one is drawn). */
  hash: bigint | undefined;
  setCookie: string | undefined;

  constructor(
    private readonly cluster: ClusterRuntime,
    routeName: string,
    timeoutMs: number | undefined,
    retry: RetryPlan | undefined,
    requestHeaders: HeaderMutation,
    responseHeaders: HeaderMutation,
    rewriteHost: string | undefined,
    mirrors: readonly string[],
  ) {
    // Every field assigned, in one order, absent ones as undefined: one hidden class for all
    // plans, so the adapters' reads of them stay monomorphic.
    this.clusterName = cluster.name;
    this.routeName = routeName;
    this.fault = undefined;
    this.timeoutMs = timeoutMs;
    this.maxStreamDurationMs = undefined;
    this.retry = retry;
    this.requestHeaders = requestHeaders;
    this.responseHeaders = responseHeaders;
    this.rewritePath = undefined;
    this.rewriteHost = rewriteHost;
    this.mirrors = mirrors;
    this.hash = undefined;
    this.setCookie = undefined;
  }

  get maxRequestsPerConnection(): number | undefined {
    return this.cluster.model?.maxRequestsPerConnection;
  }

  get http2(): boolean {
    return this.cluster.model?.http2 === true;
  }

  admit(): { ok: true; release(): void } | { ok: false; flag: 'UO' } {
    return this.cluster.state.counters.admit();
  }

  admitRetry(): { ok: true; release(): void } | { ok: false; flag: 'URX' | 'UO' } {
    return this.cluster.state.counters.admitRetry();
  }

  pick(tried?: readonly UpstreamEndpoint[]): UpstreamEndpoint | undefined {
    return this.cluster.pick(this.hash, tried);
  }

  startAttempt(endpoint: UpstreamEndpoint): void {
    this.cluster.startAttempt(endpoint);
  }

  endAttempt(endpoint: UpstreamEndpoint, outcome: AttemptOutcome): void {
    this.cluster.endAttempt(endpoint, outcome);
  }
}
