/**
 * The client's model of Envoy's jwt_authn filter config
 * (envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication), which the control server
 * emits for RequestAuthentication as Istio's `convertToEnvoyJwtConfig` does. Plain data; the
 * runtime (src/security/jwt) compiles it once per snapshot.
 */
import type { PathMatchModel } from './route.js';

/** Where a provider's JWT keys come from. */
export type JwksSourceModel =
  /** Inline JWKS text (`local_jwks.inline_string`); invalid JSON or no usable key fails every token (Envoy). */
  | { readonly kind: 'local'; readonly jwks: string }
  /** `remote_jwks`: fetched by the client, cached `cacheDurationMs`, each fetch bounded by `timeoutMs`. */
  | { readonly kind: 'remote'; readonly uri: string; readonly timeoutMs: number; readonly cacheDurationMs: number };

/** One JwtProvider (an issuer). Field names follow the proto in camelCase. */
export interface JwtProviderModel {
  readonly name: string;
  /** '' accepts any issuer (Envoy's rule for a provider without one). */
  readonly issuer: string;
  /** Empty: any audience. Compared without an http(s):// scheme or trailing slash (jwt_verify_lib). */
  readonly audiences: readonly string[];
  readonly jwks: JwksSourceModel;
  /** Keep the token in the request after verification (Istio's forwardOriginalToken). */
  readonly forward: boolean;
  readonly fromHeaders: readonly { readonly name: string; readonly valuePrefix: string }[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  /** Header that receives the base64url payload (Istio's outputPayloadToHeader). */
  readonly forwardPayloadHeader?: string;
  readonly padForwardPayloadHeader: boolean;
  readonly claimToHeaders: readonly { readonly headerName: string; readonly claimName: string }[];
  /** Seconds of clock skew tolerated on exp/nbf; Envoy's default is 60. */
  readonly clockSkewSeconds: number;
  readonly requireExpiration: boolean;
  /**
   * jwt_cache_config.jwt_cache_size: verified tokens remembered (0: no cache, Envoy's default
   * when the field is unset). A hit skips the signature, never the issuer, time and audience checks.
   */
  readonly jwtCacheSize: number;
}

/** A JwtRequirement: a tree of providers, AND/OR and the two "allow" leaves. */
export type JwtRequirementModel =
  | { readonly kind: 'provider'; readonly provider: string; readonly audiences?: readonly string[] }
  | { readonly kind: 'any'; readonly requirements: readonly JwtRequirementModel[] }
  | { readonly kind: 'all'; readonly requirements: readonly JwtRequirementModel[] }
  | { readonly kind: 'allow_missing' }
  | { readonly kind: 'allow_missing_or_failed' };

/** A RequirementRule: the first rule whose path matches decides; no `requires` means no check. */
export interface JwtRuleModel {
  readonly match: PathMatchModel;
  readonly requires?: JwtRequirementModel;
}

export interface JwtAuthnModel {
  readonly providers: Readonly<Record<string, JwtProviderModel>>;
  readonly rules: readonly JwtRuleModel[];
  /** CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) skip the check. */
  readonly bypassCorsPreflight: boolean;
  /** Refusals carry no body and no WWW-Authenticate detail. */
  readonly stripFailureResponse: boolean;
}
