/**
 * When to rotate and when to retry — pure functions of durations, so they are tested without
 * timers.
 *
 * - Rotation: Istio's `rotateTime` (security/pkg/nodeagent/cache/secretcache.go): the grace
 *   period is `(SECRET_GRACE_PERIOD_RATIO ± U(0, SECRET_GRACE_PERIOD_RATIO_JITTER)) × lifetime`,
 *   defaults 0.5 and 0.01 (pilot/cmd/pilot-agent/options/options.go), and rotation happens that
 *   long before expiry — at 49–51% of the lifetime.
 * - Retry after a failed renewal: linkerd2-proxy's `refresh_in` (linkerd/proxy/identity-client/
 *   src/certify.rs): 70% of the time left until expiry, clamped to [min_refresh, max_refresh]
 *   (defaults 10 s and 24 h, linkerd/app/src/env.rs), min_refresh once expired. Each retry thus
 *   comes sooner as expiry approaches.
 * - Before the first certificate: exponential backoff from `initialBackoffMs`, capped at
 *   `minRefreshMs`, ±20% jitter.
 */

/** The knobs, all overridable per IdentityManager. */
export interface RotationPolicy {
  graceRatio: number;
  graceRatioJitter: number;
  minRefreshMs: number;
  maxRefreshMs: number;
  initialBackoffMs: number;
}

export const ROTATION_DEFAULTS: Readonly<RotationPolicy> = {
  graceRatio: 0.5,
  graceRatioJitter: 0.01,
  minRefreshMs: 10_000,
  maxRefreshMs: 24 * 3600_000,
  initialBackoffMs: 1_000,
};

/**
 * Delay until rotation of a certificate just obtained, whose remaining life is `lifetimeMs`.
 *
 * @example rotationDelay(ROTATION_DEFAULTS, 24 * 3600_000, 0.5) // 12 h
 */
export function rotationDelay(policy: RotationPolicy, lifetimeMs: number, random: number): number {
  const jitter = (random * 2 - 1) * policy.graceRatioJitter;
  const ratio = Math.min(1, Math.max(0, policy.graceRatio + jitter));
  return Math.max(0, lifetimeMs - ratio * lifetimeMs);
}

/**
 * Delay until the next attempt after `failures` failed ones; `remainingMs` is the current
 * certificate's time left (negative once expired), `undefined` before the first certificate.
 *
 * @example retryDelay(ROTATION_DEFAULTS, 3600_000, 1, 0.5) // 42 min (70% of an hour)
 */
export function retryDelay(policy: RotationPolicy, remainingMs: number | undefined, failures: number, random: number): number {
  if (remainingMs === undefined) {
    const base = Math.min(policy.minRefreshMs, policy.initialBackoffMs * 2 ** Math.min(Math.max(0, failures - 1), 20));
    return Math.round(base * (0.8 + 0.4 * random));
  }
  if (remainingMs <= 0) return policy.minRefreshMs;
  return Math.min(policy.maxRefreshMs, Math.max(policy.minRefreshMs, Math.round(remainingMs * 0.7)));
}
