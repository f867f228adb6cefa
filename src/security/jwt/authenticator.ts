/**
 * One token check, in the order of Envoy's jwt_authn `AuthenticatorImpl::startVerify`: parse,
 * issuer allowed at the location it came from, exp/nbf with clock skew, audiences, then the
 * signature with the provider's keys (jose `jwtVerify`). A verified token's outputs (claim
 * headers, payload header, removal of the token) are recorded on the request context and only
 * applied when the whole requirement passes.
 */
import type { JWTPayload } from 'jose';
import { joseLib } from './jose-lib.js';
import type { JwtProviderModel } from '../../core/model/index.js';
import type { Extractor, JwtLocation, TokenSource } from './extract.js';
import type { KeySet } from './keys.js';
import { isAsymmetric, parseJwt, sanitizeAudience, type ParsedJwt } from './token.js';
import type { JwtStatus } from './status.js';

/** Longest token the verified-token cache keeps (bounds its memory to size × this). */
const MAX_CACHED_TOKEN = 4096;

/**
 * Envoy's JwtCache: verified tokens of one provider, least recently used evicted. Holding only
 * tokens whose signature verified, it saves the signature check, nothing else.
 */
export class TokenCache {
  private readonly map = new Map<string, { jwt: ParsedJwt; payload: JWTPayload }>();
  constructor(private readonly size: number) {}
  get(token: string): { jwt: ParsedJwt; payload: JWTPayload } | undefined {
    const hit = this.map.get(token);
    if (hit) {
      this.map.delete(token);
      this.map.set(token, hit);
    }
    return hit;
  }
  set(token: string, entry: { jwt: ParsedJwt; payload: JWTPayload }): void {
    if (token.length > MAX_CACHED_TOKEN) return;
    if (this.map.size >= this.size) this.map.delete(this.map.keys().next().value as string);
    this.map.set(token, entry);
  }
}

/** A provider compiled for the runtime: its model, key set, sanitized audiences, token cache. */
export interface ProviderRuntime {
  readonly model: JwtProviderModel;
  readonly keys: KeySet;
  readonly audiences: ReadonlySet<string>;
  readonly tokens?: TokenCache;
}

/** Per-request state shared by every node of a requirement tree. */
export interface VerifyContext {
  readonly req: TokenSource;
  readonly nowSeconds: number;
  /** Verified payloads in the order they verified. */
  readonly payloads: Array<{ readonly provider: string; readonly payload: JWTPayload }>;
  readonly setHeaders: Array<[string, string]>;
  readonly removeHeaders: Set<string>;
  readonly removeParams: Set<string>;
}

type Failure = Exclude<JwtStatus, 'Ok'>;

// Characters allowed in a header value (RFC 9110 field-value, no CR/LF/NUL).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Maps a jose failure to the jwt_verify_lib status Envoy would report; unknown ones fail closed. */
function statusOf(err: unknown): Failure {
  const code = (err as { code?: unknown } | null)?.code;
  const claim = (err as { claim?: unknown } | null)?.claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED': return 'JwtExpired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': return claim === 'nbf' ? 'JwtNotYetValid' : 'JwtVerificationFail';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'JwksKidAlgMismatch';
    case 'ERR_JWKS_INVALID': return 'JwksNoValidKeys';
    case 'ERR_JOSE_ALG_NOT_ALLOWED': case 'ERR_JOSE_NOT_SUPPORTED': return 'JwtHeaderNotImplementedAlg';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': case 'ERR_JWS_INVALID': case 'ERR_JWT_INVALID': return 'JwtVerificationFail';
    case 'ERR_JWKS_TIMEOUT': return 'JwksFetchFail';
    default:
      // fetch() rejections (connection refused, DNS), non-200 answers, bodies that are not
      // JSON or too large: the keys could not be had.
      return 'JwksFetchFail';
  }
}

/** A claim by name, `a.b` reaching into nested objects (Envoy's StructUtils::GetValue). */
function claimValue(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let cur: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Envoy's claim-to-header text: strings as is, integral numbers without a fraction, booleans as words. */
function claimText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v)) return Number.isInteger(v) && v >= 0 ? String(v) : v.toFixed(6);
  return undefined;
}

/**
 * Verifies the tokens one extractor finds. `provider` set: a provider requirement (tokens must
 * be of that provider). Unset: the allow_missing / allow_missing_or_failed leaves, which find the
 * provider by the token's issuer among `byIssuer`.
 */
export class Authenticator {
  constructor(
    private readonly extractor: Extractor,
    private readonly provider: ProviderRuntime | undefined,
    private readonly byIssuer: (iss: string) => ProviderRuntime | undefined,
    private readonly mode: 'strict' | 'allow_missing' | 'allow_missing_or_failed',
    private readonly audiences?: ReadonlySet<string>,
  ) {}

  async verify(ctx: VerifyContext): Promise<JwtStatus> {
    const tokens = this.extractor.extract(ctx.req);
    if (tokens.length === 0) return this.mode === 'strict' ? 'JwtMissed' : 'Ok';
    let result: JwtStatus = 'Ok';
    for (const location of tokens) {
      const status = await this.verifyOne(location, ctx);
      // Every token present must verify (Envoy's reason: a backend might read the bad one).
      // Unlike Envoy, allow_missing stops at the first bad token whatever the order tokens
      // were found in: a present, invalid token is refused, as the API documents.
      if (status !== 'Ok' && result === 'Ok') result = status;
    }
    return this.mode === 'allow_missing_or_failed' ? 'Ok' : result;
  }

  private async verifyOne(location: JwtLocation, ctx: VerifyContext): Promise<JwtStatus> {
    // Only a provider requirement uses the cache (as Envoy's authenticator, which has a provider then).
    const cached = this.provider?.tokens?.get(location.token);
    let jwt: ParsedJwt;
    if (cached) jwt = cached.jwt;
    else {
      const parsed = parseJwt(location.token);
      if (!parsed.ok) return parsed.status;
      jwt = parsed.jwt;
    }
    if (!location.issuers.check(jwt.iss)) return 'JwtUnknownIssuer';
    const provider = this.provider ?? this.byIssuer(jwt.iss);
    if (!provider) return 'JwtUnknownIssuer';
    if (this.provider && provider.model.issuer !== '' && provider.model.issuer !== jwt.iss) return 'JwtUnknownIssuer';
    const skew = provider.model.clockSkewSeconds;
    if (jwt.exp !== undefined && ctx.nowSeconds > jwt.exp + skew) return 'JwtExpired';
    if (jwt.nbf !== undefined && ctx.nowSeconds + skew < jwt.nbf) return 'JwtNotYetValid';
    if (provider.model.requireExpiration && jwt.exp === undefined) return 'JwtVerificationFail';
    const allowed = this.audiences ?? provider.audiences;
    if (allowed.size > 0 && !jwt.audiences.some((a) => allowed.has(sanitizeAudience(a)))) return 'JwtAudienceNotAllowed';
    if (cached) {
      this.record(provider.model, location, jwt.payloadB64, cached.payload, ctx);
      return 'Ok';
    }
    if (!provider.keys.ok) return provider.keys.status;
    if (!isAsymmetric(jwt.alg)) return 'JwksKidAlgMismatch';
    let payload: JWTPayload;
    try {
      ({ payload } = await joseLib().jwtVerify(location.token, provider.keys.getKey, {
        algorithms: [jwt.alg],
        clockTolerance: skew,
        currentDate: new Date(ctx.nowSeconds * 1000),
      }));
    } catch (err) {
      return statusOf(err);
    }
    if (this.provider) this.provider.tokens?.set(location.token, { jwt, payload });
    this.record(provider.model, location, jwt.payloadB64, payload, ctx);
    return 'Ok';
  }

  private record(p: JwtProviderModel, location: JwtLocation, payloadB64: string, payload: JWTPayload, ctx: VerifyContext): void {
    if (p.forwardPayloadHeader) {
      const pad = p.padForwardPayloadHeader ? '='.repeat((4 - (payloadB64.length % 4)) % 4) : '';
      ctx.setHeaders.push([p.forwardPayloadHeader, payloadB64 + pad]);
    }
    for (const { headerName, claimName } of p.claimToHeaders) {
      const text = claimText(claimValue(payload, claimName));
      // A claim holding CR/LF must not become a header (it would split it or throw in Node).
      if (text !== undefined && text !== '' && HEADER_VALUE.test(text)) ctx.setHeaders.push([headerName, text]);
    }
    if (!p.forward) {
      if (location.from.kind === 'header') ctx.removeHeaders.add(location.from.name);
      else if (location.from.kind === 'param') ctx.removeParams.add(location.from.name);
      // Cookies stay, as in Envoy (forward has no effect on from_cookies).
    }
    ctx.payloads.push({ provider: p.name, payload });
  }
}
