/**
 * The telemetry an HttpConnectionManager carries, as Istio sets it from the Telemetry resource
 * (`pilot/pkg/networking/core/tracing.go` configureTracingFromTelemetry: `tracing.random_sampling`;
 * `pilot/pkg/model/telemetry_logging.go`: `access_log` entries, a CEL `extension_filter` for
 * `filter.expression`). Unknown access loggers are skipped (a client runs the stdout/file ones:
 * it writes to its own sink); a bad filter or percentage is a validation error (NACK).
 */
import type { ListenerTelemetryModel } from '../../core/model/listener.js';
import { decodeAny } from './common.js';
import type { AnyProto } from './proto-types.js';

/** The HCM fields read here. */
export interface HcmTelemetryProto {
  tracing?: { random_sampling?: { value?: number }; client_sampling?: { value?: number }; overall_sampling?: { value?: number } };
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
export function hcmTelemetry(hcm: HcmTelemetryProto, path: string, errors: string[]): ListenerTelemetryModel | undefined {
  let samplingPercent: number | undefined;
  if (hcm.tracing) {
    const v = hcm.tracing.random_sampling?.value ?? 100; // Envoy: unset random_sampling is 100%
    if (!(v >= 0 && v <= 100)) errors.push(`${path}.tracing.random_sampling.value: ${v} is not in [0, 100]`);
    else samplingPercent = v;
  }
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
  if (samplingPercent === undefined && (hcm.access_log ?? []).length === 0) return undefined;
  return { ...(samplingPercent !== undefined ? { samplingPercent } : {}), accessLogs: logs };
}
