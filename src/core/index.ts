/** The engine shared by the HTTP and gRPC adapters: pure TypeScript, no I/O. */
export { createEngine, parseLocality } from './engine.js';
export type { EngineController, EngineOptions, ClusterStats } from './engine.js';
export type { EngineResources } from './snapshot.js';
export { normalizePath } from './path.js';
export { GRPC_RETRY_CONDITIONS, compileRetryPlan, isIdempotent } from './resilience/retry.js';
export { RetryAttempt, RetryState } from './resilience/retry-state.js';
export { CallObservers, subsetOf } from './observer.js';
export type { CallObserver, ObservedCall, ObserverList } from './observer.js';
export type { AttemptVerdict, RetryStateOptions, TimerVerdict } from './resilience/retry-state.js';
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
