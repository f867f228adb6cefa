/**
 * Why a JWT was refused, with the exact texts Envoy's jwt_authn filter answers with (they come
 * from jwt_verify_lib's `getStatusString`), and how a refusal becomes a reply: 401 with the text
 * as the body and `WWW-Authenticate: Bearer realm="<uri>"` (plus `, error="invalid_token"` unless
 * the token was missing), except a disallowed audience, which Envoy answers with 403
 * (source/extensions/filters/http/jwt_authn/filter.cc, `Filter::onComplete`).
 */
import type { InboundVerdict } from '../../core/inbound.js';

/** jwt_verify_lib statuses meshlet can produce, by name, with Envoy's text. */
export const JWT_STATUS = {
  JwtMissed: 'Jwt is missing',
  JwtNotYetValid: 'Jwt not yet valid',
  JwtExpired: 'Jwt is expired',
  JwtBadFormat: 'Jwt is not in the form of Header.Payload.Signature',
  JwtHeaderParseError: 'Jwt header is an invalid Base64url input or an invalid JSON',
  JwtHeaderBadAlg: 'Jwt header [alg] field is not a string',
  JwtHeaderNotImplementedAlg: 'Jwt header [alg] field value is invalid',
  JwtHeaderBadKid: 'Jwt header [kid] field is not a string',
  JwtPayloadParseError: 'Jwt payload is an invalid Base64 or an invalid JSON',
  JwtSignatureParseError: 'Jwt signature is an invalid Base64',
  JwtUnknownIssuer: 'Jwt issuer is not configured',
  JwtAudienceNotAllowed: 'Audiences in Jwt are not allowed',
  JwtVerificationFail: 'Jwt verification fails',
  JwksParseError: 'Jwks is an invalid JSON',
  JwksNoValidKeys: "Jwks doesn't have any valid public key",
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwksFetchFail: 'Jwks remote fetch is failed',
} as const;

export type JwtStatus = keyof typeof JWT_STATUS | 'Ok';

/** Envoy keeps at most this much of the original URI in the realm (filter.cc `MaximumUriLength`). */
const MAX_REALM_URI = 256;

/**
 * The reply for a refused request, as Envoy's jwt_authn sends it.
 *
 * @example
 * ```ts
 * refusal('JwtExpired', 'http://reviews/r/1', false); // { status: 401, body: 'Jwt is expired', headers: { 'www-authenticate': … } }
 * ```
 */
export function refusal(status: Exclude<JwtStatus, 'Ok'>, originalUri: string, strip: boolean): InboundVerdict {
  const code = status === 'JwtAudienceNotAllowed' ? 403 : 401;
  if (strip) return { status: code, body: '' };
  // The realm is a quoted-string: a '"', '\\', control or non-ASCII byte from the Host header
  // must not end it early, split the header or make Node refuse to send it.
  const uri = originalUri.slice(0, MAX_REALM_URI).replace(/[^\x20-\x7e]|["\\]/g, '');
  const value = `Bearer realm="${uri}"${status === 'JwtMissed' ? '' : ', error="invalid_token"'}`;
  return { status: code, body: JWT_STATUS[status], headers: { 'www-authenticate': value } };
}
