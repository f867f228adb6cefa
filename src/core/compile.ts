/**
 * Compiles listeners and route configurations into matcher closures, cumulative weight tables
 * and prebuilt header mutations — once per snapshot, never per request.
 */
import type { HttpFilterRegistry } from './filters/registry.js';
import type { CompiledHttpFilter } from './filters/types.js';
import type { HeaderToAddModel, ListenerModel, RouteConfigModel, RouteModel } from './model/index.js';
import type { HeaderMutation, RetryPlan } from './types.js';
import { compileRouteMatch, type Matcher } from './matchers.js';
import { compileRetryPlan, retryNonIdempotentOptIn } from './resilience/retry.js';
import { compileRegexRewrite, headerMutation, type CompiledRegexRewrite } from './rewrite.js';
import { DomainIndex } from './virtual-hosts.js';

/** A forwarding action, compiled. */
export type CompiledAction =
  | { readonly kind: 'cluster'; readonly cluster: string }
  | {
      readonly kind: 'weighted';
      readonly clusters: readonly string[];
      /** Cumulative weights: pick the first entry > random × total. */
      readonly cum: Float64Array;
      readonly total: number;
      /** Per cluster: the route's header mutations followed by the ClusterWeight's (undefined: the route's alone). */
      readonly requestHeaders: ReadonlyArray<HeaderMutation | undefined>;
      readonly responseHeaders: ReadonlyArray<HeaderMutation | undefined>;
      readonly hostRewrites: ReadonlyArray<string | undefined>;
    }
  | { readonly kind: 'cluster_header'; readonly header: string }
  | { readonly kind: 'other' };

/** A route with everything precomputed. */
export interface CompiledRoute {
  readonly model: RouteModel;
  readonly match: Matcher;
  readonly action: CompiledAction;
  readonly retry?: RetryPlan;
  readonly timeoutMs?: number;
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
  readonly regexRewrite?: CompiledRegexRewrite;
  readonly redirectRegex?: CompiledRegexRewrite;
}

/** A virtual host's routes in order. */
export interface CompiledVirtualHost {
  readonly name: string;
  readonly routes: readonly CompiledRoute[];
}

/** A route configuration with its domain index. */
export interface CompiledRouteConfig {
  readonly name: string;
  readonly domains: DomainIndex<CompiledVirtualHost>;
}

/** A listener: its route configuration (undefined until RDS delivers it) and HTTP filter facts. */
export interface CompiledListener {
  readonly name: string;
  readonly routeConfig?: CompiledRouteConfig;
  /** The listener's HTTP filters that act on forwarded requests, in its order (fault first in Istio's). */
  readonly forwardFilters: readonly CompiledHttpFilter[];
  /** Every compiled filter (inbound listeners take their policy stages from here). */
  readonly filters: readonly CompiledHttpFilter[];
  readonly maxStreamDurationMs?: number;
}

function compileRoute(r: RouteModel): CompiledRoute {
  const a = r.action;
  const requestHeaders = headerMutation(r.requestHeadersToAdd, r.requestHeadersToRemove);
  const responseHeaders = headerMutation(r.responseHeadersToAdd, r.responseHeadersToRemove);
  let action: CompiledAction;
  if (a.kind === 'cluster') action = { kind: 'cluster', cluster: a.cluster };
  else if (a.kind === 'cluster_header') action = { kind: 'cluster_header', header: a.header.toLowerCase() };
  else if (a.kind === 'weighted') {
    const cum = new Float64Array(a.clusters.length);
    let sum = 0;
    a.clusters.forEach((c, i) => (cum[i] = sum += Math.max(0, c.weight)));
    // The ClusterWeight's headers come after the route's: the most specific level wins, as
    // the route's own win over its virtual host's here.
    const merged = (add: readonly HeaderToAddModel[] | undefined, remove: readonly string[] | undefined, outerAdd: readonly HeaderToAddModel[], outerRemove: readonly string[]): HeaderMutation | undefined =>
      (add?.length ?? 0) + (remove?.length ?? 0) === 0 ? undefined : headerMutation([...outerAdd, ...(add ?? [])], [...outerRemove, ...(remove ?? [])]);
    action = {
      kind: 'weighted',
      clusters: a.clusters.map((c) => c.name),
      cum,
      total: sum,
      requestHeaders: a.clusters.map((c) => merged(c.requestHeadersToAdd, c.requestHeadersToRemove, r.requestHeadersToAdd, r.requestHeadersToRemove)),
      responseHeaders: a.clusters.map((c) => merged(c.responseHeadersToAdd, c.responseHeadersToRemove, r.responseHeadersToAdd, r.responseHeadersToRemove)),
      hostRewrites: a.clusters.map((c) => c.hostRewrite),
    };
  } else action = { kind: 'other' };
  const out: {
    -readonly [K in keyof CompiledRoute]: CompiledRoute[K];
  } = {
    model: r,
    match: compileRouteMatch(r.match),
    action,
    requestHeaders,
    responseHeaders,
  };
  if (r.retryPolicy) out.retry = compileRetryPlan(r.retryPolicy, retryNonIdempotentOptIn(r.metadata), r.hedgeOnPerTryTimeout === true);
  // Unset or 0: no overall timeout. We deliberately do not apply Envoy's implicit 15 s route
  // timeout: Istio sends an explicit 0 for routes without one, and a silent 15 s cut-off would
  // surprise streaming callers. The adapter may still bound calls by max_stream_duration.
  if (r.timeoutMs !== undefined && r.timeoutMs > 0) out.timeoutMs = r.timeoutMs;
  if (r.regexRewrite) out.regexRewrite = compileRegexRewrite(r.regexRewrite);
  if (a.kind === 'redirect' && a.redirect.regexRewrite) out.redirectRegex = compileRegexRewrite(a.redirect.regexRewrite);
  return out;
}

/** Compiles one route configuration. */
export function compileRouteConfig(rc: RouteConfigModel): CompiledRouteConfig {
  const entries = rc.virtualHosts.map((vh) => ({
    domains: vh.domains,
    value: { name: vh.name, routes: vh.routes.map(compileRoute) },
  }));
  return { name: rc.name, domains: new DomainIndex(entries) };
}

/** Compiles a listener against already compiled route configurations (shared by name). */
export function compileListener(l: ListenerModel, routeConfigs: (name: string) => CompiledRouteConfig | undefined, registry: HttpFilterRegistry): CompiledListener {
  const rc = l.routeConfig ? compileRouteConfig(l.routeConfig) : l.routeConfigName !== undefined ? routeConfigs(l.routeConfigName) : undefined;
  const filters = registry.compile(l.httpFilters);
  const out: { -readonly [K in keyof CompiledListener]: CompiledListener[K] } = { name: l.name, filters, forwardFilters: filters.filter((f) => f.onForward !== undefined) };
  if (rc) out.routeConfig = rc;
  if (l.maxStreamDurationMs !== undefined) out.maxStreamDurationMs = l.maxStreamDurationMs;
  return out;
}
