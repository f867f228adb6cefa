/**
 * networking.istio.io VirtualService schema, with the single-resource checks Istio's webhook does
 * (route XOR redirect, regexes compile, fault/retry/redirect ranges, weights).
 */
import { arrayOf, duration, enumOf, int, mapOf, obj, port, report, str, type Schema, type WalkContext } from '../schema.js';
import {
  bool, cidrProblem, destination, exportTo, headers, hostProblem, int32, migratePercent, percentage,
  presenceOrStringMatch, regexProblem, stringMap, stringMatch,
} from './common.js';

/** Route weight: an integer 0..100; a negative weight is a MESHLET_ERR_CONFIG_WEIGHTS error. */
const weight: Schema = (node, ctx, path) => {
  const v = int({ max: 100 })(node, ctx, path) as number | undefined;
  if (v !== undefined && v < 0) {
    report(ctx, path, 'MESHLET_ERR_CONFIG_WEIGHTS', `weight must not be negative, got ${v}`, { node });
    return undefined;
  }
  return v;
};

/** With two or more destinations, at least one must carry weight (Istio: "total weight 0"). */
function checkWeights(route: unknown, ctx: WalkContext, path: string): void {
  if (!Array.isArray(route) || route.length < 2) return;
  const total = route.reduce((sum: number, d) => sum + ((d as { weight?: number }).weight ?? 0), 0);
  if (total === 0) report(ctx, path, 'MESHLET_ERR_CONFIG_WEIGHTS', `all ${route.length} destinations have weight 0; no traffic could be routed`);
}

const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  // gRPC conditions
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

function retryOnProblem(v: string): string | undefined {
  for (const raw of v.split(',')) {
    const c = raw.trim();
    if (RETRY_ON.has(c)) continue;
    // Istio also accepts bare HTTP status codes ("503") as retriable codes.
    if (/^\d{3}$/.test(c) && Number(c) >= 100 && Number(c) <= 599) continue;
    return `invalid retryOn condition ${JSON.stringify(c)}: expected a comma-separated list of ${[...RETRY_ON].join(', ')} or HTTP status codes`;
  }
  return undefined;
}

const GRPC_CODES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '*']);

const httpMatchRequest = obj({
  fields: {
    name: str(),
    uri: stringMatch,
    scheme: stringMatch,
    method: stringMatch,
    authority: stringMatch,
    headers: mapOf(presenceOrStringMatch, { key: (k) => (k === '' ? 'header name must not be empty' : undefined) }),
    withoutHeaders: mapOf(presenceOrStringMatch, { key: (k) => (k === '' ? 'header name must not be empty' : undefined) }),
    queryParams: mapOf(presenceOrStringMatch),
    port: port(),
    sourceLabels: stringMap,
    sourceNamespace: str(),
    gateways: arrayOf(str({ nonEmpty: true })),
    ignoreUriCase: bool(),
    statPrefix: str(),
  },
  unsupported: { statPrefix: 'per-route stats prefixes are an Envoy stats feature; meshlet reports Istio\'s standard metrics' },
});

const httpRouteDestination = obj({ fields: { destination, weight, headers }, required: ['destination'] });

const redirect = obj({
  fields: {
    uri: str(),
    authority: str(),
    port: port(),
    derivePort: enumOf(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']),
    scheme: str({ nonEmpty: true }),
    redirectCode: int({ min: 300, max: 399 }),
  },
  oneOf: [{ fields: ['port', 'derivePort'] }],
  check: (v, ctx, path) => {
    if (!['uri', 'authority', 'port', 'derivePort', 'scheme'].some((k) => k in v)) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'redirect must specify at least one of uri, authority, scheme, port or derivePort');
    }
  },
});

const directResponse = obj({
  fields: {
    status: int({ min: 200, max: 599 }),
    body: obj({
      fields: { string: str(), bytes: str({ check: (b) => (/^[A-Za-z0-9+/]*={0,2}$/.test(b) ? undefined : 'bytes must be base64') }) },
      oneOf: [{ fields: ['string', 'bytes'] }],
    }),
  },
  required: ['status'],
});

const rewrite = obj({
  fields: {
    uri: str(),
    authority: str(),
    uriRegexRewrite: obj({ fields: { match: str({ check: regexProblem }), rewrite: str() }, required: ['match', 'rewrite'] }),
  },
  oneOf: [{ fields: ['uri', 'uriRegexRewrite'] }],
  check: (v, ctx, path) => {
    if (Object.keys(v).length === 0) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'rewrite must specify uri, authority or uriRegexRewrite');
  },
});

const retries = obj({
  fields: {
    attempts: int32(),
    perTryTimeout: duration({ min: 1 }),
    retryOn: str({ check: retryOnProblem }),
    retryRemoteLocalities: bool(),
  },
  unsupported: { retryRemoteLocalities: 'locality-aware retries are not modelled (every endpoint is priority 0)' },
});

const delay = obj({
  fields: { fixedDelay: duration({ min: 1 }), exponentialDelay: duration({ min: 1 }), percentage, percent: int({ min: 0, max: 100 }) },
  oneOf: [{ fields: ['fixedDelay', 'exponentialDelay'], required: true }],
  deprecated: { percent: 'percentage.value' },
  // Istio rejects it too ("exponentialDelay not supported yet").
  rejected: { exponentialDelay: 'exponentialDelay is not supported (Istio rejects it too); use fixedDelay' },
  check: (v, ctx, path) => {
    migratePercent(v, ctx, path, 'percent', 'percentage');
  },
});

const abort = obj({
  fields: {
    httpStatus: int({ min: 200, max: 599 }),
    grpcStatus: enumOf(GRPC_CODES),
    http2Error: str(),
    percentage,
    percent: int({ min: 0, max: 100 }),
  },
  oneOf: [{ fields: ['httpStatus', 'grpcStatus', 'http2Error'], required: true }],
  deprecated: { percent: 'percentage.value' },
  rejected: { http2Error: 'http2Error is not supported (Istio rejects it too); use httpStatus or grpcStatus' },
  check: (v, ctx, path) => {
    migratePercent(v, ctx, path, 'percent', 'percentage');
  },
});

const fault = obj({
  fields: { delay, abort },
  check: (v, ctx, path) => {
    if (!v.delay && !v.abort) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'fault must specify delay or abort');
  },
});

const corsPolicy = obj({
  fields: {
    allowOrigins: arrayOf(stringMatch),
    allowMethods: arrayOf(str({ check: (m) => (HTTP_METHODS.has(m) ? undefined : `invalid HTTP method ${JSON.stringify(m)}`) })),
    allowHeaders: arrayOf(str()),
    exposeHeaders: arrayOf(str()),
    maxAge: duration(),
    allowCredentials: bool(),
  },
});

const mirrorPolicy = obj({ fields: { destination, percentage }, required: ['destination'] });

const delegate = obj({ fields: { name: str({ nonEmpty: true }), namespace: str({ nonEmpty: true }) }, required: ['name'] });

const httpRoute = obj({
  fields: {
    name: str(),
    match: arrayOf(httpMatchRequest),
    route: arrayOf(httpRouteDestination),
    redirect,
    directResponse,
    delegate,
    rewrite,
    timeout: duration(),
    retries,
    fault,
    mirror: destination,
    mirrorPercentage: percentage,
    mirrorPercent: int({ min: 0, max: 100 }),
    mirrors: arrayOf(mirrorPolicy),
    corsPolicy,
    headers,
  },
  deprecated: { mirrorPercent: 'mirrorPercentage.value' },
  unsupported: { corsPolicy: 'CORS is not enforced by the in-process data plane; answer preflights in the app (Express/Fastify CORS middleware)' },
  check: (v, ctx, path) => {
    const has = (k: string): boolean => k in v && !(Array.isArray(v[k]) && (v[k] as unknown[]).length === 0);
    const actions = ['route', 'redirect', 'directResponse', 'delegate'].filter(has);
    if (actions.length === 0) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'HTTP route must have one of route, redirect, directResponse or delegate');
    } else if (actions.length > 1) {
      report(ctx, `${path}.${actions[1]}`, 'MESHLET_ERR_CONFIG_SCHEMA', `HTTP route cannot have both ${actions[0]} and ${actions[1]}`);
    }
    if (has('redirect') && has('rewrite')) report(ctx, `${path}.rewrite`, 'MESHLET_ERR_CONFIG_SCHEMA', 'HTTP route cannot have both redirect and rewrite');
    if (has('mirror') && has('mirrors')) report(ctx, `${path}.mirrors`, 'MESHLET_ERR_CONFIG_SCHEMA', 'HTTP route cannot have both mirror and mirrors');
    checkWeights(v.route, ctx, `${path}.route`);
    migratePercent(v, ctx, path, 'mirrorPercent', 'mirrorPercentage');
    if ('mirrorPercentage' in v && !('mirror' in v)) {
      report(ctx, `${path}.mirrorPercentage`, 'MESHLET_ERR_CONFIG_SCHEMA', 'mirrorPercentage needs mirror', { severity: 'warning' });
    }
  },
});

const routeDestination = obj({ fields: { destination, weight }, required: ['destination'] });

const l4MatchFields = {
  destinationSubnets: arrayOf(str({ check: cidrProblem })),
  port: port(),
  sourceLabels: stringMap,
  gateways: arrayOf(str({ nonEmpty: true })),
  sourceNamespace: str(),
};

const tcpRoute = obj({
  fields: { match: arrayOf(obj({ fields: l4MatchFields })), route: arrayOf(routeDestination, { nonEmpty: true }) },
  required: ['route'],
  check: (v, ctx, path) => checkWeights(v.route, ctx, `${path}.route`),
});

/** Istio `Name.SubsetOf`: every name `a` covers is covered by `b`. */
function hostSubset(a: string, b: string): boolean {
  if (a === b || b === '*') return true;
  if (a === '*') return false;
  return b.startsWith('*.') && a.length > b.length - 1 && a.endsWith(b.slice(1));
}

/** Istio `validateSniHost`: every tls match's sniHosts is a subset of one of the VirtualService's hosts. */
function checkSniHosts(v: Record<string, unknown>, hosts: readonly string[], ctx: WalkContext, path: string): void {
  const lower = hosts.map((h) => h.toLowerCase());
  ((v.tls as Array<{ match?: Array<{ sniHosts?: unknown }> }> | undefined) ?? []).forEach((route, i) => {
    (route?.match ?? []).forEach((m, j) => {
      const sni = Array.isArray(m?.sniHosts) ? (m.sniHosts as unknown[]) : [];
      sni.forEach((h, k) => {
        if (typeof h !== 'string' || lower.some((vh) => hostSubset(h.toLowerCase(), vh))) return;
        report(ctx, `${path}.tls[${i}].match[${j}].sniHosts[${k}]`, 'MESHLET_ERR_CONFIG_SCHEMA', `the SNI host ${JSON.stringify(h)} is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`);
      });
    });
  });
}

const tlsRoute = obj({
  fields: {
    match: arrayOf(
      obj({ fields: { ...l4MatchFields, sniHosts: arrayOf(str({ check: (h) => hostProblem(h) }), { nonEmpty: true }) }, required: ['sniHosts'] }),
      { nonEmpty: true },
    ),
    route: arrayOf(routeDestination, { nonEmpty: true }),
  },
  required: ['match', 'route'],
  check: (v, ctx, path) => checkWeights(v.route, ctx, `${path}.route`),
});

/** VirtualService `spec`. */
export const virtualServiceSpec: Schema = obj({
  fields: {
    hosts: arrayOf(str({ nonEmpty: true, check: (h) => hostProblem(h, { ip: true }) })),
    gateways: arrayOf(str({ nonEmpty: true, check: (g) => (/^([a-z0-9.-]+\/)?[A-Za-z0-9.-]+$/.test(g) ? undefined : `invalid gateway name ${JSON.stringify(g)}: expected [namespace/]name or "mesh"`) })),
    http: arrayOf(httpRoute),
    tcp: arrayOf(tcpRoute),
    tls: arrayOf(tlsRoute),
    exportTo,
  },
  notes: {
    tcp: 'at gateways (TCP servers); a warning on a VirtualService bound to the mesh, whose data planes are HTTP and gRPC',
    tls: 'at gateways (TLS PASSTHROUGH servers, routed by SNI); a warning on a VirtualService bound to the mesh',
  },
  unsupported: {
    exportTo: 'every resource is visible to every namespace',
  },
  check: (v, ctx, path) => {
    const hosts = (v.hosts as string[] | undefined) ?? [];
    const gateways = (v.gateways as string[] | undefined) ?? [];
    const routes = ['http', 'tcp', 'tls'].reduce((n, k) => n + ((v[k] as unknown[] | undefined)?.length ?? 0), 0);
    if (routes === 0) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'virtual service must have at least one http, tcp or tls route');
    if (hosts.length === 0) {
      // No hosts makes it a delegate VirtualService, which Istio only allows without gateways.
      if (gateways.length > 0) report(ctx, `${path}.gateways`, 'MESHLET_ERR_CONFIG_SCHEMA', 'a virtual service without hosts is a delegate and must not have gateways');
    }
    const mesh = gateways.length === 0 || gateways.includes('mesh');
    // TCP and TLS routes are served by the ingress gateway (TLS passthrough by SNI, TCP proxy);
    // a mesh client's data planes are HTTP and gRPC, so for sidecar traffic they do nothing.
    for (const k of ['tcp', 'tls'] as const) {
      if (mesh && Array.isArray(v[k]) && (v[k] as unknown[]).length > 0) {
        const what = k === 'tcp' ? 'TCP routes' : 'TLS (SNI) routes';
        report(ctx, `${path}.${k}`, 'MESHLET_ERR_CONFIG_UNSUPPORTED', `${k} is not applied by meshlet to mesh traffic: ${what} are served at gateways only (bind the VirtualService to a Gateway); the in-process data planes are HTTP and gRPC`, { severity: 'warning' });
      }
    }
    checkSniHosts(v, hosts, ctx, path);
    const star = hosts.indexOf('*');
    if (star >= 0 && mesh) {
      report(ctx, `${path}.hosts[${star}]`, 'MESHLET_ERR_CONFIG_SCHEMA', 'wildcard host "*" is not allowed for virtual services bound to the mesh gateway');
    }
  },
});
