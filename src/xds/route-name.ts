/**
 * Route names that change when a route's per-filter overrides change.
 *
 * grpc-js-xds (1.14) decides whether a RouteConfiguration changed by walking the *old* decoded
 * object's keys only, so an entry that appears in a map field — a fault override added to
 * `typed_per_filter_config` by a live VirtualService change — is invisible to it, and the stock
 * client keeps the old routes. The control server therefore suffixes a route's name with a
 * digest of its (and its weighted clusters') filter overrides: `main~1f2e3d4c`. The suffix is
 * meshlet's own convention and our client strips it again, so records and stats show the
 * VirtualService's route name.
 */

const SUFFIX = /~[0-9a-f]{8}$/;

/**
 * Appends the override digest (8 hex digits) to a route name (`""` stays a bare digest).
 *
 * @example withOverrideDigest('main', '1f2e3d4c') // 'main~1f2e3d4c'
 */
export function withOverrideDigest(name: string, digest: string): string {
  return `${name}~${digest.slice(0, 8)}`;
}

/**
 * The route's own name, without the override digest.
 *
 * @example baseRouteName('main~1f2e3d4c') // 'main'
 */
export function baseRouteName(name: string): string {
  return SUFFIX.test(name) ? name.slice(0, -9) : name;
}
