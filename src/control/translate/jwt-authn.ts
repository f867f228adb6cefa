/**
 * RequestAuthentication → Envoy's jwt_authn filter config, as Istio builds it
 * (pilot/pkg/security/authn/policy_applier.go `convertToEnvoyJwtConfig`): one provider per JWT
 * rule, named `origins-<i>` after sorting the rules by issuer; one rule on prefix `/` whose
 * requirement is `{provider OR allow_missing}` for a single provider, and
 * `{P1 OR P2 … OR (AND of {Pi OR allow_missing})}` for several, so a missing token passes
 * authentication and an invalid one is refused; CORS preflights bypass. Payloads go to metadata
 * `payload` (filters.EnvoyJwtFilterPayload), `scope` and `permission` are space-delimited claims.
 *
 * `jwksUri` becomes remote_jwks (Istio's PILOT_JWT_ENABLE_REMOTE_JWKS=envoy mode): meshlet's
 * clients fetch and cache the keys themselves, with the rule's timeout (default 5 s) and a 5 min
 * cache. A rule with neither `jwks` nor `jwksUri` (Istio would discover the JWKS from the issuer's
 * OpenID configuration) gets an empty inline key set, so its tokens fail closed.
 *
 * Which policies apply to a workload is {@link requestAuthnForWorkload} (Istio's
 * `getConfigsForWorkload`): those of the workload's namespace and of the root namespace whose
 * selector matches the workload's labels (no selector: all of that namespace).
 */
import type { JWTRule, RequestAuthentication } from '../../config/types.js';
import { labelsMatch } from '../proxy.js';
import { clusterName } from './names.js';
import { anyOf, type AnyObject } from './proto-helpers.js';
import { toDuration, type ProtoDuration } from './durations.js';

/** The filter's name in http_filters (Istio's `EnvoyJwtFilterName`). */
export const JWT_AUTHN_FILTER_NAME = 'envoy.filters.http.jwt_authn';
const JWT_AUTHN_TYPE = 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const DEFAULT_TIMEOUT: ProtoDuration = { seconds: 5, nanos: 0 };
const CACHE_DURATION: ProtoDuration = { seconds: 300, nanos: 0 };
/** What Istio inlines when it cannot resolve a JWKS: a set no token can verify against. */
const EMPTY_JWKS = '{"keys":[]}';
/** Envoy's default JwtCacheConfig size. */
const JWT_CACHE_SIZE = 100;

/** The workload a filter is generated for. */
export interface JwtWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The RequestAuthentications that apply to one workload, oldest first as given.
 *
 * @example
 * ```ts
 * const mine = requestAuthnForWorkload(resources, { namespace: 'default', labels: { app: 'reviews' } });
 * ```
 */
export function requestAuthnForWorkload(
  resources: readonly RequestAuthentication[], workload: JwtWorkload, rootNamespace = 'istio-system',
): RequestAuthentication[] {
  return resources.filter((r) => {
    const ns = r.metadata.namespace ?? 'default';
    if (ns !== workload.namespace && ns !== rootNamespace) return false;
    return labelsMatch(workload.labels, r.spec.selector?.matchLabels ?? {});
  });
}

function remoteCluster(uri: string): string {
  try {
    const u = new URL(uri);
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return clusterName(port, undefined, u.hostname);
  } catch {
    return 'outbound|80||unknown'; // the config schema already rejected the URI; never reached
  }
}

function provider(rule: JWTRule): Record<string, unknown> {
  const timeout = (rule.timeout !== undefined ? toDuration(rule.timeout) : undefined) ?? DEFAULT_TIMEOUT;
  const jwks = rule.jwks !== undefined && rule.jwks !== ''
    ? { local_jwks: { inline_string: rule.jwks } }
    : rule.jwksUri
      ? { remote_jwks: { http_uri: { uri: rule.jwksUri, cluster: remoteCluster(rule.jwksUri), timeout }, cache_duration: CACHE_DURATION } }
      : { local_jwks: { inline_string: EMPTY_JWKS } };
  return {
    issuer: rule.issuer,
    audiences: rule.audiences ?? [],
    forward: rule.forwardOriginalToken === true,
    ...(rule.outputPayloadToHeader ? { forward_payload_header: rule.outputPayloadToHeader } : {}),
    payload_in_metadata: 'payload',
    // Not in Istio's output: in-process verification runs on the app's event loop, where one
    // ES256 check costs ~0.1 ms; Envoy's own verified-token cache makes a repeated token cost a
    // lookup (bench/jwt.ts). Time and audience are still checked on every hit.
    jwt_cache_config: { jwt_cache_size: JWT_CACHE_SIZE },
    normalize_payload_in_metadata: { space_delimited_claims: ['permission', 'scope'] },
    claim_to_headers: (rule.outputClaimToHeaders ?? []).map((c) => ({ header_name: c.header, claim_name: c.claim })),
    from_headers: (rule.fromHeaders ?? []).map((h) => ({ name: h.name, value_prefix: h.prefix ?? '' })),
    from_params: rule.fromParams ?? [],
    from_cookies: rule.fromCookies ?? [],
    ...jwks,
  };
}

/**
 * The JwtAuthentication message (protobufjs object form) for the given policies, or undefined
 * when they hold no JWT rule.
 *
 * @example
 * ```ts
 * const config = jwtAuthenticationConfig(requestAuthnForWorkload(resources, workload));
 * ```
 */
export function jwtAuthenticationConfig(policies: readonly RequestAuthentication[]): Record<string, unknown> | undefined {
  // A stable sort by issuer keeps the output deterministic, as Istio does.
  const rules = policies.flatMap((p) => p.spec.jwtRules ?? []).map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.issuer < b.r.issuer ? -1 : a.r.issuer > b.r.issuer ? 1 : a.i - b.i)).map((x) => x.r);
  if (rules.length === 0) return undefined;
  const providers: Record<string, unknown> = {};
  const inner: unknown[] = [];
  const outer: unknown[] = [];
  rules.forEach((rule, i) => {
    const name = `origins-${i}`;
    providers[name] = provider(rule);
    inner.push({ requires_any: { requirements: [{ provider_name: name }, { allow_missing: {} }] } });
    outer.push({ provider_name: name });
  });
  const requires = inner.length === 1
    ? inner[0]
    : { requires_any: { requirements: [...outer, { requires_all: { requirements: inner } }] } };
  return { rules: [{ match: { prefix: '/' }, requires }], providers, bypass_cors_preflight: true };
}

/**
 * The jwt_authn http filter for a workload's inbound listener (insert it before RBAC), or
 * undefined when no RequestAuthentication applies.
 *
 * @example
 * ```ts
 * const jwt = requestAuthnFilter(requestAuthnForWorkload(resources, workload));
 * const httpFilters = [...(jwt ? [jwt] : []), rbacFilter, routerFilter];
 * ```
 */
export function requestAuthnFilter(policies: readonly RequestAuthentication[]): { name: string; typed_config: AnyObject } | undefined {
  const config = jwtAuthenticationConfig(policies);
  return config ? { name: JWT_AUTHN_FILTER_NAME, typed_config: anyOf(JWT_AUTHN_TYPE, config) } : undefined;
}
