/**
 * Previous hosts (Envoy's `retry_host_predicate` previous_hosts, which Istio sets on every retry
 * policy) without an array per call: the newest attempt's endpoint is a field, and the list of
 * every endpoint tried is made only once a call has a second attempt. HTTP's retry state and
 * gRPC's call state both keep theirs this way.
 */
import type { UpstreamEndpoint } from '../types.js';

/** Where a call keeps the endpoints its attempts went to. */
export interface TriedEndpoints {
  /** The newest attempt's endpoint. */
  lastTried: UpstreamEndpoint | undefined;
  /** Every endpoint tried, oldest first; undefined while there is at most one. */
  tried: UpstreamEndpoint[] | undefined;
}

/**
 * Records that an attempt went to `endpoint`.
 *
 * @example
 * ```ts
 * recordTried(call, endpoint); // then plan.pick(previousHosts(call)) skips it
 * ```
 */
export function recordTried(t: TriedEndpoints, endpoint: UpstreamEndpoint): void {
  if (t.lastTried !== undefined) (t.tried ??= [t.lastTried]).push(endpoint);
  t.lastTried = endpoint;
}

/**
 * The endpoints tried so far, for the next pick (undefined before the first attempt).
 *
 * @example
 * ```ts
 * const endpoint = plan.pick(previousHosts(call));
 * ```
 */
export function previousHosts(t: TriedEndpoints): readonly UpstreamEndpoint[] | undefined {
  if (t.tried === undefined && t.lastTried !== undefined) t.tried = [t.lastTried];
  return t.tried;
}

/** How many attempts went to an endpoint. */
export function triedCount(t: TriedEndpoints): number {
  return t.tried?.length ?? (t.lastTried === undefined ? 0 : 1);
}
