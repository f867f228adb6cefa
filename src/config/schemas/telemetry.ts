/**
 * telemetry.istio.io Telemetry `spec` (istio/api telemetry/v1/telemetry.proto): the parts a
 * proxyless mesh acts on — `tracing[]` (`randomSamplingPercentage`, `customTags`,
 * `disableSpanReporting`), `accessLogging[]` (`disabled`, `filter.expression`), each with
 * `match.mode`, and `metrics[].overrides[]` (`disabled`, `tagOverrides`) for the standard
 * metrics. A filter expression must be in the CEL subset the clients run
 * (telemetry/access-log-filter.ts): refused here, with its position, rather than NACKed by every
 * client. Providers are accepted: a workload has one tracer (its OTel SDK), one access log sink
 * and one metrics registry, so every provider name means that one.
 */
import { compileAccessLogFilter } from '../../telemetry/access-log-filter.js';
import { isMeshError } from '../../errors.js';
import { arrayOf, bool, enumOf, mapOf, obj, percentNumber, report, str, type Schema } from '../schema.js';
import { workloadSelector } from './common.js';
import { METRIC_KINDS } from '../../telemetry/metrics-policy.js';

const match = obj({ fields: { mode: enumOf(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']) } });
const providers = arrayOf(obj({ fields: { name: str({ nonEmpty: true }) } }));
/** Istio's customTags: a literal, an environment variable or a request header, each put on the workload's spans. */
const customTag = obj({ oneOf: [{ fields: ['literal', 'environment', 'header'], required: true }], fields: {
  literal: obj({ fields: { value: str() } }),
  environment: obj({ fields: { name: str(), defaultValue: str() } }),
  header: obj({ fields: { name: str(), defaultValue: str() } }),
} });

const tracing = obj({
  fields: {
    match,
    providers,
    randomSamplingPercentage: percentNumber(),
    disableSpanReporting: bool(),
    customTags: mapOf(customTag),
    useRequestIdForTraceSampling: bool(),
  },
  unsupported: {
    useRequestIdForTraceSampling: 'the sampling decision is random (or the caller\'s), not derived from the x-request-id UUID',
  },
});

const expression = str({
  nonEmpty: true,
  check: (v) => {
    try {
      compileAccessLogFilter(v);
      return undefined;
    } catch (err) {
      if (isMeshError(err)) return err.message;
      throw err;
    }
  },
});

const accessLogging = obj({
  fields: { match, providers, disabled: bool(), filter: obj({ fields: { expression } }) },
});

/** Overrides of the standard metrics: `disabled` and `tagOverrides` (REMOVE; UPSERT of string literals). */
const metrics = obj({
  fields: {
    providers,
    reportingInterval: str(),
    overrides: arrayOf(obj({ fields: {
      match: obj({ fields: { metric: enumOf(['ALL_METRICS', ...METRIC_KINDS]), customMetric: str(), mode: enumOf(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']) }, unsupported: { customMetric: 'custom metrics are not defined here; only Istio\'s standard metrics are reported' } }),
      disabled: bool(),
      tagOverrides: mapOf(obj({ fields: { operation: enumOf(['UPSERT', 'REMOVE']), value: str() } })),
    } })),
  },
  unsupported: { reportingInterval: 'the Prometheus endpoint is scraped, not pushed; OpenTelemetry metrics follow the SDK\'s reader interval' },
});

/** Telemetry `spec`. */
export const telemetrySpec: Schema = obj({
  fields: {
    selector: workloadSelector,
    tracing: arrayOf(tracing),
    accessLogging: arrayOf(accessLogging),
    metrics: arrayOf(metrics),
  },
  check: (v, ctx, path) => {
    // Istio warns on several tracing entries ("multiple tracing is not currently supported") but
    // merges them per mode (pilot/pkg/model/telemetry.go Tracing): one CLIENT and one SERVER
    // entry is the common case and is fine; two covering the same side override field by field.
    const list = (v.tracing as Array<{ match?: { mode?: string } }> | undefined) ?? [];
    const modes = list.map((t) => t.match?.mode ?? 'CLIENT_AND_SERVER');
    const both = (side: string) => modes.filter((m) => m === side || m === 'CLIENT_AND_SERVER').length > 1;
    if (both('CLIENT') || both('SERVER')) report(ctx, `${path}.tracing`, 'MESHLET_ERR_CONFIG_UNSUPPORTED', 'several tracing entries cover the same side: later ones override what they set (one provider per side)', { severity: 'warning' });
  },
});
