import { createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { meshError } from '../../errors.js';
import {
  JOIN_TOKEN_AUDIENCE, JOIN_TOKEN_ISSUER, JOIN_TOKEN_TYPE, MAX_TOKEN_BYTES, MAX_TOKEN_USES, joinTokenClaims,
  type JoinTokenClaims, type JoinTokenPayload,
} from '../../security/identity/join-token.js';
import { namespaceProblem, serviceAccountProblem, workloadSpiffeId } from '../../security/identity/spiffe-id.js';

/** Default and bounds of a join token's lifetime. */
export const TOKEN_TTL = { defaultMs: 24 * 3600_000, minMs: 60_000, maxMs: 365 * 24 * 3600_000 } as const;
// Clock skew tolerated between the machine that made the token and the CA, as for SVIDs.
const CLOCK_TOLERANCE_S = 120;
// Verified tokens remembered (replicas of one service join with the same token, often at once).
const VERIFIED_CACHE = 1024;

/** What {@link JoinTokens.create} makes a token for. */
export interface JoinTokenRequest {
  namespace: string;
  serviceAccount: string;
  /** Lifetime in ms. Default 24 h; 1 minute to 365 days. */
  ttlMs?: number;
  /**
   * Certificates the token may obtain (1 = SPIRE's one-time join token). Default: unbounded until
   * it expires, like Istio's service-account tokens (replicas of one service join with one token).
   * Renewals authenticate with the workload's certificate and do not count.
   */
  maxUses?: number;
}

/**
 * A fresh token id: 22 base64url characters (127 random bits). The first character is never
 * `-` (the top bit of the first byte is clear, so it is one of A–Z a–f): an id that began with
 * `-` was read as an option by `meshlet token revoke … JTI` (1 token in 64).
 */
function newTokenId(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return bytes.toString('base64url');
}

/**
 * Creates and verifies join tokens with the CA's token key (ES256 through jose).
 *
 * @example
 * ```ts
 * const tokens = new JoinTokens(tokenKey, 'cluster.local', rootFingerprint);
 * const jwt = await tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
 * const claims = await tokens.verify(jwt); // throws MESHLET_ERR_CA_TOKEN when not acceptable
 * ```
 */
export class JoinTokens {
  private readonly publicKey: KeyObject;
  private verifyKey: Promise<webcrypto.CryptoKey> | undefined;
  private readonly verified = new Map<string, JoinTokenClaims>();

  constructor(private readonly key: KeyObject, readonly trustDomain: string, readonly rootFingerprint: string, private readonly now: () => number = Date.now) {
    this.publicKey = createPublicKey(key);
  }

  /** Signs a token for one namespace/service account. Invalid names are MESHLET_ERR_USAGE. */
  async create(request: JoinTokenRequest): Promise<string> {
    const problem = namespaceProblem(request.namespace) ?? serviceAccountProblem(request.serviceAccount);
    if (problem) throw meshError('MESHLET_ERR_USAGE', problem);
    const ttlMs = request.ttlMs ?? TOKEN_TTL.defaultMs;
    if (!Number.isFinite(ttlMs) || ttlMs < TOKEN_TTL.minMs || ttlMs > TOKEN_TTL.maxMs) throw meshError('MESHLET_ERR_USAGE', 'token lifetime must be between 1 minute and 365 days');
    if (request.maxUses !== undefined && !(Number.isInteger(request.maxUses) && request.maxUses >= 1 && request.maxUses <= MAX_TOKEN_USES)) {
      throw meshError('MESHLET_ERR_USAGE', `maxUses must be an integer from 1 to ${MAX_TOKEN_USES}`);
    }
    const iat = Math.floor(this.now() / 1000);
    const payload: JoinTokenPayload = { ns: request.namespace, sa: request.serviceAccount, td: this.trustDomain, root_sha256: this.rootFingerprint };
    if (request.maxUses !== undefined) payload.uses = request.maxUses;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', typ: JOIN_TOKEN_TYPE })
      .setIssuer(JOIN_TOKEN_ISSUER)
      .setAudience(JOIN_TOKEN_AUDIENCE)
      .setSubject(workloadSpiffeId({ trustDomain: this.trustDomain, namespace: request.namespace, serviceAccount: request.serviceAccount }))
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.floor(ttlMs / 1000))
      .setJti(newTokenId())
      .sign(this.key);
  }

  /**
   * Verifies signature (ES256 only: `alg: none`, HS*, RS* are refused), `typ`, issuer, audience,
   * expiry and the claims, and that the token is for this CA's trust domain.
   */
  async verify(token: string): Promise<JoinTokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_BYTES) {
      throw meshError('MESHLET_ERR_CA_TOKEN', `a join token is a JWT of at most ${MAX_TOKEN_BYTES} bytes`);
    }
    // A token verified before is the same bytes under the same key: only its expiry can change.
    const known = this.verified.get(token);
    if (known) {
      if (this.now() < known.expiresAt + CLOCK_TOLERANCE_S * 1000) return known;
      this.verified.delete(token);
    }
    // Imported once: jose would convert the KeyObject on every call.
    this.verifyKey ??= webcrypto.subtle.importKey('spki', this.publicKey.export({ type: 'spki', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await this.verifyKey, {
        algorithms: ['ES256'],
        typ: JOIN_TOKEN_TYPE,
        issuer: JOIN_TOKEN_ISSUER,
        audience: JOIN_TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      throw meshError('MESHLET_ERR_CA_TOKEN', `join token rejected: ${describe(err)}`, { cause: err });
    }
    const claims = joinTokenClaims(payload);
    if (typeof claims === 'string') throw meshError('MESHLET_ERR_CA_TOKEN', `join token rejected: ${claims}`);
    if (claims.trustDomain !== this.trustDomain) {
      throw meshError('MESHLET_ERR_CA_TOKEN', `join token is for trust domain "${claims.trustDomain}"; this CA serves "${this.trustDomain}"`);
    }
    if (this.verified.size >= VERIFIED_CACHE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed (ES256 only)';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim "${err.claim}" ${err.reason === 'check_failed' ? 'is not acceptable' : 'is missing'} (${err.message})`;
  return (err as Error)?.message ?? String(err);
}
