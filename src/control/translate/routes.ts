/**
 * One Istio HTTPRoute to Envoy routes (Istio `route.BuildHTTPRoutesForVirtualService`): one
 * Envoy route per `match` entry (Istio ORs them), a single `prefix: /` route when there is
 * none. A match entry that does not apply to the proxy asking (`sourceLabels`,
 * `sourceNamespace`: Istio's `sourceMatchHTTP`) or to this listener (gateway-only matches,
 * another port) is dropped, as Istio does; without a proxy (the snapshot shared by every
 * proxy) source-dependent entries never apply.
 */
import type { HTTPMatchRequest, HTTPRoute, HTTPRouteDestination, PresenceOrStringMatch, StringMatch, VirtualService } from '../../config/types.js';
import type { ServicePortModel } from '../model.js';
import { labelsMatch, type Proxy } from '../proxy.js';
import { destinationRuleFor, serviceOf, type TranslateContext } from './context.js';
import { expandDelegates } from './delegate.js';
import { nanosToDuration, parseDurationNanos } from './durations.js';
import { FAULT_FILTER_NAME } from './filter-names.js';
import { clusterName, resolveHost } from './names.js';
import { applyHeaders, faultConfig, hashPolicy, retryPolicy } from './route-policies.js';
import { effectivePolicy } from './traffic-policy.js';
import { annotationOn } from '../../config/annotations.js';
import { fractionalPercent, toStruct, wrap } from './proto-helpers.js';
import { createHash } from 'node:crypto';
import { withOverrideDigest } from '../../xds/route-name.js';

type Obj = Record<string, unknown>;

function stringMatcher(m: StringMatch): Obj {
  if ('exact' in m) return { exact: m.exact };
  if ('prefix' in m) return { prefix: m.prefix };
  return { safe_regex: { regex: m.regex } };
}

/** Istio's `canBeConvertedToPresentMatch`: `{}` and `regex: "*"` (and our empty prefix) mean present. */
function isPresence(m: PresenceOrStringMatch): boolean {
  return !('exact' in m || 'prefix' in m || 'regex' in m) || ('regex' in m && m.regex === '*') || ('prefix' in m && m.prefix === '');
}

/**
 * Header matcher (Istio `translateHeaderMatch`). An inverted string match (`withoutHeaders`)
 * also matches a request without the header: Istio sets treat_missing_header_as_empty there
 * (never with present_match, which it conflicts with).
 */
function headerMatcher(name: string, m: PresenceOrStringMatch, invert = false): Obj {
  const out: Obj = { name: name.toLowerCase() };
  if (isPresence(m)) out.present_match = true;
  else out.string_match = stringMatcher(m as StringMatch);
  if (invert) {
    out.invert_match = true;
    if (!isPresence(m)) out.treat_missing_header_as_empty = true;
  }
  return out;
}

const sortedEntries = <T>(m: Record<string, T> | undefined): Array<[string, T]> =>
  Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Whether a match entry's source conditions select `proxy` (Istio `sourceMatchHTTP`). */
export function sourceMatches(m: HTTPMatchRequest | undefined, proxy: Proxy | undefined): boolean {
  if (!m?.sourceLabels && m?.sourceNamespace === undefined) return true;
  if (!proxy) return false;
  if (m.sourceLabels && !labelsMatch(proxy.labels, m.sourceLabels)) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === proxy.namespace;
}

/** Whether an HTTPRoute has match entries that depend on the proxy asking. */
export function sourceDependent(http: HTTPRoute): boolean {
  return (http.match ?? []).some((m) => m.sourceLabels !== undefined || m.sourceNamespace !== undefined);
}

/**
 * Whether a match entry's `gateways` select this listener: `mesh` for sidecar (mesh) routes,
 * else one of the gateways the routes are built for (Istio `BuildHTTPRoutesForVirtualService`
 * with `gatewayNames`: names as written, short ones resolved in the VirtualService's namespace).
 */
export function matchGatewaysApply(m: HTTPMatchRequest | undefined, gateways: ReadonlySet<string> | undefined, vsNamespace: string): boolean {
  if (!m?.gateways || m.gateways.length === 0) return true;
  if (!gateways) return m.gateways.includes('mesh');
  return m.gateways.some((g) => g !== 'mesh' && gateways.has(g.includes('/') ? g : `${vsNamespace}/${g}`));
}

/** RouteMatch for one Istio match entry, or `undefined` when it does not apply here. */
export function routeMatch(m: HTTPMatchRequest | undefined, port: number, proxy?: Proxy, gateways?: ReadonlySet<string>, vsNamespace = ''): Obj | undefined {
  if (m?.port !== undefined && m.port !== port) return undefined;
  if (!matchGatewaysApply(m, gateways, vsNamespace)) return undefined;
  if (!sourceMatches(m, proxy)) return undefined;
  const out: Obj = {};
  const uri = m?.uri;
  const ignoreCase = m?.ignoreUriCase === true;
  if (!uri) out.prefix = '/';
  else if ('exact' in uri) out.path = uri.exact;
  else if ('prefix' in uri) out.prefix = uri.prefix;
  else out.safe_regex = { regex: ignoreCase ? `(?i)${uri.regex}` : uri.regex };
  if (ignoreCase && uri && !('regex' in uri)) out.case_sensitive = wrap(false);
  const headers: Obj[] = [];
  for (const [name, sm] of sortedEntries(m?.headers)) headers.push(headerMatcher(name, sm));
  for (const [name, sm] of sortedEntries(m?.withoutHeaders)) headers.push(headerMatcher(name, sm, true));
  if (m?.method) headers.push(headerMatcher(':method', m.method));
  if (m?.authority) headers.push(headerMatcher(':authority', m.authority));
  if (m?.scheme) headers.push(headerMatcher(':scheme', m.scheme));
  if (headers.length) out.headers = headers;
  const query = sortedEntries(m?.queryParams).map(([name, sm]) =>
    isPresence(sm) ? { name, present_match: true } : { name, string_match: stringMatcher(sm as StringMatch) },
  );
  if (query.length) out.query_parameters = query;
  return out;
}

/** A match that takes everything: later HTTPRoutes are unreachable (Istio stops there too). */
/**
 * Whether an applying match entry matches every request (Istio `isCatchAllRoute` looks at the
 * Envoy match, where the source, gateway and port conditions, already evaluated, are gone).
 */
function isCatchAll(m: HTTPMatchRequest): boolean {
  const keys = Object.keys(m).filter((k) => !APPLIED_KEYS.has(k));
  if (keys.length) return false;
  return !m.uri || ('prefix' in m.uri && m.uri.prefix === '/') || ('regex' in m.uri && (m.uri.regex === '.*' || m.uri.regex === '/.*'));
}

const APPLIED_KEYS = new Set(['name', 'uri', 'ignoreUriCase', 'sourceLabels', 'sourceNamespace', 'gateways', 'port']);

/** Weights as Istio gives them, scaled to sum to 100 when they don't (largest remainder). */
export function normalizeWeights(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 100 || total <= 0) return [...weights];
  const exact = weights.map((w) => (w * 100) / total);
  const out = exact.map(Math.floor);
  let rest = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (rest-- <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
  }
  return out;
}

/** Translates the HTTPRoutes of `vs` for one service port. */
export class RouteBuilder {
  constructor(
    private readonly ctx: TranslateContext,
    private readonly vs: VirtualService,
    private readonly port: ServicePortModel,
    /** The proxy the routes are for; undefined: the snapshot every proxy shares. */
    private readonly proxy?: Proxy,
    /** Set when building a gateway's routes: the `<namespace>/<name>` of the gateways served; unset: the mesh. */
    private readonly gateways?: ReadonlySet<string>,
  ) {}

  /** Cluster name for an Istio destination: given port, else the service's only port, else ours. */
  cluster(dest: { host: string; subset?: string; port?: { number?: number } }): { name: string; host: string; port: number; subset: string } {
    const host = resolveHost(dest.host, this.vs.metadata.namespace, this.ctx.domainSuffix);
    const svc = serviceOf(this.ctx, host);
    const only = svc?.ports.length === 1 ? svc.ports[0]?.number : undefined;
    const port = dest.port?.number ?? only ?? this.port.number;
    const subset = dest.subset ?? '';
    return { name: clusterName(port, subset, host), host, port, subset };
  }

  /** Envoy routes for every HTTPRoute, stopping after a catch-all. */
  build(): Obj[] {
    const out: Obj[] = [];
    for (const http of expandDelegates(this.ctx, this.vs)) {
      out.push(...this.translate(http));
      if (!http.match || http.match.length === 0 || http.match.some((m) => this.applies(m) && isCatchAll(m))) break;
    }
    return out;
  }

  private applies(m: HTTPMatchRequest): boolean {
    return (m.port === undefined || m.port === this.port.number) && matchGatewaysApply(m, this.gateways, this.vs.metadata.namespace) && sourceMatches(m, this.proxy);
  }

  private translate(http: HTTPRoute): Obj[] {
    const action = this.action(http);
    if (!action) return [];
    const matches: Array<HTTPMatchRequest | undefined> = http.match && http.match.length > 0 ? http.match : [undefined];
    const out: Obj[] = [];
    for (const m of matches) {
      const match = routeMatch(m, this.port.number, this.proxy, this.gateways, this.vs.metadata.namespace);
      if (!match) continue;
      const route: Obj = { match, ...withRewrite(action, match, http) };
      const name = m?.name ? (http.name ? `${http.name}.${m.name}` : m.name) : http.name;
      const digest = overrideDigest(route);
      if (digest) route.name = withOverrideDigest(name ?? '', digest);
      else if (name) route.name = name;
      out.push(route);
    }
    return out;
  }

  /** The route's action and route-level extras, independent of the match. */
  private action(http: HTTPRoute): Obj | undefined {
    const out: Obj = {};
    // gRPC clients NACK a whole RouteConfiguration holding redirect/direct_response routes,
    // and gRPC cannot follow either: on GRPC ports such routes are dropped.
    const grpc = this.port.protocol === 'GRPC';
    if (http.redirect) {
      if (grpc) return undefined;
      out.redirect = redirectAction(http.redirect, this.port.number);
    } else if (http.directResponse) {
      if (grpc) return undefined;
      const { status, body } = http.directResponse;
      const direct: Obj = { status };
      if (body?.string !== undefined) direct.body = { inline_string: body.string };
      else if (body?.bytes !== undefined) direct.body = { inline_bytes: Buffer.from(body.bytes, 'base64') };
      out.direct_response = direct;
    } else {
      const dests = weighted(http.route ?? []);
      const route = this.routeAction(http, dests);
      if (!route) return undefined;
      out.route = route;
      const fault = faultConfig(http.fault);
      if (fault) out.typed_per_filter_config = { [FAULT_FILTER_NAME]: fault };
      if (annotationOn(this.vs, 'meshlet.io/retry-non-idempotent')) {
        out.metadata = { filter_metadata: { meshlet: toStruct({ retryNonIdempotent: true }) } };
      }
      // A lone destination's header operations apply to the route itself (Istio merges them).
      if (dests.length === 1) applyHeaders(out, dests[0]?.headers);
    }
    applyHeaders(out, http.headers);
    return out;
  }

  private routeAction(http: HTTPRoute, dests: readonly HTTPRouteDestination[]): Obj | undefined {
    const first = dests[0];
    if (!first) return undefined;
    const out: Obj = {};
    if (dests.length === 1) {
      out.cluster = this.cluster(first.destination).name;
    } else {
      const weights = normalizeWeights(dests.map((d) => d.weight ?? 0));
      out.weighted_clusters = {
        clusters: dests.map((d, i) => {
          const cw: Obj = { name: this.cluster(d.destination).name, weight: wrap(weights[i] ?? 0) };
          applyHeaders(cw, d.headers);
          return cw;
        }),
      };
    }
    // Istio's default timeout is "none" (0 disables Envoy's 15 s default); gRPC reads
    // max_stream_duration instead of timeout, so a real timeout is set on both.
    const nanos = http.timeout !== undefined ? parseDurationNanos(http.timeout) : undefined;
    out.timeout = nanosToDuration(nanos ?? 0n);
    if (nanos !== undefined && nanos > 0n) out.max_stream_duration = { max_stream_duration: nanosToDuration(nanos) };
    const hash = this.hashPolicy(dests);
    if (hash) out.hash_policy = hash;
    const retry = retryPolicy(http.retries, hash !== undefined);
    if (retry) out.retry_policy = retry;
    if (annotationOn(this.vs, 'meshlet.io/hedge-on-per-try-timeout')) out.hedge_policy = { hedge_on_per_try_timeout: true };
    const mirrors = this.mirrors(http);
    if (mirrors.length) out.request_mirror_policies = mirrors;
    if (http.rewrite?.authority) out.host_rewrite_literal = http.rewrite.authority;
    return out;
  }

  /** Hash policy shared by every destination's DestinationRule, if they agree. */
  private hashPolicy(dests: readonly HTTPRouteDestination[]): Obj[] | undefined {
    const policies = dests.map((d) => {
      const c = this.cluster(d.destination);
      const lb = effectivePolicy(destinationRuleFor(this.ctx, c.host), c.port, c.subset).loadBalancer;
      return JSON.stringify(hashPolicy(lb?.consistentHash) ?? null);
    });
    const [firstPolicy] = policies;
    if (firstPolicy === undefined || firstPolicy === 'null' || policies.some((p) => p !== firstPolicy)) return undefined;
    return JSON.parse(firstPolicy) as Obj[];
  }

  private mirrors(http: HTTPRoute): Obj[] {
    const out: Obj[] = [];
    const policy = (dest: HTTPRouteDestination['destination'], percent: number): Obj => ({
      cluster: this.cluster(dest).name,
      runtime_fraction: { default_value: fractionalPercent(percent) },
    });
    if (http.mirror) out.push(policy(http.mirror, http.mirrorPercentage?.value ?? http.mirrorPercent ?? 100));
    for (const m of http.mirrors ?? []) out.push(policy(m.destination, m.percentage?.value ?? 100));
    return out;
  }
}

/** Destinations that receive traffic: Istio drops zero weights when there are several. */
function weighted(dests: readonly HTTPRouteDestination[]): HTTPRouteDestination[] {
  if (dests.length <= 1) return [...dests];
  if (dests.every((d) => d.weight === undefined)) {
    const even = normalizeWeights(dests.map(() => 1));
    return dests.map((d, i) => ({ ...d, weight: even[i] ?? 0 }));
  }
  return dests.filter((d) => (d.weight ?? 0) > 0);
}

const REDIRECT_CODES: Record<number, string> = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };

/**
 * Istio `ApplyRedirect`: derivePort FROM_REQUEST_PORT becomes the listener's port (routes are
 * generated per port), FROM_PROTOCOL_DEFAULT leaves it to Envoy, and an explicit 80/443 on
 * its own scheme is not written.
 */
function redirectAction(r: NonNullable<HTTPRoute['redirect']>, listenerPort: number): Obj {
  const out: Obj = { response_code: REDIRECT_CODES[r.redirectCode ?? 301] ?? 'MOVED_PERMANENTLY' };
  if (r.uri !== undefined) out.path_redirect = r.uri;
  if (r.authority !== undefined) out.host_redirect = r.authority;
  let port = r.port ?? (r.derivePort === 'FROM_REQUEST_PORT' ? listenerPort : undefined);
  const scheme = r.scheme ?? 'http';
  if ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https')) port = undefined;
  if (port !== undefined) out.port_redirect = port;
  if (r.scheme !== undefined) out.scheme_redirect = r.scheme;
  return out;
}

/**
 * The action for one match: copies the shared action and adds the URI rewrite, which depends on
 * how the path was matched (prefix → prefix_rewrite; exact or regex → regex_rewrite of the
 * whole path, since Envoy's prefix_rewrite would only replace a prefix).
 */
function withRewrite(action: Obj, match: Obj, http: HTTPRoute): Obj {
  const copy: Obj = { ...action };
  const route = action.route as Obj | undefined;
  if (!route) return copy;
  const r: Obj = { ...route };
  const rw = http.rewrite;
  if (rw?.uriRegexRewrite) {
    r.regex_rewrite = { pattern: { regex: rw.uriRegexRewrite.match }, substitution: rw.uriRegexRewrite.rewrite };
  } else if (rw?.uri !== undefined) {
    if (typeof match.prefix === 'string') r.prefix_rewrite = rw.uri;
    else if (typeof match.path === 'string') {
      const flags = match.case_sensitive ? '(?i)' : '';
      r.regex_rewrite = { pattern: { regex: `${flags}^${escapeRegex(match.path)}$` }, substitution: rw.uri };
    } else r.regex_rewrite = { pattern: { regex: `^(?:${(match.safe_regex as { regex: string }).regex})$` }, substitution: rw.uri };
  }
  copy.route = r;
  return copy;
}

/**
 * Digest of the per-filter overrides of a route and its weighted clusters (see
 * src/xds/route-name.ts for why the route name carries it); undefined when there are none.
 */
function overrideDigest(route: Obj): string | undefined {
  const parts: string[] = [];
  const add = (where: string, configs: unknown): void => {
    for (const [filter, any] of Object.entries((configs as Record<string, { type_url: string; value: Uint8Array }> | undefined) ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      parts.push(`${where}\0${filter}\0${any.type_url}\0${Buffer.from(any.value).toString('base64')}`);
    }
  };
  add('route', route.typed_per_filter_config);
  const clusters = ((route.route as Obj | undefined)?.weighted_clusters as { clusters?: Obj[] } | undefined)?.clusters ?? [];
  clusters.forEach((c, i) => add(`cluster${i}`, c.typed_per_filter_config));
  if (parts.length === 0) return undefined;
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
