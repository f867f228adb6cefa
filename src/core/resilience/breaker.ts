/**
 * Per-cluster circuit breaker and retry budget: plain counters, no promise wrappers.
 *
 * Mapping from Istio's DestinationRule connectionPool (translated into Envoy thresholds):
 * - `http.http2MaxRequests` → max_requests: requests in flight ≥ it → overflow ('UO').
 * - `tcp.maxConnections` + `http.http1MaxPendingRequests` → max_connections + max_pending_requests.
 *   We do not own connections (undici does), so we model HTTP/1 semantics: each in-flight
 *   request holds a connection, requests beyond max_connections wait in the pool's queue
 *   (pending). Admission fails when in flight ≥ max_connections + max_pending_requests.
 * - `http.maxRetries` → max_retries: concurrent retries ≥ it → 'UO'.
 * - Retry budget (always applied, Envoy's defaults 20% / min 3): concurrent retries may not
 *   exceed max(3, 20% of the requests in flight that are not themselves retrying) → 'URX'.
 *   Envoy takes 20% of all active requests, retrying ones included, which lets retries reach
 *   25% of first attempts (r ≤ 0.2·(o + r)); excluding them caps the extra load at 20%, the
 *   amplification bound the budget is meant to give (≤ 1.2× offered load, plus the floor of 3).
 */
import type { CircuitBreakersModel } from '../../xds/model.js';
import type { HeldSlot } from '../types.js';

/** Envoy's retry budget defaults. */
export const RETRY_BUDGET = { percent: 20, minConcurrency: 3 } as const;

/** A held slot: released once, however often `release` is called. */
export interface Slot extends HeldSlot {
  readonly ok: true;
}

/** Long-lived counters of one cluster (carried across snapshots by cluster name). */
export class ClusterCounters {
  active = 0;
  retriesActive = 0;
  overflows = 0;
  retryOverflows = 0;
  /** Thresholds of the newest snapshot (updated in place so old plans see the new limits). */
  limits: CircuitBreakersModel;

  constructor(limits: CircuitBreakersModel) {
    this.limits = limits;
  }

  /** Requests waiting for a connection under the HTTP/1 model (see module doc). */
  get pending(): number {
    return Math.max(0, this.active - this.limits.maxConnections);
  }

  /** Admits a request or reports an overflow. */
  admit(): Slot | { ok: false; flag: 'UO' } {
    const l = this.limits;
    if (this.active >= l.maxRequests || this.active >= l.maxConnections + l.maxPendingRequests) {
      this.overflows++;
      return { ok: false, flag: 'UO' };
    }
    this.active++;
    return new CounterSlot(this, false);
  }

  /** Admits a retry: the max_retries breaker first, then the retry budget. */
  admitRetry(): Slot | { ok: false; flag: 'URX' | 'UO' } {
    if (this.retriesActive >= this.limits.maxRetries) {
      this.retryOverflows++;
      return { ok: false, flag: 'UO' };
    }
    const firstAttempts = this.active - this.retriesActive;
    const budget = Math.max(RETRY_BUDGET.minConcurrency, Math.floor((firstAttempts * RETRY_BUDGET.percent) / 100));
    if (this.retriesActive >= budget) {
      this.retryOverflows++;
      return { ok: false, flag: 'URX' };
    }
    this.retriesActive++;
    return new CounterSlot(this, true);
  }
}

/** A held request or retry slot: one small object per request, no closures. */
class CounterSlot implements Slot {
  readonly ok = true;
  private held = true;

  constructor(private readonly counters: ClusterCounters, private readonly retry: boolean) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.retry) this.counters.retriesActive--;
    else this.counters.active--;
  }
}
