/**
 * `meshlet-node/experimental`: building blocks below `createMesh()` whose shape may still change
 * between minor versions — the xDS client and its node metadata, resource type URLs and models,
 * and the config helpers the CLI and control server use. The main entry keeps only what an
 * application needs (createMesh, its types, errors, config parsing and analysis).
 *
 * @example
 * ```ts
 * import { XdsClient, buildNode, TYPE_URL } from 'meshlet-node/experimental';
 * const xds = new XdsClient({ server: '127.0.0.1:15010', node: buildNode({ id: 'probe-1' }) });
 * xds.watch(TYPE_URL.cluster, 'outbound|9080||reviews.default.svc.cluster.local', { onChange() {}, onError() {} });
 * ```
 */
export { XdsClient, buildNode, parseAnnouncement, NODE_METADATA, TYPE_URL, RESOURCE_TYPE_URLS, Backoff, DEFAULT_BACKOFF } from './xds/index.js';
export type {
  XdsClientOptions, XdsClientEvents, ResourceWatcher, BuildNodeOptions, NodeObject, NodePort, ResourceTypeUrl,
  BackoffOptions, ListenerModel, RouteConfigModel, RouteModel, ClusterModel, EndpointsModel,
} from './xds/index.js';
export {
  fieldSource, parseDuration, formatDuration, resolveHost, hostAliases, hostMatches, isWildcardHost, RESOURCE_KINDS, resourceKey,
} from './config/index.js';
export { DEFAULT_CONFIG_LIMITS } from './config/limits.js';
export type { ConfigLimits } from './config/limits.js';
