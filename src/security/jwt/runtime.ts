/**
 * What the jwt_authn stage loads on first use (it pulls in jose, ~20–60 ms of start-up a mesh
 * without RequestAuthentication should not pay).
 */
export { JwtAuthnFilter, providersOf } from './filter.js';
export { JwksCache } from './keys.js';
