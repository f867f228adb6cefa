/** Listener model: the HTTP connection manager and its filters. Plain immutable data built by src/xds/resources, read by the engine. */
import type { FaultModel, RouteConfigModel } from './route.js';
import type { JwtAuthnModel } from './jwt-authn.js';

/** Decoded config of an HTTP filter, top-level or per-route override. */
export type FilterConfigModel =
  | { readonly kind: 'router'; readonly typeUrl: string }
  | { readonly kind: 'fault'; readonly typeUrl: string; readonly fault: FaultModel }
  /** envoy.filters.http.jwt_authn (RequestAuthentication). */
  | { readonly kind: 'jwt_authn'; readonly typeUrl: string; readonly jwtAuthn: JwtAuthnModel }
  /** A filter meshlet does not implement that the server marked `is_optional`. */
  | { readonly kind: 'unsupported'; readonly typeUrl: string; readonly optional: true };

/** One entry of HttpConnectionManager.http_filters. */
export interface HttpFilterModel {
  readonly name: string;
  readonly typeUrl: string;
  readonly config: FilterConfigModel;
}

/** An LDS resource: an api_listener with an HttpConnectionManager. */
export interface ListenerModel {
  readonly name: string;
  /** Exactly one of `routeConfigName` (RDS) and `routeConfig` (inline) is set. */
  readonly routeConfigName?: string;
  readonly routeConfig?: RouteConfigModel;
  /** In order; the router filter is always last. */
  readonly httpFilters: readonly HttpFilterModel[];
  /** The fault filter is configured, so per-route fault overrides take effect. */
  readonly hasFaultFilter: boolean;
  /** HttpConnectionManager.common_http_protocol_options.max_stream_duration (gRPC). */
  readonly maxStreamDurationMs?: number;
}
