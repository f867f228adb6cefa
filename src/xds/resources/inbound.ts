/**
 * LDS, server side: a workload's inbound listener as Istio's proxyless generator emits it
 * (`pilot/pkg/networking/grpcgen/lds.go` buildInboundListeners / buildInboundFilterChains): a
 * socket address, and filter chains that each hold one HttpConnectionManager with an inline
 * route configuration and RBAC filters before the router. A chain with a DownstreamTlsContext
 * transport socket is the mTLS chain; PERMISSIVE is a TLS and a plaintext chain told apart by
 * `filter_chain_match.transport_protocol` (Envoy's `tls` / `raw_buffer`), as Istio's sidecar
 * listeners do. Validated as gRFC A36 asks of a server (one HCM per chain, router last).
 */
import { TYPE_URL } from '../type-urls.js';
import type { InboundChainModel, InboundListenerModel, InboundMtlsMode, JwtAuthnModel, RbacFilterModel } from '../../core/model/index.js';
import { decodeAny } from './common.js';
import { filterConfig } from './filters.js';
import type { AnyProto, HcmProto } from './proto-types.js';
import { rbacFilterModel, type RbacProto } from './rbac.js';

/** What a proxyless gRPC server asks LDS for (grpc-js-xds `server_listener_resource_name_template`). */
export const INBOUND_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** The name of the inbound listener for a listening address, as Istio formats it (`[::]:8080`). */
export function inboundListenerName(host: string, port: number): string {
  return `${INBOUND_LISTENER_PREFIX}${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Listener fields only a socket (server) listener uses. */
export interface SocketListenerProto {
  name?: string;
  address?: { address?: string; socket_address?: { address?: string; port_specifier?: string; port_value?: number } };
  filter_chains?: FilterChainProto[];
  default_filter_chain?: FilterChainProto;
  api_listener?: object;
}
interface FilterChainProto {
  name?: string;
  filter_chain_match?: { transport_protocol?: string; destination_port?: { value?: number }; server_names?: string[]; application_protocols?: string[] };
  filters?: Array<{ name?: string; config_type?: string; typed_config?: AnyProto }>;
  transport_socket?: { name?: string; config_type?: string; typed_config?: AnyProto };
}
interface DownstreamTlsProto { require_client_certificate?: { value?: boolean } }

function chainModel(fc: FilterChainProto, path: string, errors: string[]): InboundChainModel | undefined {
  const before = errors.length;
  const match = fc.filter_chain_match ?? {};
  const transportProtocol = match.transport_protocol ?? '';
  if (transportProtocol !== '' && transportProtocol !== 'tls' && transportProtocol !== 'raw_buffer') {
    errors.push(`${path}.filter_chain_match.transport_protocol: unknown protocol ${transportProtocol}`);
  }
  if (match.server_names?.length || match.application_protocols?.length) errors.push(`${path}.filter_chain_match: server_names and application_protocols are not supported`);
  let tls = false;
  let requireClientCertificate = false;
  if (fc.transport_socket) {
    const t = decodeAny<DownstreamTlsProto>(fc.transport_socket.typed_config, TYPE_URL.downstreamTlsContext, `${path}.transport_socket.typed_config`, errors);
    tls = t !== undefined;
    requireClientCertificate = t?.require_client_certificate?.value === true;
  }
  if (transportProtocol === 'tls' && !tls) errors.push(`${path}: transport_protocol tls without a DownstreamTlsContext`);
  if (transportProtocol === 'raw_buffer' && tls) errors.push(`${path}: transport_protocol raw_buffer with a DownstreamTlsContext`);
  const filters = fc.filters ?? [];
  if (filters.length !== 1) errors.push(`${path}.filters: ${filters.length} filters (exactly one HttpConnectionManager expected)`);
  const hcm = filters[0] ? decodeAny<HcmProto>(filters[0].typed_config, TYPE_URL.httpConnectionManager, `${path}.filters[0].typed_config`, errors) : undefined;
  const rbac: RbacFilterModel[] = [];
  let jwt: JwtAuthnModel | undefined;
  if (hcm) {
    const hp = `${path}.filters[0].typed_config`;
    if (hcm.route_specifier !== 'route_config') errors.push(`${hp}: route_config must be inline on an inbound listener`);
    const list = hcm.http_filters ?? [];
    if (list.length === 0 || list[list.length - 1]?.typed_config?.type_url !== TYPE_URL.router) errors.push(`${hp}.http_filters: the router filter must be last`);
    const names = new Set<string>();
    for (const [i, f] of list.entries()) {
      const fp = `${hp}.http_filters[${i}]`;
      const name = f.name ?? '';
      if (name === '' || names.has(name)) errors.push(`${fp}.name: ${name === '' ? 'empty' : `duplicate filter name ${name}`}`);
      names.add(name);
      if (f.disabled) continue;
      if (f.typed_config?.type_url === TYPE_URL.rbac) {
        const msg = decodeAny<RbacProto>(f.typed_config, TYPE_URL.rbac, `${fp}.typed_config`, errors);
        const model = msg ? rbacFilterModel(name, msg, `${fp}.typed_config`, errors) : undefined;
        if (model) rbac.push(model);
      } else {
        const config = filterConfig(f.typed_config, `${fp}.typed_config`, errors, f.is_optional === true);
        if (config?.kind === 'extension' && config.typeUrl === TYPE_URL.jwtAuthn) jwt = config.value as JwtAuthnModel;
      }
    }
  }
  if (errors.length > before) return undefined;
  return { name: fc.name ?? '', tls, requireClientCertificate, transportProtocol, rbac, ...(jwt ? { jwt } : {}) };
}

/** The mTLS mode the chains express (see the file comment). */
function modeOf(chains: readonly InboundChainModel[]): InboundMtlsMode {
  const mtls = chains.some((c) => c.tls && c.requireClientCertificate);
  const plain = chains.some((c) => !c.tls);
  return mtls && plain ? 'PERMISSIVE' : mtls ? 'STRICT' : 'DISABLE';
}

/**
 * Validates an inbound listener; errors carry field paths (`filter_chains[1].filters[0]…`).
 *
 * @example
 * ```ts
 * const errors: string[] = [];
 * const inbound = inboundListenerModel(listenerProto, errors); // { port: 8080, mode: 'STRICT', chains }
 * ```
 */
export function inboundListenerModel(l: SocketListenerProto, errors: string[]): InboundListenerModel | undefined {
  const before = errors.length;
  const sa = l.address?.socket_address;
  if (!sa) errors.push('address.socket_address: unset');
  const port = sa?.port_value ?? 0;
  if (sa && (port < 1 || port > 65535)) errors.push(`address.socket_address.port_value: ${port} is not in [1, 65535]`);
  if (l.default_filter_chain) errors.push('default_filter_chain: not supported');
  const list = l.filter_chains ?? [];
  if (list.length === 0) errors.push('filter_chains: empty');
  if (list.length > 8) errors.push(`filter_chains: ${list.length} chains (at most 8)`);
  const chains = list.slice(0, 8).map((fc, i) => chainModel(fc, `filter_chains[${i}]`, errors));
  const protocols = chains.map((c) => c?.transportProtocol ?? '');
  if (new Set(protocols).size !== protocols.length) errors.push('filter_chains: two chains with the same filter_chain_match');
  if (errors.length > before) return undefined;
  const valid = chains as InboundChainModel[];
  return { address: sa?.address ?? '', port, chains: valid, mode: modeOf(valid) };
}
