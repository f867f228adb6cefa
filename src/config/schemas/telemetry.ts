/**
 * telemetry.istio.io Telemetry `spec` (istio/api telemetry/v1/telemetry.proto): the parts a
 * proxyless mesh acts on — `tracing[].randomSamplingPercentage`, `accessLogging[]` (`disabled`,
 * `filter.expression`, `providers`), each with `match.mode` — plus `metrics`, accepted as Istio
 * writes it (the standard metrics are always on here). A filter expression must be in the CEL
 * subset the clients run (telemetry/access-log-filter.ts): refused here, with its position,
 * rather than NACKed by every client.
 */
import { compileAccessLogFilter } from '../../telemetry/access-log-filter.js';
import { isMeshError } from '../../errors.js';
import { arrayOf, bool, enumOf, mapOf, obj, percentNumber, report, str, type Schema } from '../schema.js';
import { workloadSelector } from './common.js';

const match = obj({ fields: { mode: enumOf(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']) } });
const providers = arrayOf(obj({ fields: { name: str({ nonEmpty: true }) } }));
/** Istio's customTags (literal, environment, header): accepted, not applied. */
const customTag = obj({ fields: {
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

/** Accepted as Istio writes it; meshlet's standard metrics do not change with it. */
const metrics = obj({
  fields: {
    providers,
    reportingInterval: str(),
    overrides: arrayOf(obj({ fields: {
      match: obj({ fields: { metric: str(), customMetric: str(), mode: enumOf(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']) } }),
      disabled: bool(),
      tagOverrides: mapOf(obj({ fields: { operation: enumOf(['UPSERT', 'REMOVE']), value: str() } })),
    } })),
  },
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
    const list = (v.tracing as Array<Record<string, unknown>> | undefined) ?? [];
    if (list.length > 1) report(ctx, `${path}.tracing`, 'MESHLET_ERR_CONFIG_SCHEMA', 'at most one tracing entry is supported (one provider)');
  },
});
