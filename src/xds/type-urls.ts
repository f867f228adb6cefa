/** xDS v3 type URLs meshlet speaks. */
export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  httpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  fault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  jwtAuthn: 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  rbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  uriTemplate: 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig',
  downstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
} as const;

export type ResourceTypeUrl = (typeof TYPE_URL)['listener' | 'route' | 'cluster' | 'endpoint'];

/** LDS → RDS → CDS → EDS: the order a client learns them in, and the order ADS pushes them in. */
export const RESOURCE_TYPE_URLS: readonly ResourceTypeUrl[] = [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint];

/** Message type name from a type URL (`type.googleapis.com/a.b.C` → `a.b.C`). */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** Short name used in logs, metrics and the admin API. */
export function shortTypeName(typeUrl: string): 'LDS' | 'RDS' | 'CDS' | 'EDS' | string {
  switch (typeUrl) {
    case TYPE_URL.listener: return 'LDS';
    case TYPE_URL.route: return 'RDS';
    case TYPE_URL.cluster: return 'CDS';
    case TYPE_URL.endpoint: return 'EDS';
    default: return messageNameOf(typeUrl);
  }
}
