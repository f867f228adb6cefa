/**
 * Per-cluster circuit breaker and retry budget: plain counters, no promise wrappers.
 *
 * Mapping from Istio's DestinationRule connectionPool (translated into Envoy thresholds):
 * - `http.http2MaxRequests` → max_requests: requests in flight ≥ it → overflow ('UO').
 * - `tcp.maxConnections` + `http.http1MaxPendingRequests` → max_connections + max_pending_requests.
 *   We do not own connections (undici does), so we model HTTP/1 semantics: each in-flight
 *   request holds a connection, requests beyond max_connections wait in the pool's queue
 *   (pending). Admission fails when in flight ≥ max_connections + max_pending_requests.
 * - `http.maxRetries` → max_retries: concurrent retries ≥ it → 'UO' (Istio's default 2^32-1).
 * - Retry budget, only when the DestinationRule sets `trafficPolicy.retryBudget` (Istio sets
 *   none; its `percent`/`minRetryConcurrency` default to Envoy's 20% / 3): concurrent retries
 *   may not exceed max(min, percent of the requests in flight that are not themselves
 *   retrying) → 'URX'. Envoy takes the percentage of all active requests, retrying ones
 *   included, which lets retries reach 25% of first attempts at 20% (r ≤ 0.2·(o + r));
 *   excluding them caps the extra load at the percentage, the amplification bound the budget
 *   is meant to give (≤ 1.2× offered load at 20%, plus the floor).
 */
import type { CircuitBreakersModel } from '../model/index.js';
import type { HeldSlot } from '../types.js';

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

  /** Admits a retry: the max_retries breaker first, then the retry budget when one is configured. */
  admitRetry(): Slot | { ok: false; flag: 'URX' | 'UO' } {
    if (this.retriesActive >= this.limits.maxRetries) {
      this.retryOverflows++;
      return { ok: false, flag: 'UO' };
    }
    const rb = this.limits.retryBudget;
    if (rb) {
      const firstAttempts = this.active - this.retriesActive;
      const budget = Math.max(rb.minRetryConcurrency, Math.floor((firstAttempts * rb.percent) / 100));
      if (this.retriesActive >= budget) {
        this.retryOverflows++;
        return { ok: false, flag: 'URX' };
      }
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
