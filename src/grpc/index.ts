/**
 * `meshlet-node/grpc`: grpc-js clients and servers in the mesh. A `mesh:///host:port` target resolves
 * through the mesh's engine (routes per call, the engine's balancers and outlier detection), a
 * client interceptor adds retries and per-try timeouts, and server helpers announce and drain.
 */
export { meshGrpc, meshTarget } from './mesh-grpc.js';
export type { GrpcClientConstructor, GrpcMeshSource, MeshGrpc, MeshGrpcHooks } from './mesh-grpc.js';
export { inboundInterceptor } from './server.js';
export type { GrpcDenial, GrpcInboundContext, GrpcInboundHook, GrpcServerOptions, MeshGrpcServer } from './server.js';
export { nodeAnnouncer } from './announce.js';
export type { AnnouncePort } from './announce.js';
export { httpToGrpcStatus, grpcToHttpStatus } from './status.js';
export { MESH_ID_OPTION, MESH_LB_POLICY, MESH_SCHEME } from './registry.js';
export type { GrpcRecordSink, GrpcRequestRecord } from './types.js';
