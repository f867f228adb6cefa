/**
 * LDS: a Listener must be an api_listener holding an HttpConnectionManager (gRPC proxyless
 * style, which is what our control server and Istio emit for clients), whose routes come from
 * RDS over ADS or inline, and whose http_filters end with the router.
 */
import { TYPE_URL } from '../type-urls.js';
import type { HttpFilterModel, ListenerModel, ValidationResult } from '../../core/model/index.js';
import { decodeAny, decodeMessage, durationMs, metadataJson } from './common.js';
import { filterConfig } from './filters.js';
import type { HcmProto, ListenerProto } from './proto-types.js';
import { routeConfigModel } from './route.js';
import { inboundListenerModel, type SocketListenerProto } from './inbound.js';
import { hcmTelemetry, type HcmTelemetryProto } from './hcm-telemetry.js';
import { isTcpProxyListener, tcpListenerModel, type TcpListenerProto } from './tcp-listener.js';

/** The telemetry of an inbound listener: its first chain's HCM (the control server sets the same on every chain). */
function inboundTelemetry(l: SocketListenerProto, errors: string[]) {
  const any = l.filter_chains?.[0]?.filters?.[0]?.typed_config;
  if (any?.type_url !== TYPE_URL.httpConnectionManager) return undefined;
  const hcm = decodeAny<HcmTelemetryProto>(any, TYPE_URL.httpConnectionManager, 'filter_chains[0].filters[0].typed_config', errors);
  return hcm ? hcmTelemetry(hcm, 'filter_chains[0].filters[0].typed_config', errors, telemetryMeta(l as ListenerProto)) : undefined;
}

/** The listener's `meshlet.telemetry` metadata (what the HCM cannot say, see control/translate/telemetry.ts). */
function telemetryMeta(l: ListenerProto) {
  return l.metadata?.filter_metadata?.['meshlet.telemetry'] ? metadataJson(l.metadata)['meshlet.telemetry'] : undefined;
}

const HCM_PATH = 'api_listener.api_listener';
const INBOUND_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

function httpFilters(hcm: HcmProto, errors: string[]): HttpFilterModel[] {
  const list = hcm.http_filters ?? [];
  const out: HttpFilterModel[] = [];
  const names = new Set<string>();
  if (list.length === 0) errors.push(`${HCM_PATH}.http_filters: empty (the router filter is required)`);
  for (const [i, f] of list.entries()) {
    const p = `${HCM_PATH}.http_filters[${i}]`;
    const name = f.name ?? '';
    if (name === '') errors.push(`${p}.name: empty`);
    else if (names.has(name)) errors.push(`${p}.name: duplicate filter name ${name}`);
    names.add(name);
    if (f.config_type !== undefined && f.config_type !== 'typed_config') {
      errors.push(`${p}.${f.config_type}: not supported (use typed_config)`);
      continue;
    }
    const typeUrl = f.typed_config?.type_url ?? '';
    const isLast = i === list.length - 1;
    if (typeUrl === TYPE_URL.router && !isLast) errors.push(`${p}: router filter is not last`);
    if (isLast && typeUrl !== TYPE_URL.router) errors.push(`${p}: last filter is ${typeUrl || 'untyped'}, not the router`);
    const config = filterConfig(f.typed_config, `${p}.typed_config`, errors, f.is_optional === true);
    if (config && !f.disabled) out.push({ name, typeUrl, config });
  }
  return out;
}

/**
 * Decodes a serialized envoy.config.listener.v3.Listener.
 *
 * @example
 * ```ts
 * const listener = decodeListener(any.value);
 * ```
 */
export function decodeListener(bytes: Uint8Array): ListenerProto {
  return decodeMessage<ListenerProto>('envoy.config.listener.v3.Listener', bytes);
}

/**
 * Validates a decoded Listener into a {@link ListenerModel}, collecting every error with its
 * field path (`api_listener.api_listener.rds.config_source: …`).
 *
 * @example
 * ```ts
 * const result = validateListener(decodeListener(bytes));
 * if (result.ok) watchRoutes(result.model.routeConfigName);
 * ```
 */
export function validateListener(l: ListenerProto): ValidationResult<ListenerModel> {
  const errors: string[] = [];
  const name = l.name ?? '';
  const fail = (): ValidationResult<ListenerModel> => ({ ok: false, ...(name ? { name } : {}), errors });
  if (name === '') errors.push('name: empty');
  if (!l.api_listener && name.startsWith(INBOUND_PREFIX)) {
    const inbound = inboundListenerModel(l as SocketListenerProto, errors);
    if (!inbound) return fail();
    const telemetry = inboundTelemetry(l as SocketListenerProto, errors);
    if (errors.length > 0) return fail();
    return { ok: true, name, model: { name, httpFilters: [], inbound, ...(telemetry ? { telemetry } : {}) } };
  }
  if (isTcpProxyListener(l as TcpListenerProto)) {
    const tcp = tcpListenerModel(l as TcpListenerProto, errors);
    if (!tcp || errors.length > 0) return fail();
    const metadata = l.metadata?.filter_metadata && Object.keys(l.metadata.filter_metadata).length > 0 ? { metadata: metadataJson(l.metadata) } : {};
    return { ok: true, name, model: { name, httpFilters: [], tcp, ...metadata } };
  }
  if (!l.api_listener?.api_listener) {
    errors.push(l.address || l.filter_chains ? 'api_listener: unset (socket listeners are not supported by a client)' : 'api_listener: unset');
    return fail();
  }
  const hcm = decodeAny<HcmProto>(l.api_listener.api_listener, TYPE_URL.httpConnectionManager, HCM_PATH, errors);
  if (!hcm) return fail();
  const filters = httpFilters(hcm, errors);
  let routeConfigName: string | undefined;
  let routeConfig;
  switch (hcm.route_specifier) {
    case 'rds': {
      const source = hcm.rds?.config_source;
      if (!source?.ads && !source?.self) errors.push(`${HCM_PATH}.rds.config_source: neither ads nor self set`);
      routeConfigName = hcm.rds?.route_config_name ?? '';
      if (routeConfigName === '') errors.push(`${HCM_PATH}.rds.route_config_name: empty`);
      break;
    }
    case 'route_config':
      routeConfig = routeConfigModel(hcm.route_config ?? {}, errors, `${HCM_PATH}.route_config.`);
      break;
    case undefined:
      errors.push(`${HCM_PATH}: neither rds nor route_config set`);
      break;
    default:
      errors.push(`${HCM_PATH}.${hcm.route_specifier}: not supported`);
  }
  const maxStreamDurationMs = durationMs(
    hcm.common_http_protocol_options?.max_stream_duration,
    `${HCM_PATH}.common_http_protocol_options.max_stream_duration`,
    errors,
  );
  const telemetry = hcmTelemetry(hcm as HcmTelemetryProto, HCM_PATH, errors, telemetryMeta(l));
  if (errors.length > 0) return fail();
  const model: ListenerModel = {
    ...(telemetry ? { telemetry } : {}),
    name,
    ...(routeConfigName !== undefined ? { routeConfigName } : {}),
    ...(routeConfig ? { routeConfig } : {}),
    httpFilters: filters,
    ...(maxStreamDurationMs !== undefined ? { maxStreamDurationMs } : {}),
    ...(l.metadata?.filter_metadata && Object.keys(l.metadata.filter_metadata).length > 0 ? { metadata: metadataJson(l.metadata) } : {}),
  };
  return { ok: true, name, model };
}
