/** Route actions: forwarding (cluster, weights, retry, hash, rewrites, mirrors), redirect, direct response. */
import type {
  FaultModel, HashPolicyModel, MirrorModel, RedirectModel, RetryPolicyModel, RouteActionModel, WeightedClusterModel,
} from '../../core/model/index.js';
import { durationMs, fraction, headersToAdd, headersToRemove, regexRewrite } from './common.js';
import { faultOf, perFilterConfigs } from './filters.js';
import type { HashPolicyProto, HedgePolicyProto, RedirectActionProto, RetryPolicyProto, RouteActionProto, RouteProto } from './proto-types.js';

const UINT32_MAX = 0xffff_ffff;
/** Envoy's retry back-off base interval when none is configured. */
const DEFAULT_RETRY_BASE_MS = 25;

/** Validates a RetryPolicy (route or virtual host level). */
export function retryPolicy(rp: RetryPolicyProto | undefined, path: string, errors: string[]): RetryPolicyModel | undefined {
  if (!rp) return undefined;
  const before = errors.length;
  const retryOn = (rp.retry_on ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const numRetries = rp.num_retries ? rp.num_retries.value ?? 0 : 1;
  const perTryTimeoutMs = durationMs(rp.per_try_timeout, `${path}.per_try_timeout`, errors);
  let baseMs = DEFAULT_RETRY_BASE_MS;
  let maxMs: number | undefined;
  if (rp.retry_back_off) {
    const base = durationMs(rp.retry_back_off.base_interval, `${path}.retry_back_off.base_interval`, errors);
    if (rp.retry_back_off.base_interval === undefined) errors.push(`${path}.retry_back_off.base_interval: unset`);
    else if (base !== undefined && base <= 0) errors.push(`${path}.retry_back_off.base_interval: must be positive`);
    else if (base !== undefined) baseMs = base;
    maxMs = durationMs(rp.retry_back_off.max_interval, `${path}.retry_back_off.max_interval`, errors);
    if (maxMs !== undefined && maxMs < baseMs) errors.push(`${path}.retry_back_off.max_interval: ${maxMs}ms is below base_interval ${baseMs}ms`);
  }
  if (errors.length !== before) return undefined;
  return {
    retryOn,
    numRetries,
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    backoff: { baseMs, maxMs: maxMs ?? baseMs * 10 },
    retriableStatusCodes: rp.retriable_status_codes ?? [],
  };
}

/**
 * Validates a HedgePolicy; returns whether to hedge on per-try timeout (undefined: no policy).
 * initial_requests and additional_request_chance are accepted but, as in Envoy, not acted on.
 */
export function hedgePolicy(hp: HedgePolicyProto | undefined, path: string, errors: string[]): boolean | undefined {
  if (!hp) return undefined;
  const initial = hp.initial_requests?.value;
  if (initial !== undefined && initial < 1) {
    errors.push(`${path}.initial_requests: ${initial} is below 1`);
    return undefined;
  }
  return hp.hedge_on_per_try_timeout === true;
}

function hashPolicy(list: HashPolicyProto[] | undefined, path: string, errors: string[]): HashPolicyModel[] {
  const out: HashPolicyModel[] = [];
  for (const [i, hp] of (list ?? []).entries()) {
    const p = `${path}[${i}]`;
    const terminal = hp.terminal === true;
    switch (hp.policy_specifier) {
      case 'header':
        if (!hp.header?.header_name) errors.push(`${p}.header.header_name: empty`);
        else out.push({ kind: 'header', name: hp.header.header_name.toLowerCase(), terminal });
        break;
      case 'cookie': {
        if (!hp.cookie?.name) {
          errors.push(`${p}.cookie.name: empty`);
          break;
        }
        const ttlMs = durationMs(hp.cookie.ttl, `${p}.cookie.ttl`, errors);
        out.push({ kind: 'cookie', name: hp.cookie.name, terminal, ...(ttlMs !== undefined ? { ttlMs } : {}), ...(hp.cookie.path ? { path: hp.cookie.path } : {}) });
        break;
      }
      case 'connection_properties':
        out.push({ kind: 'connection', sourceIp: hp.connection_properties?.source_ip === true, terminal });
        break;
      case 'query_parameter':
        if (!hp.query_parameter?.name) errors.push(`${p}.query_parameter.name: empty`);
        else out.push({ kind: 'query_parameter', name: hp.query_parameter.name, terminal });
        break;
      default:
        // filter_state and future kinds: ignored, as gRPC does (gRFC A42), rather than NACKed.
        break;
    }
  }
  return out;
}

function weighted(ra: RouteActionProto, path: string, errors: string[], inherited: FaultModel | undefined): RouteActionModel | undefined {
  const p = `${path}.weighted_clusters`;
  const clusters: WeightedClusterModel[] = [];
  let total = 0;
  for (const [i, cw] of (ra.weighted_clusters?.clusters ?? []).entries()) {
    const weight = cw.weight?.value ?? 0;
    total += weight;
    if (!cw.name) {
      errors.push(`${p}.clusters[${i}].name: empty`);
      continue;
    }
    const cp = `${p}.clusters[${i}]`;
    const fault = faultOf(perFilterConfigs(cw.typed_per_filter_config, `${cp}.typed_per_filter_config`, errors)) ?? inherited;
    const reqAdd = headersToAdd(cw.request_headers_to_add, `${cp}.request_headers_to_add`, errors);
    const resAdd = headersToAdd(cw.response_headers_to_add, `${cp}.response_headers_to_add`, errors);
    const reqRemove = headersToRemove(cw.request_headers_to_remove);
    const resRemove = headersToRemove(cw.response_headers_to_remove);
    clusters.push({
      name: cw.name,
      weight,
      ...(fault ? { fault } : {}),
      ...(reqAdd.length ? { requestHeadersToAdd: reqAdd } : {}),
      ...(reqRemove.length ? { requestHeadersToRemove: reqRemove } : {}),
      ...(resAdd.length ? { responseHeadersToAdd: resAdd } : {}),
      ...(resRemove.length ? { responseHeadersToRemove: resRemove } : {}),
      ...(cw.host_rewrite_specifier === 'host_rewrite_literal' && cw.host_rewrite_literal ? { hostRewrite: cw.host_rewrite_literal } : {}),
    });
  }
  if (total === 0) errors.push(`${p}: sum of weights is 0`);
  if (total > UINT32_MAX) errors.push(`${p}: sum of weights ${total} exceeds UINT32_MAX`);
  // Zero-weight clusters can never be picked; dropping them keeps the picker trivial.
  return { kind: 'weighted', clusters: clusters.filter((c) => c.weight > 0), totalWeight: total };
}

/** The forwarding target of a RouteAction (cluster / weighted / cluster_header). */
export function clusterAction(ra: RouteActionProto, path: string, errors: string[], fault: FaultModel | undefined): RouteActionModel | undefined {
  switch (ra.cluster_specifier) {
    case 'cluster':
      if (!ra.cluster) {
        errors.push(`${path}.cluster: empty`);
        return undefined;
      }
      return { kind: 'cluster', cluster: ra.cluster };
    case 'weighted_clusters':
      return weighted(ra, path, errors, fault);
    case 'cluster_header':
      if (!ra.cluster_header) {
        errors.push(`${path}.cluster_header: empty`);
        return undefined;
      }
      return { kind: 'cluster_header', header: ra.cluster_header.toLowerCase() };
    case undefined:
      errors.push(`${path}: no cluster_specifier set`);
      return undefined;
    default:
      errors.push(`${path}: unsupported cluster_specifier ${ra.cluster_specifier}`);
      return undefined;
  }
}

/** Forwarding extras of a RouteAction: timeouts, hashing, rewrites, mirrors. */
export function forwarding(ra: RouteActionProto, path: string, errors: string[]): {
  timeoutMs?: number; maxStreamDurationMs?: number; hashPolicy: HashPolicyModel[]; prefixRewrite?: string;
  regexRewrite?: ReturnType<typeof regexRewrite>; hostRewrite?: string; mirrors: MirrorModel[];
} {
  const timeoutMs = durationMs(ra.timeout, `${path}.timeout`, errors);
  const msd = ra.max_stream_duration;
  const maxStreamDurationMs =
    durationMs(msd?.grpc_timeout_header_max, `${path}.max_stream_duration.grpc_timeout_header_max`, errors) ??
    durationMs(msd?.max_stream_duration, `${path}.max_stream_duration.max_stream_duration`, errors);
  if (ra.prefix_rewrite !== undefined && ra.regex_rewrite !== undefined) errors.push(`${path}: prefix_rewrite and regex_rewrite are both set`);
  const rr = regexRewrite(ra.regex_rewrite, `${path}.regex_rewrite`, errors);
  const mirrors: MirrorModel[] = [];
  for (const [i, m] of (ra.request_mirror_policies ?? []).entries()) {
    if (!m.cluster) errors.push(`${path}.request_mirror_policies[${i}].cluster: empty`);
    else mirrors.push({ cluster: m.cluster, fraction: fraction(m.runtime_fraction?.default_value, `${path}.request_mirror_policies[${i}].runtime_fraction.default_value`, errors) });
  }
  return {
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(maxStreamDurationMs !== undefined ? { maxStreamDurationMs } : {}),
    hashPolicy: hashPolicy(ra.hash_policy, `${path}.hash_policy`, errors),
    ...(ra.prefix_rewrite !== undefined ? { prefixRewrite: ra.prefix_rewrite } : {}),
    ...(rr ? { regexRewrite: rr } : {}),
    ...(ra.host_rewrite_specifier === 'host_rewrite_literal' && ra.host_rewrite_literal ? { hostRewrite: ra.host_rewrite_literal } : {}),
    mirrors,
  };
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
};

function redirect(r: RedirectActionProto, path: string, errors: string[]): RedirectModel | undefined {
  const status = REDIRECT_CODES[r.response_code ?? 'MOVED_PERMANENTLY'];
  if (status === undefined) errors.push(`${path}.response_code: unknown value ${String(r.response_code)}`);
  const rr = r.path_rewrite_specifier === 'regex_rewrite' ? regexRewrite(r.regex_rewrite, `${path}.regex_rewrite`, errors) : undefined;
  if (status === undefined) return undefined;
  const scheme = r.scheme_rewrite_specifier === 'https_redirect' ? (r.https_redirect ? 'https' : undefined) : r.scheme_redirect;
  return {
    ...(scheme ? { scheme } : {}),
    ...(r.host_redirect ? { host: r.host_redirect } : {}),
    ...(r.port_redirect ? { port: r.port_redirect } : {}),
    ...(r.path_rewrite_specifier === 'path_redirect' ? { path: r.path_redirect ?? '' } : {}),
    ...(r.path_rewrite_specifier === 'prefix_rewrite' ? { prefixRewrite: r.prefix_rewrite ?? '' } : {}),
    ...(rr ? { regexRewrite: rr } : {}),
    status,
    stripQuery: r.strip_query === true,
  };
}

/** The non-forwarding actions of a Route (redirect, direct_response, non_forwarding_action). */
export function otherAction(route: RouteProto, path: string, errors: string[]): RouteActionModel | undefined {
  switch (route.action) {
    case 'redirect': {
      const r = redirect(route.redirect ?? {}, `${path}.redirect`, errors);
      return r ? { kind: 'redirect', redirect: r } : undefined;
    }
    case 'direct_response': {
      const dr = route.direct_response ?? {};
      const status = dr.status ?? 0;
      if (status < 200 || status >= 600) {
        errors.push(`${path}.direct_response.status: ${status} is not in [200, 600)`);
        return undefined;
      }
      const body = dr.body;
      if (body?.specifier === 'filename') {
        errors.push(`${path}.direct_response.body.filename: not supported (use inline_string)`);
        return undefined;
      }
      const text = body?.inline_string ?? (body?.inline_bytes ? Buffer.from(body.inline_bytes).toString('utf8') : undefined);
      return { kind: 'direct', status, ...(text !== undefined ? { body: text } : {}) };
    }
    case 'non_forwarding_action':
      return { kind: 'non_forwarding' };
    case undefined:
      errors.push(`${path}: no action set`);
      return undefined;
    default:
      errors.push(`${path}.${route.action}: unsupported action`);
      return undefined;
  }
}
