/**
 * Istio host-name semantics shared by the loader, analyze and the control server.
 */

/**
 * Resolves a host as Istio does for VirtualService/DestinationRule hosts: a short name (no dot)
 * is a Kubernetes service in the resource's namespace; anything else (FQDNs, `*`,
 * `*.example.com`, IPs) is kept literally.
 *
 * @example
 * ```ts
 * resolveHost('reviews', 'default');          // "reviews.default.svc.cluster.local"
 * resolveHost('www.googleapis.com', 'default'); // unchanged
 * ```
 */
export function resolveHost(host: string, namespace: string, domainSuffix = 'cluster.local'): string {
  if (host === '*' || host.includes('.') || host.includes(':')) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/**
 * The names a client may dial for a Kubernetes-style FQDN, shortest first. A host that is not
 * `<name>.<namespace>.svc.<suffix>` has only itself. The bare `<name>` only resolves for clients
 * in the same namespace; callers that care filter it.
 *
 * @example
 * ```ts
 * hostAliases('reviews.default.svc.cluster.local');
 * // ["reviews", "reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local"]
 * ```
 */
export function hostAliases(fqdn: string, domainSuffix = 'cluster.local'): string[] {
  const tail = `.svc.${domainSuffix}`;
  if (!fqdn.endsWith(tail)) return [fqdn];
  const parts = fqdn.slice(0, -tail.length).split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return [fqdn];
  const [name, ns] = parts;
  return [name, `${name}.${ns}`, `${name}.${ns}.svc`, fqdn];
}

/**
 * Whether `host` is covered by `pattern`, where the pattern may be `*` or `*.suffix` (Istio
 * wildcard hosts). A wildcard host as `host` matches a pattern only when it is at least as
 * specific.
 *
 * @example
 * ```ts
 * hostMatches('*.example.com', 'api.example.com'); // true
 * hostMatches('*.example.com', 'example.com');     // false
 * ```
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host || pattern === '*') return true;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1); // ".example.com"
    return host.endsWith(suffix) && host.length > suffix.length;
  }
  return false;
}

/** Whether `host` contains a wildcard. */
export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}
