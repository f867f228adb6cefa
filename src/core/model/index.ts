/**
 * The client-side model of validated xDS resources: plain, immutable data (discriminated unions
 * on `kind`), built once per update by src/xds/resources and read by the engine. Durations are
 * milliseconds, percentages are exact {@link Fraction}s, regexes are already compiled.
 */
import type { ListenerModel } from './listener.js';
import type { RouteConfigModel } from './route.js';
import type { ClusterModel } from './cluster.js';
import type { EndpointsModel } from './endpoint.js';

export * from './common.js';
export * from './listener.js';
export * from './route.js';
export * from './cluster.js';
export * from './endpoint.js';
export * from './jwt-authn.js';
export * from './inbound.js';
export * from './transport.js';
export * from './tcp.js';

/** Model type of each resource type URL. */
export interface ResourceModels {
  'type.googleapis.com/envoy.config.listener.v3.Listener': ListenerModel;
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': RouteConfigModel;
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': ClusterModel;
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': EndpointsModel;
}
