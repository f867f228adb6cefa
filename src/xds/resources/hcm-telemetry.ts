/**
 * The telemetry an HttpConnectionManager carries, as Istio sets it from the Telemetry resource
 * (`pilot/pkg/networking/core/tracing.go` configureTracingFromTelemetry: `tracing.random_sampling`;
 * `pilot/pkg/model/telemetry_logging.go`: `access_log` entries, a CEL `extension_filter` for
 * `filter.expression`). Unknown access loggers are skipped (a client runs the stdout/file ones:
 * it writes to its own sink); a bad filter or percentage is a validation error (NACK).
 */
import type { CustomTagModel, ListenerTelemetryModel } from '../../core/model/listener.js';
import type { JsonObject } from '../../internal/json.js';
import { decodeAny } from './common.js';
import type { AnyProto } from './proto-types.js';

/** The HCM fields read here. */
export interface HcmTelemetryProto {
  tracing?: {
    random_sampling?: { value?: number };
    client_sampling?: { value?: number };
    overall_sampling?: { value?: number };
    custom_tags?: Array<{
      tag?: string;
      type?: string;
      literal?: { value?: string };
      environment?: { name?: string; default_value?: string };
      request_header?: { name?: string; default_value?: string };
    }>;
  };
  access_log?: Array<{
    name?: string;
    config_type?: string;
    typed_config?: AnyProto;
    filter?: { filter_specifier?: string; extension_filter?: { name?: string; typed_config?: AnyProto } };
  }>;
}

const CEL_FILTER = 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';
/** Loggers whose lines a client writes to its own sink (Istio's `envoy` provider uses the file logger on /dev/stdout). */
const LOGGERS = new Set([
  'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
]);

/**
 * The telemetry of one HCM; undefined when it sets none.
 *
 * @example
 * ```ts
 * hcmTelemetry(hcm, 'api_listener.api_listener', errors); // { samplingPercent: 10, accessLogs: [{ filter: 'response.code >= 400' }] }
 * ```
 */
export function hcmTelemetry(hcm: HcmTelemetryProto, path: string, errors: string[], meta?: JsonObject): ListenerTelemetryModel | undefined {
  let samplingPercent: number | undefined;
  const customTags: CustomTagModel[] = [];
  if (hcm.tracing) {
    const v = hcm.tracing.random_sampling?.value ?? 100; // Envoy: unset random_sampling is 100%
    if (!(v >= 0 && v <= 100)) errors.push(`${path}.tracing.random_sampling.value: ${v} is not in [0, 100]`);
    else samplingPercent = v;
    for (const [i, t] of (hcm.tracing.custom_tags ?? []).slice(0, MAX_CUSTOM_TAGS).entries()) {
      const tag = t.tag ?? '';
      const p = `${path}.tracing.custom_tags[${i}]`;
      if (tag === '' || tag.length > 256) errors.push(`${p}.tag: empty or longer than 256`);
      else if (t.literal) customTags.push({ tag, kind: 'literal', value: bounded(t.literal.value) });
      else if (t.environment) customTags.push({ tag, kind: 'environment', name: t.environment.name ?? '', defaultValue: bounded(t.environment.default_value) });
      else if (t.request_header) customTags.push({ tag, kind: 'header', name: (t.request_header.name ?? '').toLowerCase(), defaultValue: bounded(t.request_header.default_value) });
      // metadata and formatter tags have nothing to read in a client: skipped, as unknown loggers are
    }
  }
  const side = meta?.['side'] === 'client' || meta?.['side'] === 'server' ? meta['side'] : undefined;
  const metrics = Array.isArray(meta?.['metrics']) ? (meta['metrics'] as unknown[]).filter((m): m is JsonObject => typeof m === 'object' && m !== null && !Array.isArray(m)).slice(0, 64) : undefined;
  const logs: Array<{ filter?: string }> = [];
  for (const [i, a] of (hcm.access_log ?? []).slice(0, 16).entries()) {
    const p = `${path}.access_log[${i}]`;
    if (!a.typed_config || !LOGGERS.has(a.typed_config.type_url ?? '')) continue;
    const f = a.filter;
    if (f?.filter_specifier !== undefined && f.filter_specifier !== 'extension_filter') {
      errors.push(`${p}.filter.${f.filter_specifier}: not supported (use a CEL extension_filter)`);
      continue;
    }
    if (f?.extension_filter) {
      const cel = decodeAny<{ expression?: string }>(f.extension_filter.typed_config, CEL_FILTER, `${p}.filter.extension_filter.typed_config`, errors);
      if (cel === undefined) continue;
      logs.push(cel.expression ? { filter: cel.expression } : {});
    } else logs.push({});
  }
  // Istio's Telemetry always comes with a tracing section here (see control/translate/telemetry.ts),
  // so an HCM with neither says nothing (no Telemetry applies), which is not "logs disabled".
  // The `meshlet.telemetry` metadata says a Telemetry applies even when the HCM sets nothing.
  if (samplingPercent === undefined && (hcm.access_log ?? []).length === 0 && side === undefined) return undefined;
  return {
    ...(samplingPercent !== undefined ? { samplingPercent } : {}),
    accessLogs: logs,
    ...(customTags.length > 0 ? { customTags } : {}),
    ...(side !== undefined ? { side } : {}),
    ...(meta?.['disableSpanReporting'] === true ? { disableSpanReporting: true } : {}),
    ...(metrics !== undefined && metrics.length > 0 ? { metrics } : {}),
  };
}

const MAX_CUSTOM_TAGS = 64;
const bounded = (v: string | undefined): string => (v ?? '').slice(0, 1024);
