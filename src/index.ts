/**
 * meshlet: a service mesh inside each Node.js process.
 *
 * This entry point holds the mesh client (`createMesh()`: HTTP data plane through undici,
 * inbound servers), the error table and Istio config parsing and analysis. Express and Fastify
 * adapters live at `meshlet-node/express` and `meshlet-node/fastify`, the control server at
 * `meshlet-node/control`, test helpers at `meshlet-node/testing`, and the xDS client and other
 * building blocks below createMesh at `meshlet-node/experimental`.
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
export { AUTHZ_AUDIT_CHANNEL, type AuthzAuditMessage } from './security/authz/stage.js';
export { MeshDispatcher } from './http/dispatcher.js';
export type { MeshDispatcherOptions } from './http/dispatcher.js';
export { FLAGS_HEADER } from './http/headers.js';
export type { ListenTarget, ListenOptions, ListenHandle, FastifyLike } from './http/inbound.js';
export type { InboundHook, InboundContext, InboundPeer, InboundDenial } from './http/pipeline.js';
export { INBOUND_PHASE } from './security/inbound-policy.js';
export type { InboundPolicy, InboundStage, InboundCall, InboundOutcome } from './security/inbound-policy.js';
export type { InboundRequestView, InboundPeerView, InboundAuthView, InboundVerdict } from './core/inbound.js';
export type { RequestRecord } from './telemetry/record.js';
export type { MeshTelemetryOptions } from './mesh/types.js';
export { subsetOf } from './core/observer.js';
export type { CallObserver, ObservedCall } from './core/observer.js';
export type { ResponseFlag } from './core/types.js';

export { MeshError, ERROR_CODES, isMeshError, meshError } from './errors.js';
export type { MeshErrorCode } from './errors.js';

export { parseConfig, loadConfigPath, analyze, formatDiagnostic, hasErrors } from './config/index.js';
export type {
  ParseOptions, ParseResult, LoadResult, AnalyzeContext, Diagnostic, IstioResource, ResourceKind, SourceRef,
  VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, Gateway, PeerAuthentication, AuthorizationPolicy,
  RequestAuthentication, HTTPRoute, HTTPMatchRequest, TrafficPolicy, StringMatch,
} from './config/index.js';
export type { Disposable } from './xds/index.js';
