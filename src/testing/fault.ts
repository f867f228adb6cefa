/**
 * `t.fault()` as configuration: a fault spec becomes HTTPRoutes with Istio's own `fault` field
 * in the VirtualService of the faulted host, so the fault travels the production path —
 * translation to Envoy's HTTPFault per-route config, xDS, the engine's fault filter, the HTTP or
 * gRPC adapter's delay and abort. One fault implementation (the engine's) serves tests and
 * production; the test kit only writes config.
 *
 * The user's VirtualService for the host (if any, as applied through the kit) is the base: each
 * of its HTTP routes gets the fault (in place when the fault has no extra match), or a copy of it
 * with the fault and the extra match (`match`, the source's `app` label) is put before it.
 */
import { meshError } from '../errors.js';
import { resolveHost } from '../config/hosts.js';
import type { HTTPFaultInjection, HTTPMatchRequest, HTTPRoute, VirtualService } from '../config/types.js';
import { grpcStatusName } from '../internal/grpc-codes.js';

/**
 * A percentage: `10` or Istio's `{ value: 10 }`.
 *
 * @example
 * ```ts
 * const p: FaultPercentage = { value: 0.5 }; // one request in 200
 * ```
 */
export type FaultPercentage = number | { value: number };

/**
 * What `t.fault()` takes: Istio's HTTPFaultInjection (VirtualService `fault`) scoped to a
 * destination service and, optionally, a route, a match and a calling service.
 *
 * @example
 * ```ts
 * const spec: FaultSpec = { service: 'ratings', abort: { httpStatus: 503, percentage: 10 } };
 * const slow: FaultSpec = { service: 'reviews', from: 'productpage', delay: { fixedDelay: '200ms', percentage: 100 } };
 * const cut: FaultSpec = { service: 'ratings', partition: { from: 'reviews' } };
 * ```
 */
export interface FaultSpec {
  /** Destination service (`ratings`, `ratings.default`, or its FQDN). */
  service: string;
  /** Only the HTTP route with this `name` in the service's VirtualService. */
  route?: string;
  /** Only requests matching this (any of these) HTTPMatchRequest, as in a VirtualService. */
  match?: HTTPMatchRequest | HTTPMatchRequest[];
  /** Only calls from this service (the caller's `app` label, which `t.mesh()` sets). */
  from?: string;
  /** Istio `fault.abort`: `httpStatus` or `grpcStatus` (a name, `'UNAVAILABLE'`, or a code, 14). */
  abort?: { httpStatus?: number; grpcStatus?: string | number; percentage?: FaultPercentage };
  /** Istio `fault.delay`: `fixedDelay` as a duration (`'200ms'`) or milliseconds. */
  delay?: { fixedDelay: string | number; percentage?: FaultPercentage };
  /**
   * Connection resets: the service's HTTP `t.backend()` servers reset (TCP RST) the connection
   * of this share of the requests they get (Envoy's fault filter has no reset, so the backend
   * does it for real). Scoped by service only; gRPC backends do not reset.
   */
  reset?: { percentage?: FaultPercentage };
  /**
   * The service is unreachable (from `from`, or from everyone): every call is aborted with 503
   * (gRPC: UNAVAILABLE), what a caller sees when no endpoint can be reached.
   */
  partition?: boolean | { from?: string };
}

const MAX_FAULT_TEXT = 256;

function percent(p: FaultPercentage | undefined, what: string): { value: number } | undefined {
  if (p === undefined) return undefined;
  const value = typeof p === 'number' ? p : p?.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw meshError('MESHLET_ERR_CONFIG', `t.fault(): ${what}.percentage must be a number from 0 to 100`);
  }
  return { value };
}

/**
 * The calling service the spec is scoped to, if any.
 *
 * @example
 * ```ts
 * faultSource({ service: 'ratings', partition: { from: 'reviews' } }); // 'reviews'
 * ```
 */
export function faultSource(spec: FaultSpec): string | undefined {
  return spec.from ?? (typeof spec.partition === 'object' ? spec.partition.from : undefined);
}

/**
 * The HTTPFaultInjection of a spec (undefined for a reset-only spec). Validation of the values
 * themselves (status ranges, durations) is the VirtualService schema's, when the result is parsed.
 *
 * @example
 * ```ts
 * toIstioFault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
 * // { abort: { httpStatus: 503, percentage: { value: 10 } } }
 * ```
 */
export function toIstioFault(spec: FaultSpec): HTTPFaultInjection | undefined {
  if (typeof spec !== 'object' || spec === null || typeof spec.service !== 'string' || spec.service.length === 0 || spec.service.length > MAX_FAULT_TEXT) {
    throw meshError('MESHLET_ERR_CONFIG', 't.fault(): `service` must be a non-empty service name');
  }
  const out: HTTPFaultInjection = {};
  if (spec.partition) out.abort = { httpStatus: 503, percentage: { value: 100 } };
  else if (spec.abort) {
    const { httpStatus, grpcStatus } = spec.abort;
    if ((httpStatus === undefined) === (grpcStatus === undefined)) throw meshError('MESHLET_ERR_CONFIG', 't.fault(): abort needs one of httpStatus and grpcStatus');
    const pct = percent(spec.abort.percentage, 'abort');
    out.abort = {
      ...(httpStatus !== undefined ? { httpStatus } : { grpcStatus: typeof grpcStatus === 'number' ? grpcStatusName(grpcStatus) : String(grpcStatus) }),
      ...(pct ? { percentage: pct } : {}),
    };
  }
  if (spec.delay) {
    const d = spec.delay.fixedDelay;
    const fixedDelay = typeof d === 'number' && Number.isFinite(d) && d >= 0 ? `${Math.round(d)}ms` : d;
    if (typeof fixedDelay !== 'string' || fixedDelay.length > 32) throw meshError('MESHLET_ERR_CONFIG', 't.fault(): delay.fixedDelay must be a duration (\'200ms\') or milliseconds');
    const pct = percent(spec.delay.percentage, 'delay');
    out.delay = { fixedDelay, ...(pct ? { percentage: pct } : {}) };
  }
  if (spec.reset) percent(spec.reset.percentage, 'reset');
  if (!out.abort && !out.delay) {
    if (spec.reset) return undefined;
    throw meshError('MESHLET_ERR_CONFIG', 't.fault(): give abort, delay, reset or partition');
  }
  return out;
}

/**
 * The FQDN of a service name as a caller in `namespace` dials it: `ratings`, `ratings.default`,
 * `ratings.default.svc` and the FQDN itself all name `ratings.default.svc.cluster.local`.
 *
 * @example
 * ```ts
 * serviceFqdn('ratings', 'default'); // 'ratings.default.svc.cluster.local'
 * ```
 */
export function serviceFqdn(service: string, namespace: string, domainSuffix = 'cluster.local'): string {
  const parts = service.split('.');
  if (parts.length === 2) return `${service}.svc.${domainSuffix}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${service}.${domainSuffix}`;
  return resolveHost(service, namespace, domainSuffix);
}

/**
 * True when `vs` is a mesh (sidecar) VirtualService for the service's FQDN.
 *
 * @example
 * ```ts
 * routesService(vs, 'ratings.default.svc.cluster.local');
 * ```
 */
export function routesService(vs: VirtualService, fqdn: string, domainSuffix = 'cluster.local'): boolean {
  if (vs.spec.gateways && !vs.spec.gateways.includes('mesh')) return false;
  const ns = vs.metadata.namespace;
  return (vs.spec.hosts ?? []).some((h) => serviceFqdn(h, ns, domainSuffix) === fqdn);
}

/** The extra matches of a spec (OR'ed), each with the source's `app` label; undefined: none. */
function extraMatches(spec: FaultSpec): HTTPMatchRequest[] | undefined {
  const from = faultSource(spec);
  const list = spec.match === undefined ? undefined : Array.isArray(spec.match) ? spec.match : [spec.match];
  if (!list && from === undefined) return undefined;
  return (list ?? [{}]).map((m) => (from === undefined ? { ...m } : { ...m, sourceLabels: { ...m.sourceLabels, app: from } }));
}

/** A route's match AND an extra one: the extra's fields win; maps are merged. */
function both(a: HTTPMatchRequest, b: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...a, ...b };
  for (const k of ['headers', 'withoutHeaders', 'queryParams', 'sourceLabels'] as const) {
    if (a[k] || b[k]) (out as Record<string, unknown>)[k] = { ...a[k], ...b[k] };
  }
  return out;
}

/**
 * Adds one fault to the HTTP routes of a VirtualService (a copy; the input is not changed).
 * `n` numbers the fault, naming the routes it adds `<route>.fault-<n>`.
 *
 * @example
 * ```ts
 * const next = withFault(vs, { service: 'ratings', from: 'reviews', partition: true }, fault, 1);
 * ```
 */
export function withFault(vs: VirtualService, spec: FaultSpec, fault: HTTPFaultInjection, n: number): VirtualService {
  const http = vs.spec.http ?? [];
  if (spec.route !== undefined && !http.some((r) => r.name === spec.route)) {
    throw meshError('MESHLET_ERR_CONFIG', `t.fault(): VirtualService ${vs.metadata.namespace}/${vs.metadata.name} has no HTTP route named "${spec.route}"`);
  }
  const extra = extraMatches(spec);
  const out: HTTPRoute[] = [];
  for (const r of http) {
    if (spec.route !== undefined && r.name !== spec.route) {
      out.push(r);
      continue;
    }
    // Redirects and direct responses answer locally: Envoy applies no fault filter to them either.
    if (!r.route && !r.delegate) {
      out.push(r);
      continue;
    }
    if (!extra) {
      out.push({ ...r, fault: { ...r.fault, ...fault } });
      continue;
    }
    const match = (r.match ?? [{}]).flatMap((m) => extra.map((e) => both(m, e)));
    out.push({ ...r, name: `${r.name ?? 'route'}.fault-${n}`, match, fault: { ...r.fault, ...fault } }, r);
  }
  return { ...vs, spec: { ...vs.spec, http: out } };
}

/**
 * The VirtualService the kit writes when the user applied none for the host: Istio's default
 * route (everything to the service), which the faults are then added to.
 *
 * @example
 * ```ts
 * syntheticVirtualService('ratings', 'ratings.default.svc.cluster.local', 'default'); // hosts: [the FQDN], http: [{ name: 'default', route: [...] }]
 * ```
 */
export function syntheticVirtualService(service: string, fqdn: string, namespace: string): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: `meshlet-testing-${service.replace(/[^a-z0-9-]/g, '-').slice(0, 40)}`, namespace },
    spec: { hosts: [fqdn], http: [{ name: 'default', route: [{ destination: { host: fqdn } }] }] },
  };
}
