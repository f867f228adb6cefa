/**
 * Parses a compact JWS the way jwt_verify_lib's `Jwt::parseFromString` does before any key is
 * touched: bounded size, exactly three base64url parts, a JSON header with a string `alg` of an
 * asymmetric algorithm meshlet verifies (never `none`), a JSON object payload whose registered
 * claims have the right types. The checks name the Envoy status each failure maps to.
 */
import type { JwtStatus } from './status.js';

/**
 * Longest token accepted, in bytes. Node's HTTP parser refuses a request whose headers exceed
 * 16 KiB by default (`--max-http-header-size`), so no token that fits through it is longer;
 * Envoy's own bound is the 60 KiB header map.
 */
export const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * Algorithms a JWKS key can verify with jose (RFC 7518 asymmetric ones plus EdDSA). HS* is
 * absent on purpose: jose refuses symmetric keys in a JWKS, so an HS256 token never finds a key
 * (no HS/RS confusion is possible), and `none` is never an algorithm.
 */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const SYMMETRIC = new Set(['HS256', 'HS384', 'HS512']);

/** A token that parsed; `payload` is not yet trusted (signature unchecked). */
export interface ParsedJwt {
  readonly alg: string;
  readonly kid?: string;
  readonly iss: string;
  readonly audiences: readonly string[];
  readonly exp?: number;
  readonly nbf?: number;
  /** The base64url payload as sent (Envoy's forward_payload_header value). */
  readonly payloadB64: string;
}

export type ParseResult = { readonly ok: true; readonly jwt: ParsedJwt } | { readonly ok: false; readonly status: Exclude<JwtStatus, 'Ok'> };

const B64URL = /^[A-Za-z0-9_-]*$/;

function b64json(part: string): unknown {
  // Length 1 mod 4 cannot come from any byte string; Buffer would silently drop the extra char.
  if (!B64URL.test(part) || part.length % 4 === 1) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const fail = (status: Exclude<JwtStatus, 'Ok'>): ParseResult => ({ ok: false, status });

/**
 * Parses the token's structure and registered claims (no signature check).
 *
 * @example
 * ```ts
 * const r = parseJwt(token);
 * if (!r.ok) return refusal(r.status, uri, false);
 * ```
 */
export function parseJwt(token: string): ParseResult {
  if (token.length === 0 || token.length > MAX_TOKEN_BYTES) return fail('JwtBadFormat');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return fail('JwtBadFormat');
  const headerPart = token.slice(0, first);
  const payloadPart = token.slice(first + 1, second);
  const signaturePart = token.slice(second + 1);
  const header = b64json(headerPart);
  if (!isObject(header)) return fail('JwtHeaderParseError');
  const { alg, kid } = header;
  if (typeof alg !== 'string') return fail('JwtHeaderBadAlg');
  if (!ASYMMETRIC.has(alg) && !SYMMETRIC.has(alg)) return fail('JwtHeaderNotImplementedAlg');
  if (kid !== undefined && typeof kid !== 'string') return fail('JwtHeaderBadKid');
  const payload = b64json(payloadPart);
  if (!isObject(payload)) return fail('JwtPayloadParseError');
  const { iss, aud, exp, nbf, sub } = payload;
  if ((iss !== undefined && typeof iss !== 'string') || (sub !== undefined && typeof sub !== 'string')) return fail('JwtPayloadParseError');
  let audiences: string[];
  if (aud === undefined) audiences = [];
  else if (typeof aud === 'string') audiences = [aud];
  else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audiences = aud as string[];
  else return fail('JwtPayloadParseError');
  if ((exp !== undefined && typeof exp !== 'number') || (nbf !== undefined && typeof nbf !== 'number')) return fail('JwtPayloadParseError');
  if (signaturePart.length === 0 || !B64URL.test(signaturePart) || signaturePart.length % 4 === 1) return fail('JwtSignatureParseError');
  return {
    ok: true,
    jwt: {
      alg,
      ...(kid !== undefined ? { kid } : {}),
      iss: iss ?? '',
      audiences,
      ...(exp !== undefined ? { exp } : {}),
      ...(nbf !== undefined ? { nbf } : {}),
      payloadB64: payloadPart,
    },
  };
}

/** Whether the algorithm can have a key in a JWKS (false for HS*: reported as no matching key). */
export function isAsymmetric(alg: string): boolean {
  return ASYMMETRIC.has(alg);
}

/**
 * jwt_verify_lib's audience comparison: a configured or presented audience matches with or
 * without an `http://` / `https://` scheme and a trailing `/` (CheckAudience `sanitizeAudience`).
 */
export function sanitizeAudience(aud: string): string {
  let s = aud;
  if (s.startsWith('https://')) s = s.slice(8);
  else if (s.startsWith('http://')) s = s.slice(7);
  if (s.endsWith('/')) s = s.slice(0, -1);
  return s;
}
