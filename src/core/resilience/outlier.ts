/**
 * Outlier detection with Envoy's consecutive-error semantics, evaluated lazily (no timers):
 *
 * - a response ≥ 500 bumps the host's consecutive-5xx counter, 502/503/504 also the
 *   consecutive-gateway-failure counter; anything else resets both;
 * - local-origin failures (connect failure, reset, timeout) count as 503/504 unless
 *   `splitExternalLocalOriginErrors`, in which case they feed consecutiveLocalOriginFailure;
 * - reaching a threshold (==, then the counter resets) ejects the host if the enforcing roll
 *   passes and (ejected + 1) / hosts ≤ maxEjectionPercent (Envoy's check, so 10% of 3 hosts
 *   ejects none);
 * - ejection lasts min(base × multiplier, max(base, maxEjectionTime)); the multiplier grows per
 *   ejection and shrinks by one per `intervalMs` spent un-ejected (computed at the next ejection);
 * - ejected hosts come back when their time is up; the cluster checks this at pick time.
 *
 * Success-rate and failure-percentage ejection need interval statistics: not implemented.
 */
import type { OutlierDetectionModel } from '../model/index.js';
import type { Host } from '../balancer/host.js';
import type { AttemptOutcome } from '../types.js';

/** Why an ejection was considered, for diagnostics. */
export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';

/** Cluster-wide view the detector needs to apply maxEjectionPercent. */
export interface EjectionScope {
  readonly hostCount: number;
  readonly ejectedCount: number;
}

/**
 * Records an attempt outcome for a host. Returns the ejection reason when the host was ejected
 * by this outcome (the caller then rebuilds its load plan), else undefined.
 */
export function recordOutcome(
  cfg: OutlierDetectionModel,
  host: Host,
  outcome: AttemptOutcome,
  scope: EjectionScope,
  now: number,
  random: () => number,
): EjectionReason | undefined {
  const s = host.outlier;
  let status: number;
  if (outcome.kind === 'response') {
    status = outcome.status;
    if (cfg.splitExternalLocalOriginErrors) s.consecutiveLocal = 0; // the upstream answered
  } else if (cfg.splitExternalLocalOriginErrors) {
    if (++s.consecutiveLocal >= cfg.consecutiveLocalOriginFailure && cfg.consecutiveLocalOriginFailure > 0) {
      s.consecutiveLocal = 0;
      return tryEject(cfg, host, scope, now, random, 100, 'consecutive_local_origin_failure');
    }
    return undefined;
  } else {
    status = outcome.kind === 'timeout' ? 504 : 503;
  }
  if (status < 500) {
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    return undefined;
  }
  let reason: EjectionReason | undefined;
  if (status === 502 || status === 503 || status === 504) {
    if (++s.consecutiveGateway >= cfg.consecutiveGatewayFailure && cfg.consecutiveGatewayFailure > 0) {
      s.consecutiveGateway = 0;
      reason = tryEject(cfg, host, scope, now, random, cfg.enforcingConsecutiveGatewayFailure, 'consecutive_gateway_failure');
    }
  } else {
    s.consecutiveGateway = 0;
  }
  if (++s.consecutive5xx >= cfg.consecutive5xx && cfg.consecutive5xx > 0) {
    s.consecutive5xx = 0;
    reason ??= tryEject(cfg, host, scope, now, random, cfg.enforcingConsecutive5xx, 'consecutive_5xx');
  }
  return reason;
}

function tryEject(
  cfg: OutlierDetectionModel,
  host: Host,
  scope: EjectionScope,
  now: number,
  random: () => number,
  enforcing: number,
  reason: EjectionReason,
): EjectionReason | undefined {
  const s = host.outlier;
  if (s.ejected || scope.hostCount === 0) return undefined;
  if ((100 * (scope.ejectedCount + 1)) / scope.hostCount > Math.min(100, cfg.maxEjectionPercent)) return undefined;
  if (enforcing < 100 && !(random() * 100 < enforcing)) return undefined;
  if (s.ejections > 0 && cfg.intervalMs > 0 && s.decayFrom > 0) {
    s.ejections = Math.max(0, s.ejections - Math.floor((now - s.decayFrom) / cfg.intervalMs));
  }
  s.ejections++;
  s.ejected = true;
  s.ejectedUntil = now + ejectionDuration(cfg, s.ejections);
  return reason;
}

/** Ejection time for the n-th consecutive ejection: base × n, capped by max(base, maxEjectionTime). */
export function ejectionDuration(cfg: OutlierDetectionModel, multiplier: number): number {
  return Math.min(cfg.baseEjectionTimeMs * multiplier, Math.max(cfg.baseEjectionTimeMs, cfg.maxEjectionTimeMs));
}

/** Returns a host whose ejection time is up to service; its counters start fresh. */
export function uneject(host: Host, now: number): void {
  const s = host.outlier;
  s.ejected = false;
  s.ejectedUntil = 0;
  s.decayFrom = now;
  s.consecutive5xx = 0;
  s.consecutiveGateway = 0;
  s.consecutiveLocal = 0;
}
