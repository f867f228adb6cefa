/**
 * RDS: RouteConfiguration → {@link RouteConfigModel}. Also used for the inline route_config of
 * an HttpConnectionManager. Header mutations are merged across levels and the retry policy and
 * fault override resolved (most specific wins), so the engine reads one RouteModel per route.
 */
import type {
  FaultModel, HeaderToAddModel, RetryPolicyModel, RouteConfigModel, RouteModel, ValidationResult, VirtualHostModel,
} from '../../core/model/index.js';
import { decodeMessage, headersToAdd, headersToRemove, metadataJson } from './common.js';
import { faultOf, perFilterConfigs } from './filters.js';
import type { HeaderMutationsProto, RouteConfigurationProto, RouteProto, VirtualHostProto } from './proto-types.js';
import { clusterAction, forwarding, hedgePolicy, otherAction, retryPolicy } from './route-action.js';
import { routeMatch } from './route-match.js';
import { baseRouteName } from '../route-name.js';

interface Mutations {
  reqAdd: HeaderToAddModel[];
  reqRemove: string[];
  resAdd: HeaderToAddModel[];
  resRemove: string[];
}

function mutations(m: HeaderMutationsProto, path: string, errors: string[]): Mutations {
  return {
    reqAdd: headersToAdd(m.request_headers_to_add, `${path}request_headers_to_add`, errors),
    reqRemove: headersToRemove(m.request_headers_to_remove),
    resAdd: headersToAdd(m.response_headers_to_add, `${path}response_headers_to_add`, errors),
    resRemove: headersToRemove(m.response_headers_to_remove),
  };
}

/** Envoy applies route config, then virtual host, then route headers: later wins on overwrite. */
function merge(outer: Mutations, inner: Mutations): Mutations {
  return {
    reqAdd: [...outer.reqAdd, ...inner.reqAdd],
    reqRemove: [...outer.reqRemove, ...inner.reqRemove],
    resAdd: [...outer.resAdd, ...inner.resAdd],
    resRemove: [...outer.resRemove, ...inner.resRemove],
  };
}

interface VhostContext {
  mutations: Mutations;
  retry: RetryPolicyModel | undefined;
  hedge: boolean | undefined;
  fault: FaultModel | undefined;
}

function route(r: RouteProto, path: string, errors: string[], ctx: VhostContext): RouteModel | undefined {
  const before = errors.length;
  const match = routeMatch(r.match, `${path}.match`, errors);
  const fault = faultOf(perFilterConfigs(r.typed_per_filter_config, `${path}.typed_per_filter_config`, errors)) ?? ctx.fault;
  const m = merge(ctx.mutations, mutations(r, `${path}.`, errors));
  let extra: Partial<RouteModel> = { hashPolicy: [], mirrors: [] };
  let action;
  if (r.action === 'route') {
    const ra = r.route ?? {};
    action = clusterAction(ra, `${path}.route`, errors, fault);
    extra = forwarding(ra, `${path}.route`, errors);
    const retry = retryPolicy(ra.retry_policy, `${path}.route.retry_policy`, errors) ?? ctx.retry;
    if (retry) extra = { ...extra, retryPolicy: retry };
    // The route's hedge policy replaces the virtual host's entirely (Envoy: not merged).
    if (hedgePolicy(ra.hedge_policy, `${path}.route.hedge_policy`, errors) ?? ctx.hedge) extra = { ...extra, hedgeOnPerTryTimeout: true };
  } else {
    action = otherAction(r, path, errors);
  }
  if (!match || !action || errors.length !== before) return undefined;
  return {
    hashPolicy: [],
    mirrors: [],
    ...extra,
    name: baseRouteName(r.name ?? ''),
    match,
    action,
    ...(fault ? { fault } : {}),
    requestHeadersToAdd: m.reqAdd,
    requestHeadersToRemove: m.reqRemove,
    responseHeadersToAdd: m.resAdd,
    responseHeadersToRemove: m.resRemove,
    metadata: metadataJson(r.metadata),
  };
}

function checkDomain(domain: string, path: string, errors: string[]): void {
  const first = domain.indexOf('*');
  if (domain === '') errors.push(`${path}: empty domain`);
  else if (first !== domain.lastIndexOf('*')) errors.push(`${path}: ${JSON.stringify(domain)} has more than one wildcard`);
  else if (first > 0 && first !== domain.length - 1) errors.push(`${path}: ${JSON.stringify(domain)} has a wildcard in the middle`);
}

function virtualHost(vh: VirtualHostProto, path: string, errors: string[], outer: Mutations, seen: Map<string, string>): VirtualHostModel | undefined {
  const before = errors.length;
  if (!vh.name) errors.push(`${path}.name: empty`);
  const domains = vh.domains ?? [];
  if (domains.length === 0) errors.push(`${path}.domains: empty`);
  for (const [i, domain] of domains.entries()) {
    const p = `${path}.domains[${i}]`;
    checkDomain(domain, p, errors);
    // Envoy rejects a domain served by two virtual hosts: which one wins would be arbitrary.
    const key = domain.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined) errors.push(`${p}: ${JSON.stringify(domain)} is also a domain of ${other}`);
    else seen.set(key, path);
  }
  const typedPerFilterConfig = perFilterConfigs(vh.typed_per_filter_config, `${path}.typed_per_filter_config`, errors);
  const retry = retryPolicy(vh.retry_policy, `${path}.retry_policy`, errors);
  const hedge = hedgePolicy(vh.hedge_policy, `${path}.hedge_policy`, errors);
  const ctx: VhostContext = { mutations: merge(outer, mutations(vh, `${path}.`, errors)), retry, hedge, fault: faultOf(typedPerFilterConfig) };
  const routes: RouteModel[] = [];
  for (const [i, r] of (vh.routes ?? []).entries()) {
    const model = route(r, `${path}.routes[${i}]`, errors, ctx);
    if (model) routes.push(model);
  }
  if (errors.length !== before) return undefined;
  return { name: vh.name ?? '', domains, routes, typedPerFilterConfig, ...(retry ? { retryPolicy: retry } : {}) };
}

/**
 * Validates a decoded RouteConfiguration, collecting every error. `prefix` is prepended to each
 * path (the listener passes `api_listener…route_config.`).
 */
export function routeConfigModel(rc: RouteConfigurationProto, errors: string[], prefix = ''): RouteConfigModel | undefined {
  const before = errors.length;
  const outer = mutations(rc, prefix, errors);
  const seen = new Map<string, string>();
  const virtualHosts: VirtualHostModel[] = [];
  for (const [i, vh] of (rc.virtual_hosts ?? []).entries()) {
    const model = virtualHost(vh, `${prefix}virtual_hosts[${i}]`, errors, outer, seen);
    if (model) virtualHosts.push(model);
  }
  if (rc.vhds) errors.push(`${prefix}vhds: not supported`);
  return errors.length === before ? { name: rc.name ?? '', virtualHosts } : undefined;
}

/**
 * Decodes a serialized envoy.config.route.v3.RouteConfiguration.
 *
 * @example
 * ```ts
 * const rc = decodeRouteConfig(any.value);
 * ```
 */
export function decodeRouteConfig(bytes: Uint8Array): RouteConfigurationProto {
  return decodeMessage<RouteConfigurationProto>('envoy.config.route.v3.RouteConfiguration', bytes);
}

/**
 * Validates a decoded RouteConfiguration; errors carry field paths such as
 * `virtual_hosts[0].routes[2].route.weighted_clusters: sum of weights is 0`.
 *
 * @example
 * ```ts
 * const result = validateRouteConfig(decodeRouteConfig(bytes));
 * if (!result.ok) console.log(result.errors.join('; '));
 * ```
 */
export function validateRouteConfig(rc: RouteConfigurationProto): ValidationResult<RouteConfigModel> {
  const errors: string[] = [];
  const name = rc.name ?? '';
  if (name === '') errors.push('name: empty');
  const model = routeConfigModel(rc, errors);
  if (!model || errors.length > 0) return { ok: false, ...(name ? { name } : {}), errors };
  return { ok: true, name, model };
}
