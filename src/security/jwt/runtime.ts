/**
 * What the jwt_authn stage loads with its first config (jose itself comes through jose-lib.ts,
 * on the first compile), so a mesh without RequestAuthentication pays for neither.
 */
export { JwtAuthnFilter, providersOf } from './filter.js';
export { JwksCache } from './keys.js';
