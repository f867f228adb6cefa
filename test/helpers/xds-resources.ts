/** Builders of xDS resource messages (protobufjs object form) for tests, and a bytes round trip. */
import { messageType } from '../../src/xds/protos.js';
import { messageNameOf, TYPE_URL } from '../../src/xds/type-urls.js';
import { packAny } from '../../src/xds/wire/any.js';

type Msg = Record<string, unknown>;

/** Encodes a message of `typeUrl` with protobufjs (fromObject + encode), like a server would. */
export function encode(typeUrl: string, message: Msg): Uint8Array {
  const type = messageType(messageNameOf(typeUrl));
  return type.encode(type.fromObject(message)).finish();
}

export const routerFilter = (): Msg => ({ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.router, {}) });
export const faultFilter = (fault: Msg = {}): Msg => ({ name: 'envoy.filters.http.fault', typed_config: packAny(TYPE_URL.fault, fault) });

/** An api_listener Listener whose HCM uses RDS over ADS. */
export function rdsListener(name: string, routeConfigName: string, filters: Msg[] = [routerFilter()]): Msg {
  return {
    name,
    api_listener: {
      api_listener: packAny(TYPE_URL.httpConnectionManager, {
        rds: { route_config_name: routeConfigName, config_source: { ads: {} } },
        http_filters: filters,
      }),
    },
  };
}

/** A listener with an inline route config. */
export function inlineListener(name: string, routeConfig: Msg, filters: Msg[] = [routerFilter()]): Msg {
  return {
    name,
    api_listener: { api_listener: packAny(TYPE_URL.httpConnectionManager, { route_config: routeConfig, http_filters: filters }) },
  };
}

/** A RouteConfiguration with one virtual host. */
export function routeConfig(name: string, routes: Msg[], domains = ['*']): Msg {
  return { name, virtual_hosts: [{ name: 'vh', domains, routes }] };
}

export const clusterRoute = (cluster: string, prefix = '/'): Msg => ({ match: { prefix }, route: { cluster } });

/** An EDS cluster over ADS. */
export function edsCluster(name: string, extra: Msg = {}): Msg {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...extra };
}

/** A ClusterLoadAssignment with one locality. */
export function cla(clusterName: string, endpoints: Array<[string, number]>, extra: Msg = {}): Msg {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        locality: { region: 'r1', zone: 'z1' },
        lb_endpoints: endpoints.map(([address, port]) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } })),
        ...extra,
      },
    ],
  };
}
