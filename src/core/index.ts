/** The engine shared by the HTTP and gRPC adapters: pure TypeScript, no I/O. */
export { createEngine, parseLocality } from './engine.js';
export type { EngineController, EngineOptions, ClusterStats } from './engine.js';
export type { EngineResources } from './snapshot.js';
export { normalizePath } from './path.js';
export { GRPC_RETRY_CONDITIONS, compileRetryPlan, grpcStatusRetriable } from './resilience/retry.js';
export type {
  AttemptOutcome,
  CallPlan,
  Engine,
  HeaderMutation,
  RequestInfo,
  ResponseFlag,
  RetryPlan,
  RouteResult,
  UpstreamEndpoint,
} from './types.js';
