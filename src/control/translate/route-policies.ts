/**
 * The per-route policies of an Istio HTTPRoute, each translated as Istio's
 * `pilot/pkg/networking/core/route` package does: retries (`retry.ConvertPolicy`), fault
 * injection, mirroring, header manipulation and consistent-hash keys.
 */
import type { ConsistentHashLB, HTTPFaultInjection, HTTPRetry, HeaderOperations } from '../../config/types.js';
import { TYPE_URL } from '../../xds/type-urls.js';
import { toDuration } from './durations.js';
import { anyOf, emptyAny, fractionalPercent, wrap, type AnyObject } from './proto-helpers.js';

/**
 * Istio's default `retry_on`. The gRPC names in it (`unavailable`, `cancelled`) are what a gRPC
 * client acts on (grpc-js-xds knows cancelled, deadline-exceeded, internal,
 * resource-exhausted, unavailable and ignores the rest); the HTTP ones are for HTTP clients.
 */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const DEFAULT_RETRY_ATTEMPTS = 2;

/** Splits Istio `retryOn` into Envoy conditions and HTTP status codes (Istio `parseRetryOn`). */
function parseRetryOn(retryOn: string): { on: string[]; codes: number[] } {
  const on: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    if (/^\d+$/.test(part) && Number(part) >= 100 && Number(part) <= 599) codes.push(Number(part));
    else on.push(part);
  }
  return { on, codes };
}

/**
 * RetryPolicy for a route. No `retries` → Istio's default (2 attempts on connection failures,
 * refused streams, gRPC unavailable/cancelled and HTTP 503); `attempts: 0` → no policy at all.
 * With a consistent-hash policy the previous-hosts predicate is left out: retrying on another
 * host would defeat the hash (Istio does the same).
 */
export function retryPolicy(retries: HTTPRetry | undefined, hashing: boolean): Record<string, unknown> | undefined {
  if (retries && !(retries.attempts !== undefined && retries.attempts > 0)) return undefined;
  let retryOn = DEFAULT_RETRY_ON;
  let codes = [503];
  if (retries?.retryOn) {
    const parsed = parseRetryOn(retries.retryOn);
    codes = parsed.codes;
    if (codes.length > 0 && !parsed.on.includes('retriable-status-codes')) parsed.on.push('retriable-status-codes');
    retryOn = parsed.on.join(',');
  }
  const policy: Record<string, unknown> = {
    retry_on: retryOn,
    num_retries: wrap(retries?.attempts ?? DEFAULT_RETRY_ATTEMPTS),
    host_selection_retry_max_attempts: 5,
  };
  if (codes.length > 0) policy.retriable_status_codes = codes;
  if (!hashing) {
    policy.retry_host_predicate = [
      { name: 'envoy.retry_host_predicates.previous_hosts', typed_config: emptyAny('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate') },
    ];
  }
  const perTry = toDuration(retries?.perTryTimeout);
  if (perTry) policy.per_try_timeout = perTry;
  return policy;
}

/** gRPC status names (as Istio's `grpcStatus` takes them) to codes. */
const GRPC_STATUS: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** A percentage as Istio reads it: `percentage.value`, else the deprecated integer, else 0%. */
function percentOf(p: { percentage?: { value: number }; percent?: number }): number {
  return p.percentage?.value ?? p.percent ?? 0;
}

/**
 * HTTPFault override for the route's `typed_per_filter_config`. Istio semantics: an
 * unspecified percentage injects nothing; exponential delays and HTTP/2 errors are not
 * supported (as in Istio).
 */
export function faultConfig(fault: HTTPFaultInjection | undefined): AnyObject | undefined {
  if (!fault) return undefined;
  const msg: Record<string, unknown> = {};
  const fixed = toDuration(fault.delay?.fixedDelay);
  if (fault.delay && fixed) msg.delay = { fixed_delay: fixed, percentage: fractionalPercent(percentOf(fault.delay)) };
  const abort = fault.abort;
  if (abort) {
    const percentage = fractionalPercent(percentOf(abort));
    if (abort.httpStatus !== undefined) msg.abort = { http_status: abort.httpStatus, percentage };
    else if (abort.grpcStatus !== undefined) {
      const code = /^\d+$/.test(abort.grpcStatus) ? Number(abort.grpcStatus) : GRPC_STATUS[abort.grpcStatus.toUpperCase()];
      if (code !== undefined) msg.abort = { grpc_status: code, percentage };
    }
  }
  if (!msg.delay && !msg.abort) return undefined;
  return anyOf(TYPE_URL.fault.slice(TYPE_URL.fault.lastIndexOf('/') + 1), msg);
}

/** Envoy header-manipulation fields from Istio `set`/`add`/`remove` (keys sorted for stable output). */
export function headerOps(ops: HeaderOperations | undefined): { add: Array<Record<string, unknown>>; remove: string[] } {
  const add: Array<Record<string, unknown>> = [];
  const entries = (m: Record<string, string> | undefined): Array<[string, string]> => Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of entries(ops?.set)) add.push({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  for (const [key, value] of entries(ops?.add)) add.push({ header: { key, value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
  return { add, remove: [...(ops?.remove ?? [])] };
}

/** Sets the four header fields on a Route or ClusterWeight, only when non-empty. */
export function applyHeaders(target: Record<string, unknown>, headers: { request?: HeaderOperations; response?: HeaderOperations } | undefined): void {
  const req = headerOps(headers?.request);
  const res = headerOps(headers?.response);
  if (req.add.length) target.request_headers_to_add = [...((target.request_headers_to_add as unknown[]) ?? []), ...req.add];
  if (req.remove.length) target.request_headers_to_remove = [...((target.request_headers_to_remove as unknown[]) ?? []), ...req.remove];
  if (res.add.length) target.response_headers_to_add = [...((target.response_headers_to_add as unknown[]) ?? []), ...res.add];
  if (res.remove.length) target.response_headers_to_remove = [...((target.response_headers_to_remove as unknown[]) ?? []), ...res.remove];
}

/**
 * Route hash policy from a DestinationRule's consistentHash (Istio `consistentHashToHashPolicy`).
 * gRPC clients only hash on headers; cookie, source IP and query parameter keys are for HTTP
 * clients (a gRPC client without a usable key picks a random ring position).
 */
export function hashPolicy(ch: ConsistentHashLB | undefined): Array<Record<string, unknown>> | undefined {
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ header: { header_name: ch.httpHeaderName } }];
  if (ch.httpCookie) {
    const cookie: Record<string, unknown> = { name: ch.httpCookie.name };
    if (ch.httpCookie.path) cookie.path = ch.httpCookie.path;
    const ttl = toDuration(ch.httpCookie.ttl);
    if (ttl) cookie.ttl = ttl;
    return [{ cookie }];
  }
  if (ch.useSourceIp) return [{ connection_properties: { source_ip: true } }];
  if (ch.httpQueryParameterName) return [{ query_parameter: { name: ch.httpQueryParameterName } }];
  return undefined;
}
