/**
 * Resource names, following Istio's proxyless gRPC conventions so that a stock grpc-js-xds
 * client dialing `xds:///reviews.default.svc.cluster.local:9080` finds what it asks for:
 * listener and route configuration `<host>:<port>`, clusters `outbound|<port>|<subset>|<host>`.
 */

/** Parts of an Istio cluster name. */
export interface ClusterNameParts {
  direction: 'outbound' | 'inbound';
  port: number;
  /** Empty string for the subset-less cluster. */
  subset: string;
  host: string;
}

/**
 * Builds `outbound|<port>|<subset>|<host>` (Istio's `model.BuildSubsetKey`).
 *
 * @example clusterName(9080, 'v1', 'reviews.default.svc.cluster.local')
 * // 'outbound|9080|v1|reviews.default.svc.cluster.local'
 */
export function clusterName(port: number, subset: string | undefined, host: string, direction: 'outbound' | 'inbound' = 'outbound'): string {
  return `${direction}|${port}|${subset ?? ''}|${host}`;
}

/** Inverse of {@link clusterName}; `undefined` for names not in that shape. */
export function parseClusterName(name: string): ClusterNameParts | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  if (direction !== 'outbound' && direction !== 'inbound') return undefined;
  if (!/^\d+$/.test(port) || host === '') return undefined;
  return { direction, port: Number(port), subset, host };
}

/** Listener and route configuration name for a service port: `<host>:<port>`. */
export function listenerName(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * Expands a host as written in config, relative to the namespace of the resource it appears in
 * (`reviews` → `reviews.<ns>.svc.<suffix>`, anything with a dot literal): the config module's
 * helper, re-exported so every generator resolves hosts exactly as the loader and analyzer do.
 */
export { resolveHost } from '../../config/hosts.js';

/**
 * The shorter names a Kubernetes client may dial for a cluster-local host
 * (`reviews`, `reviews.default`, `reviews.default.svc`); empty for other hosts.
 */
export function shortAliases(host: string, domainSuffix: string): { name: string; namespace: string; aliases: string[] } | undefined {
  const tail = `.svc.${domainSuffix}`;
  if (!host.endsWith(tail)) return undefined;
  const labels = host.slice(0, -tail.length).split('.');
  if (labels.length !== 2) return undefined;
  const [name, namespace] = labels as [string, string];
  return { name, namespace, aliases: [name, `${name}.${namespace}`, `${name}.${namespace}.svc`] };
}

/**
 * Does a config host pattern (`reviews.default.svc.cluster.local`, `*.example.com`, `*`)
 * cover this hostname? Returns the match kind so callers can prefer exact matches.
 */
export function hostMatch(pattern: string, host: string): 'exact' | 'wildcard' | undefined {
  if (pattern === host) return 'exact';
  if (pattern === '*') return 'wildcard';
  if (pattern.startsWith('*.') && host.endsWith(pattern.slice(1))) return 'wildcard';
  return undefined;
}
