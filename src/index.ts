/**
 * meshlet: a service mesh inside each Node.js process.
 *
 * This entry point holds what the mesh client is built on: the error table, the Istio config
 * model and the xDS client. `createMesh()` (HTTP and gRPC data planes) is the next milestone;
 * the control server lives at `meshlet/control`.
 *
 * @example
 * ```ts
 * import { parseConfig, formatDiagnostic } from 'meshlet';
 * const { resources, diagnostics } = parseConfig(yamlText, 'reviews.yaml');
 * for (const d of diagnostics) console.error(formatDiagnostic(d));
 * ```
 */
export { MeshError, ERROR_CODES, isMeshError, meshError } from './errors.js';
export type { MeshErrorCode } from './errors.js';

export {
  parseConfig, loadConfigPath, analyze, formatDiagnostic, hasErrors, fieldSource, parseDuration, formatDuration,
  resolveHost, hostAliases, hostMatches, isWildcardHost, RESOURCE_KINDS, resourceKey,
} from './config/index.js';
export type {
  ParseOptions, ParseResult, LoadResult, AnalyzeContext, Diagnostic, IstioResource, ResourceKind, SourceRef,
  VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, Gateway, PeerAuthentication, AuthorizationPolicy,
  RequestAuthentication, HTTPRoute, HTTPMatchRequest, TrafficPolicy, StringMatch,
} from './config/index.js';

export { XdsClient, buildNode, parseAnnouncement, NODE_METADATA, TYPE_URL, RESOURCE_TYPE_URLS, Backoff, DEFAULT_BACKOFF } from './xds/index.js';
export type {
  XdsClientOptions, XdsClientEvents, ResourceWatcher, BuildNodeOptions, NodeObject, NodePort, ResourceTypeUrl,
  BackoffOptions, Disposable, ListenerModel, RouteConfigModel, RouteModel, ClusterModel, EndpointsModel,
} from './xds/index.js';
