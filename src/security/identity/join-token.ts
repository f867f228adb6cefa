// jose through joseLib (loaded on first use): a static import here is hoisted into every mesh's
// bundle, ~9 MiB and ~80 ms of start-up for processes without a join token.
import type { JWTPayload } from 'jose';
import { joseLib } from '../jwt/jose-lib.js';
import { meshError } from '../../errors.js';
import { normalizeFingerprint } from './pem.js';
import { namespaceProblem, parseWorkloadSpiffeId, serviceAccountProblem, trustDomainProblem, workloadSpiffeId } from './spiffe-id.js';

/**
 * Join tokens: a JWT (ES256, signed by the CA's token key) that lets one workload identity join
 * the mesh. It names the namespace, service account and trust domain, expires, has a `jti`, and
 * carries the SHA-256 fingerprint of the CA's root certificate, so a client holding only the
 * token can authenticate the control server's TLS port (kubeadm's discovery-token CA pin works the
 * same way). The client reads it without verifying (it does not have the token key); the CA
 * verifies it (control/ca/tokens.ts).
 */

/** The JWT `typ` header of a join token. */
export const JOIN_TOKEN_TYPE = 'meshlet-join+jwt';
/** `iss` of every join token. */
export const JOIN_TOKEN_ISSUER = 'meshlet-ca';
/** `aud` of every join token. */
export const JOIN_TOKEN_AUDIENCE = 'meshlet-control';
/** Longest token accepted anywhere (a join token is ~600 bytes). */
export const MAX_TOKEN_BYTES = 4096;

/** What a join token grants. */
export interface JoinTokenClaims {
  namespace: string;
  serviceAccount: string;
  trustDomain: string;
  /** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
  spiffeId: string;
  /** SHA-256 of the CA root certificate's DER, 64 lowercase hex digits. */
  rootFingerprint: string;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms. */
  expiresAt: number;
  jti: string;
  /** How many certificates the token may obtain (`uses` claim); absent: any number until it expires. */
  maxUses?: number;
}

/** Most uses a bounded token may name. */
export const MAX_TOKEN_USES = 10_000;

/** The JWT claims of a join token as they are on the wire. */
export interface JoinTokenPayload extends JWTPayload {
  ns: string;
  sa: string;
  td: string;
  root_sha256: string;
  /** Bounded-use tokens only: certificates it may obtain. */
  uses?: number;
}

/** Turns verified (or merely decoded) JWT claims into {@link JoinTokenClaims}, or says what is wrong. */
export function joinTokenClaims(payload: JWTPayload): JoinTokenClaims | string {
  const p = payload as Partial<JoinTokenPayload>;
  for (const name of ['ns', 'sa', 'td', 'root_sha256', 'sub', 'jti'] as const) if (typeof p[name] !== 'string') return `claim "${name}" is missing or not a string`;
  if (typeof p.exp !== 'number' || typeof p.iat !== 'number') return 'claims "exp" and "iat" must be numbers';
  const problem = trustDomainProblem(p.td!) ?? namespaceProblem(p.ns!) ?? serviceAccountProblem(p.sa!);
  if (problem) return problem;
  const spiffeId = workloadSpiffeId({ trustDomain: p.td!, namespace: p.ns!, serviceAccount: p.sa! });
  if (p.sub !== spiffeId) return `claim "sub" (${p.sub}) does not match ns/sa/td (${spiffeId})`;
  const rootFingerprint = normalizeFingerprint(p.root_sha256!);
  if (!rootFingerprint) return 'claim "root_sha256" is not a SHA-256 fingerprint';
  if (typeof parseWorkloadSpiffeId(spiffeId) === 'string') return `"${spiffeId}" is not a workload SPIFFE ID`;
  if (p.uses !== undefined && !(Number.isInteger(p.uses) && p.uses >= 1 && p.uses <= MAX_TOKEN_USES)) return `claim "uses" must be an integer from 1 to ${MAX_TOKEN_USES}`;
  const claims: JoinTokenClaims = { namespace: p.ns!, serviceAccount: p.sa!, trustDomain: p.td!, spiffeId, rootFingerprint, issuedAt: p.iat * 1000, expiresAt: p.exp * 1000, jti: p.jti! };
  if (p.uses !== undefined) claims.maxUses = p.uses;
  return claims;
}

/**
 * Reads a join token's claims without verifying its signature (what a client can do; the CA
 * verifies). Throws MESHLET_ERR_CA_TOKEN when it is not a well-formed join token.
 *
 * @example
 * ```ts
 * const { spiffeId, rootFingerprint } = decodeJoinToken(process.env.MESHLET_TOKEN!);
 * ```
 */
export function decodeJoinToken(token: string): JoinTokenClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) throw meshError('MESHLET_ERR_CA_TOKEN', `a join token is a JWT string of at most ${MAX_TOKEN_BYTES} bytes`);
  let payload: JWTPayload;
  try {
    const header = joseLib().decodeProtectedHeader(token.trim());
    if (header.typ !== JOIN_TOKEN_TYPE) throw new Error(`typ is ${String(header.typ)}, expected ${JOIN_TOKEN_TYPE}`);
    payload = joseLib().decodeJwt(token.trim());
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_TOKEN', `not a meshlet join token: ${(err as Error).message}`, { cause: err });
  }
  const claims = joinTokenClaims(payload);
  if (typeof claims === 'string') throw meshError('MESHLET_ERR_CA_TOKEN', `not a meshlet join token: ${claims}`);
  return claims;
}
