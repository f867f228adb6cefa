/**
 * Validates envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication (the filter Istio's
 * `convertToEnvoyJwtConfig` builds from RequestAuthentication) into a {@link JwtAuthnModel}.
 * Every problem is reported with its field path, and any one NACKs the listener. What meshlet
 * does not implement (filter_state_rules, per-route requirement names, header/query route
 * matches, remote JWKS async fetch) is an error rather than silently ignored, because ignoring
 * an authentication rule would let requests through that Envoy would check.
 *
 * A JWKS whose *content* is bad is not an error here: Envoy accepts the config and then fails
 * every token of that provider (JwksCache logs "Invalid inline jwks"), and so does the runtime.
 */
import type { DurationProto } from './proto-types.js';
import type { JwksSourceModel, JwtAuthnModel, JwtProviderModel, JwtRequirementModel, JwtRuleModel } from '../../core/model/index.js';
import { TYPE_URL } from '../type-urls.js';
import { decodeAny, durationMs } from './common.js';
import type { HttpFilterDecoder } from './filters.js';
import { routeMatch } from './route-match.js';
import type { RouteMatchProto } from './proto-types.js';

/** Bounds on what one filter config may hold (Envoy has none; a client must not be blown up by one push). */
export const JWT_AUTHN_LIMITS = {
  providers: 256,
  rules: 1024,
  requirementDepth: 8,
  requirementsPerList: 256,
  locationsPerProvider: 64,
  claimHeadersPerProvider: 64,
  jwksBytes: 1 << 20,
  uriBytes: 4096,
  jwtCacheSize: 1024,
} as const;

interface DataSourceProto { specifier?: string; inline_string?: string; inline_bytes?: Uint8Array; filename?: string; environment_variable?: string }
interface RemoteJwksProto {
  http_uri?: { uri?: string; http_upstream_type?: string; cluster?: string; timeout?: DurationProto };
  cache_duration?: DurationProto;
  async_fetch?: object;
  retry_policy?: object;
}
interface JwtProviderProto {
  issuer?: string; audiences?: string[]; subjects?: object; require_expiration?: boolean; max_lifetime?: DurationProto;
  jwks_source_specifier?: string; remote_jwks?: RemoteJwksProto; local_jwks?: DataSourceProto;
  forward?: boolean; from_headers?: Array<{ name?: string; value_prefix?: string }>; from_params?: string[]; from_cookies?: string[];
  forward_payload_header?: string; pad_forward_payload_header?: boolean;
  payload_in_metadata?: string; header_in_metadata?: string; failed_status_in_metadata?: string;
  clock_skew_seconds?: number; jwt_cache_config?: { jwt_cache_size?: number }; claim_to_headers?: Array<{ header_name?: string; claim_name?: string }>;
}
interface JwtRequirementProto {
  requires_type?: string; provider_name?: string;
  provider_and_audiences?: { provider_name?: string; audiences?: string[] };
  requires_any?: { requirements?: JwtRequirementProto[] }; requires_all?: { requirements?: JwtRequirementProto[] };
  allow_missing_or_failed?: object; allow_missing?: object;
}
/** The decoded JwtAuthentication message (protobufjs object form). */
export interface JwtAuthenticationProto {
  providers?: Record<string, JwtProviderProto>;
  rules?: Array<{ match?: RouteMatchProto; requirement_type?: string; requires?: JwtRequirementProto; requirement_name?: string }>;
  filter_state_rules?: object;
  bypass_cors_preflight?: boolean;
  requirement_map?: Record<string, JwtRequirementProto>;
  strip_failure_response?: boolean;
}

// An HTTP field name (RFC 9110 token), lower case as Envoy stores it.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const DEFAULT_CACHE_MS = 5 * 60_000; // RemoteJwks.cache_duration default
const DEFAULT_FETCH_TIMEOUT_MS = 1000; // HttpUri.timeout is required in Envoy; Istio always sets 5s

function headerName(value: string | undefined, path: string, errors: string[]): string | undefined {
  const v = (value ?? '').toLowerCase();
  if (!HEADER_NAME.test(v)) {
    errors.push(`${path}: ${JSON.stringify(value ?? '')} is not a valid header name`);
    return undefined;
  }
  return v;
}

function jwksSource(p: JwtProviderProto, path: string, errors: string[]): JwksSourceModel | undefined {
  switch (p.jwks_source_specifier) {
    case 'local_jwks': {
      const ds = p.local_jwks ?? {};
      let text: string | undefined;
      if (ds.specifier === 'inline_string') text = ds.inline_string ?? '';
      else if (ds.specifier === 'inline_bytes') text = Buffer.from(ds.inline_bytes ?? new Uint8Array(0)).toString('utf8');
      else {
        // A file or an environment variable names something on the control plane's side of the wire.
        errors.push(`${path}.local_jwks: ${ds.specifier ?? 'no specifier'} is not supported (use inline_string)`);
        return undefined;
      }
      if (text.length > JWT_AUTHN_LIMITS.jwksBytes) {
        errors.push(`${path}.local_jwks: ${text.length} bytes exceeds ${JWT_AUTHN_LIMITS.jwksBytes}`);
        return undefined;
      }
      return { kind: 'local', jwks: text };
    }
    case 'remote_jwks': {
      const r = p.remote_jwks ?? {};
      const rp = `${path}.remote_jwks`;
      const uri = r.http_uri?.uri ?? '';
      let ok = true;
      if (!r.http_uri) {
        errors.push(`${rp}.http_uri: unset`);
        return undefined;
      }
      if (uri.length > JWT_AUTHN_LIMITS.uriBytes || !/^https?:\/\//i.test(uri) || !URL.canParse(uri)) {
        errors.push(`${rp}.http_uri.uri: ${JSON.stringify(uri.slice(0, 200))} is not an http(s) URL`);
        ok = false;
      }
      if (r.async_fetch) errors.push(`${rp}.async_fetch: not supported`), (ok = false);
      const timeoutMs = durationMs(r.http_uri.timeout, `${rp}.http_uri.timeout`, errors);
      const cacheMs = durationMs(r.cache_duration, `${rp}.cache_duration`, errors);
      if (timeoutMs === 0) errors.push(`${rp}.http_uri.timeout: must be > 0`), (ok = false);
      if (!ok || (r.http_uri.timeout && timeoutMs === undefined) || (r.cache_duration && cacheMs === undefined)) return undefined;
      return { kind: 'remote', uri, timeoutMs: timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, cacheDurationMs: cacheMs || DEFAULT_CACHE_MS };
    }
    default:
      errors.push(`${path}: neither remote_jwks nor local_jwks set`);
      return undefined;
  }
}

function provider(name: string, p: JwtProviderProto, path: string, errors: string[]): JwtProviderModel | undefined {
  const before = errors.length;
  const jwks = jwksSource(p, path, errors);
  if (p.subjects) errors.push(`${path}.subjects: not supported`);
  if (p.max_lifetime) errors.push(`${path}.max_lifetime: not supported`);
  const locations = (p.from_headers?.length ?? 0) + (p.from_params?.length ?? 0) + (p.from_cookies?.length ?? 0);
  if (locations > JWT_AUTHN_LIMITS.locationsPerProvider) errors.push(`${path}: ${locations} token locations exceed ${JWT_AUTHN_LIMITS.locationsPerProvider}`);
  const fromHeaders = (p.from_headers ?? []).map((h, i) => ({
    name: headerName(h.name, `${path}.from_headers[${i}].name`, errors) ?? '',
    valuePrefix: h.value_prefix ?? '',
  }));
  const nonEmpty = (list: string[] | undefined, field: string): string[] => (list ?? []).filter((v, i) => {
    if (v === '') errors.push(`${path}.${field}[${i}]: empty`);
    return v !== '';
  });
  const fromParams = nonEmpty(p.from_params, 'from_params');
  const fromCookies = nonEmpty(p.from_cookies, 'from_cookies');
  if ((p.claim_to_headers?.length ?? 0) > JWT_AUTHN_LIMITS.claimHeadersPerProvider) {
    errors.push(`${path}.claim_to_headers: more than ${JWT_AUTHN_LIMITS.claimHeadersPerProvider}`);
  }
  const claimToHeaders = (p.claim_to_headers ?? []).map((c, i) => {
    const claimName = c.claim_name ?? '';
    if (claimName === '') errors.push(`${path}.claim_to_headers[${i}].claim_name: empty`);
    return { headerName: headerName(c.header_name, `${path}.claim_to_headers[${i}].header_name`, errors) ?? '', claimName };
  });
  const payloadHeader = p.forward_payload_header ? headerName(p.forward_payload_header, `${path}.forward_payload_header`, errors) : undefined;
  if (errors.length !== before || !jwks) return undefined;
  return {
    name,
    issuer: p.issuer ?? '',
    audiences: p.audiences ?? [],
    jwks,
    forward: p.forward === true,
    fromHeaders,
    fromParams,
    fromCookies,
    ...(payloadHeader ? { forwardPayloadHeader: payloadHeader } : {}),
    padForwardPayloadHeader: p.pad_forward_payload_header === true,
    claimToHeaders,
    clockSkewSeconds: p.clock_skew_seconds || 60,
    requireExpiration: p.require_expiration === true,
    // Envoy's default size is 100; the bound keeps one provider from holding unbounded tokens.
    jwtCacheSize: p.jwt_cache_config ? Math.min(p.jwt_cache_config.jwt_cache_size || 100, JWT_AUTHN_LIMITS.jwtCacheSize) : 0,
  };
}

function requirement(
  r: JwtRequirementProto | undefined, path: string, errors: string[], providers: ReadonlySet<string>, depth: number,
): JwtRequirementModel | undefined {
  if (depth > JWT_AUTHN_LIMITS.requirementDepth) {
    errors.push(`${path}: nested deeper than ${JWT_AUTHN_LIMITS.requirementDepth}`);
    return undefined;
  }
  const known = (name: string | undefined, p: string): string | undefined => {
    if (name && providers.has(name)) return name;
    errors.push(`${p}: ${JSON.stringify(name ?? '')} is not a configured provider`);
    return undefined;
  };
  switch (r?.requires_type) {
    case 'provider_name': {
      const provider = known(r.provider_name, `${path}.provider_name`);
      return provider ? { kind: 'provider', provider } : undefined;
    }
    case 'provider_and_audiences': {
      const provider = known(r.provider_and_audiences?.provider_name, `${path}.provider_and_audiences.provider_name`);
      return provider ? { kind: 'provider', provider, audiences: r.provider_and_audiences?.audiences ?? [] } : undefined;
    }
    case 'requires_any':
    case 'requires_all': {
      const field = r.requires_type;
      const list = (field === 'requires_any' ? r.requires_any : r.requires_all)?.requirements ?? [];
      // The proto says min_items 2; Envoy's PGV validation rejects fewer.
      if (list.length < 2 || list.length > JWT_AUTHN_LIMITS.requirementsPerList) {
        errors.push(`${path}.${field}.requirements: ${list.length} entries (2 to ${JWT_AUTHN_LIMITS.requirementsPerList} allowed)`);
        return undefined;
      }
      const before = errors.length;
      const requirements = list.map((x, i) => requirement(x, `${path}.${field}.requirements[${i}]`, errors, providers, depth + 1));
      if (errors.length !== before) return undefined;
      return { kind: field === 'requires_any' ? 'any' : 'all', requirements: requirements as JwtRequirementModel[] };
    }
    case 'allow_missing':
      return { kind: 'allow_missing' };
    case 'allow_missing_or_failed':
      return { kind: 'allow_missing_or_failed' };
    default:
      errors.push(`${path}: no requirement set`);
      return undefined;
  }
}

/**
 * Validates a decoded JwtAuthentication; `path` is the field path of the filter's typed config.
 *
 * @example
 * ```ts
 * const errors: string[] = [];
 * const model = jwtAuthnModel(decodeAny(any, TYPE_URL.jwtAuthn, 'http_filters[0].typed_config', errors)!, 'http_filters[0].typed_config', errors);
 * ```
 */
export function jwtAuthnModel(msg: JwtAuthenticationProto, path: string, errors: string[]): JwtAuthnModel | undefined {
  const before = errors.length;
  const entries = Object.entries(msg.providers ?? {});
  if (entries.length > JWT_AUTHN_LIMITS.providers) errors.push(`${path}.providers: ${entries.length} exceed ${JWT_AUTHN_LIMITS.providers}`);
  const providers: Record<string, JwtProviderModel> = {};
  for (const [name, p] of entries.slice(0, JWT_AUTHN_LIMITS.providers)) {
    const model = provider(name, p, `${path}.providers[${name}]`, errors);
    if (model) providers[name] = model;
  }
  const names = new Set(entries.map(([n]) => n));
  if (msg.filter_state_rules) errors.push(`${path}.filter_state_rules: not supported`);
  const rulesIn = msg.rules ?? [];
  if (rulesIn.length > JWT_AUTHN_LIMITS.rules) errors.push(`${path}.rules: ${rulesIn.length} exceed ${JWT_AUTHN_LIMITS.rules}`);
  const rules: JwtRuleModel[] = [];
  for (const [i, rule] of rulesIn.slice(0, JWT_AUTHN_LIMITS.rules).entries()) {
    const rp = `${path}.rules[${i}]`;
    const match = routeMatch(rule.match, `${rp}.match`, errors);
    if (match && (match.headers.length > 0 || match.queryParams.length > 0 || match.grpcOnly || match.fraction)) {
      errors.push(`${rp}.match: only path matches are supported (headers, query_parameters, grpc, runtime_fraction are not)`);
    }
    let requires: JwtRequirementModel | undefined;
    if (rule.requirement_type === 'requires') requires = requirement(rule.requires, `${rp}.requires`, errors, names, 0);
    else if (rule.requirement_type === 'requirement_name') {
      const named = msg.requirement_map?.[rule.requirement_name ?? ''];
      if (!named) errors.push(`${rp}.requirement_name: ${JSON.stringify(rule.requirement_name ?? '')} is not in requirement_map`);
      else requires = requirement(named, `${path}.requirement_map[${rule.requirement_name}]`, errors, names, 0);
    }
    if (match) rules.push({ match: match.path, ...(requires ? { requires } : {}) });
  }
  if (errors.length !== before) return undefined;
  return {
    providers,
    rules,
    bypassCorsPreflight: msg.bypass_cors_preflight === true,
    stripFailureResponse: msg.strip_failure_response === true,
  };
}

/**
 * The jwt_authn decoder of the HTTP filter registry: a listener's entry becomes
 * `{ kind: 'extension', typeUrl, value: JwtAuthnModel }` (read it with `jwtOf` of
 * src/security/jwt). Per-route overrides (PerRouteConfig) are not implemented.
 *
 * @example
 * ```ts
 * defaultHttpFilterDecoders().get(TYPE_URL.jwtAuthn) === jwtAuthnDecoder; // registered by default
 * ```
 */
export const jwtAuthnDecoder: HttpFilterDecoder = {
  typeUrl: TYPE_URL.jwtAuthn,
  decode(any, path, errors, override) {
    if (override) {
      errors.push(`${path}: a JwtAuthentication is not a per-route config (PerRouteConfig is not supported)`);
      return undefined;
    }
    const msg = decodeAny<JwtAuthenticationProto>(any, TYPE_URL.jwtAuthn, path, errors);
    const value = msg && jwtAuthnModel(msg, path, errors);
    return value ? { kind: 'extension', typeUrl: TYPE_URL.jwtAuthn, value } : undefined;
  },
};
