/**
 * HTTP filter configs: the top-level http_filters of an HttpConnectionManager and the
 * typed_per_filter_config overrides on virtual hosts, routes and weighted clusters.
 * meshlet implements the router and the fault filter; any other filter is an error unless the
 * server marked it optional (Envoy's and gRFC A39's rule).
 */
import { TYPE_URL } from '../type-urls.js';
import type { FaultModel, FilterConfigModel, Fraction } from '../../core/model/index.js';
import { decodeAny, durationMs, fraction } from './common.js';
import type { AnyProto, FilterConfigWrapperProto, HttpFaultProto } from './proto-types.js';
import { jwtAuthnDecoder } from './jwt-authn.js';

const FILTER_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

const ZERO: Fraction = { numerator: 0, denominator: 100 };

/** Validates a decoded HTTPFault into a {@link FaultModel}. */
export function faultModel(msg: HttpFaultProto, path: string, errors: string[]): FaultModel {
  const fault: { -readonly [K in keyof FaultModel]: FaultModel[K] } = {};
  const { delay, abort } = msg;
  if (delay) {
    // Envoy reads an unset percentage as the default FractionalPercent: 0 %.
    const fr = fraction(delay.percentage, `${path}.delay.percentage`, errors, ZERO);
    if (delay.fault_delay_secifier /* sic, the proto's spelling */ === 'fixed_delay') {
      const delayMs = durationMs(delay.fixed_delay, `${path}.delay.fixed_delay`, errors);
      if (delayMs !== undefined) fault.delay = { kind: 'fixed', delayMs, fraction: fr };
    } else if (delay.fault_delay_secifier === 'header_delay') {
      fault.delay = { kind: 'header', fraction: fr };
    } else {
      errors.push(`${path}.delay: neither fixed_delay nor header_delay set`);
    }
  }
  if (abort) {
    const fr = fraction(abort.percentage, `${path}.abort.percentage`, errors, ZERO);
    switch (abort.error_type) {
      case 'http_status': {
        const status = abort.http_status ?? 0;
        if (status < 200 || status >= 600) errors.push(`${path}.abort.http_status: ${status} is not in [200, 600)`);
        else fault.abort = { kind: 'http', httpStatus: status, fraction: fr };
        break;
      }
      case 'grpc_status':
        fault.abort = { kind: 'grpc', grpcStatus: abort.grpc_status ?? 0, fraction: fr };
        break;
      case 'header_abort':
        fault.abort = { kind: 'header', fraction: fr };
        break;
      default:
        errors.push(`${path}.abort: no error_type set`);
    }
  }
  if (msg.max_active_faults) fault.maxActiveFaults = msg.max_active_faults.value ?? 0;
  return fault;
}

/**
 * The config factory of one HTTP filter type (Envoy's `config.cc`, grpc-js-xds's
 * `registerHttpFilter`): decodes and validates the filter's typed config into its model, with
 * errors carrying field paths. The runtime that acts on the model is in src/core/filters.
 */
export interface HttpFilterDecoder {
  readonly typeUrl: string;
  /** The filter's config (top-level, or a per-route override when `override`); undefined when invalid. */
  decode(any: AnyProto, path: string, errors: string[], override: boolean): FilterConfigModel | undefined;
}

/**
 * HTTP filter decoders keyed by type URL.
 *
 * @example
 * ```ts
 * const decoders = defaultHttpFilterDecoders().register({ typeUrl: MY_URL, decode: (any, path, errors) => ({ kind: 'mine', typeUrl: MY_URL }) });
 * ```
 */
export class HttpFilterDecoders {
  private readonly byUrl = new Map<string, HttpFilterDecoder>();

  /** Adds (or replaces) the decoder of one type URL. */
  register(decoder: HttpFilterDecoder): this {
    this.byUrl.set(decoder.typeUrl, decoder);
    return this;
  }

  get(typeUrl: string): HttpFilterDecoder | undefined {
    return this.byUrl.get(typeUrl);
  }
}

const routerDecoder: HttpFilterDecoder = { typeUrl: TYPE_URL.router, decode: () => ({ kind: 'router', typeUrl: TYPE_URL.router }) };

const faultDecoder: HttpFilterDecoder = {
  typeUrl: TYPE_URL.fault,
  decode(any, path, errors) {
    const before = errors.length;
    const msg = decodeAny<HttpFaultProto>(any, TYPE_URL.fault, path, errors);
    if (!msg) return undefined;
    const fault = faultModel(msg, path, errors);
    return errors.length === before ? { kind: 'fault', typeUrl: TYPE_URL.fault, fault } : undefined;
  },
};

/** The filters meshlet implements: the router, fault, and jwt_authn (RequestAuthentication). */
export function defaultHttpFilterDecoders(): HttpFilterDecoders {
  return new HttpFilterDecoders().register(routerDecoder).register(faultDecoder).register(jwtAuthnDecoder);
}

const DEFAULT_DECODERS = defaultHttpFilterDecoders();

/**
 * Parses a filter's typed config (top-level or override). Returns undefined when the config is
 * invalid (errors pushed) or, for an optional unknown filter, a `kind: 'unsupported'` entry.
 */
export function filterConfig(any: AnyProto | undefined, path: string, errors: string[], optional = false, decoders: HttpFilterDecoders = DEFAULT_DECODERS, override = false): FilterConfigModel | undefined {
  const typeUrl = any?.type_url ?? '';
  if (!any || typeUrl === '') {
    errors.push(`${path}: missing typed config`);
    return undefined;
  }
  const decoder = decoders.get(typeUrl);
  if (decoder) return decoder.decode(any, path, errors, override);
  if (optional) return { kind: 'unsupported', typeUrl, optional: true };
  errors.push(`${path}: unsupported filter type ${typeUrl} (not marked optional)`);
  return undefined;
}

/**
 * Parses a typed_per_filter_config map. Values may be wrapped in envoy.config.route.v3.FilterConfig
 * (`is_optional`, `disabled`); a disabled override is dropped.
 */
export function perFilterConfigs(map: Record<string, AnyProto> | undefined, path: string, errors: string[]): Record<string, FilterConfigModel> {
  const out: Record<string, FilterConfigModel> = {};
  for (const [name, any] of Object.entries(map ?? {})) {
    const p = `${path}[${name}]`;
    let inner: AnyProto | undefined = any;
    let optional = false;
    if (any.type_url === FILTER_CONFIG_TYPE_URL) {
      const wrapper = decodeAny<FilterConfigWrapperProto>(any, FILTER_CONFIG_TYPE_URL, p, errors);
      if (!wrapper || wrapper.disabled) continue;
      inner = wrapper.config;
      optional = wrapper.is_optional === true;
    }
    const config = filterConfig(inner, p, errors, optional, DEFAULT_DECODERS, true);
    if (config) out[name] = config;
  }
  return out;
}

/** The fault override among per-filter configs: the one whose Any is an HTTPFault, whatever its key. */
export function faultOf(configs: Readonly<Record<string, FilterConfigModel>>): FaultModel | undefined {
  const byName = configs['envoy.filters.http.fault'];
  if (byName?.kind === 'fault') return byName.fault;
  for (const config of Object.values(configs)) if (config.kind === 'fault') return config.fault;
  return undefined;
}
