/**
 * meshlet: a service mesh inside each Node.js process.
 *
 * This entry point holds the mesh client (`createMesh()`: HTTP data plane through undici,
 * inbound servers), the error table, the Istio config model and the xDS client. Express and
 * Fastify adapters live at `meshlet-node/express` and `meshlet-node/fastify`, the control server at
 * `meshlet-node/control`.
 *
 * @example
 * ```ts
 * import { createMesh } from 'meshlet-node';
 * const mesh = await createMesh({ service: 'productpage' });
 * const res = await mesh.fetch('http://reviews:9080/reviews/1');
 * ```
 */
export { createMesh } from './mesh/create.js';
export type { Mesh, MeshOptions, MeshEvents, MeshInbound, CloseOptions } from './mesh/types.js';
export { CHANNEL_NAMES } from './telemetry/diagnostics.js';
export { MeshDispatcher } from './http/dispatcher.js';
export type { MeshDispatcherOptions } from './http/dispatcher.js';
export { FLAGS_HEADER } from './http/headers.js';
export type { ListenTarget, ListenOptions, ListenHandle, FastifyLike } from './http/inbound.js';
export type { InboundHook, InboundContext, InboundPeer, InboundDenial } from './http/pipeline.js';
export type { RequestRecord } from './telemetry/record.js';
export type { ResponseFlag } from './core/types.js';

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
