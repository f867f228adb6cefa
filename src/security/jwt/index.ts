/**
 * RequestAuthentication at run time: Envoy's jwt_authn filter semantics over jose.
 * See filter.ts for the entry point.
 */
export { JwtAuthnFilter, providersOf, type JwtAuthnResult } from './filter.js';
export { JwksCache, MAX_JWKS_RESPONSE_BYTES } from './keys.js';
export { JWT_STATUS, refusal, type JwtStatus } from './status.js';
export { MAX_TOKEN_BYTES, parseJwt } from './token.js';
export { JwtAuthnStage, jwtOf, settle, type StageHost } from './stage.js';
export { jwtAuthnHttpFilter } from './http-filter.js';
