/**
 * Istio's standard metrics through the OpenTelemetry metrics API, for apps that run an SDK
 * (`@opentelemetry/sdk-node` with an OTLP or Prometheus exporter). meshlet imports only
 * `@opentelemetry/api` (an optional peer dependency), and only when asked
 * (`createMesh({ telemetry: { otel: true } })`); without a registered SDK the API's meter is a
 * no-op. Each series' attributes object is built once, when the series is created, and passed
 * on every record (the API has no bound instruments; the SDK keys its own storage by them).
 *
 * Names follow OpenTelemetry's Prometheus mapping: counters drop `_total` (the exporter or the
 * collector adds it back), so `istio_requests` arrives in Prometheus as `istio_requests_total`;
 * the duration histogram is `istio_request_duration_milliseconds` (unit `ms`) with Istio's
 * (Envoy's default) bucket boundaries as advice.
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { meshError } from '../errors.js';
import { MESHLET_VERSION } from '../xds/node.js';

/** What `getMeter` needs: the OTel API's `metrics` object or any MeterProvider. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

/** One series' instruments and its attributes, bound once. */
export class OtelSeries {
  /** @internal */
  constructor(private readonly m: OtelMetrics, readonly attributes: Attributes) {}

  record(durationMs: number, requestBytes: number, responseBytes: number): void {
    const m = this.m;
    const a = this.attributes;
    m.requests.add(1, a);
    m.duration.record(durationMs, a);
    m.requestBytes.record(requestBytes, a);
    m.responseBytes.record(responseBytes, a);
  }

  messages(request: number, response: number): void {
    if (request > 0) this.m.requestMessages.add(request, this.attributes);
    if (response > 0) this.m.responseMessages.add(response, this.attributes);
  }
}

/**
 * The instruments on the `meshlet` meter.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * const otel = new OtelMetrics(metrics, ISTIO_DEFAULT_BUCKETS);
 * otel.series(HTTP_LABELS, values).record(3.2, 0, 295);
 * ```
 */
export class OtelMetrics {
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly requestBytes: Histogram;
  readonly responseBytes: Histogram;
  readonly requestMessages: Counter;
  readonly responseMessages: Counter;

  constructor(provider: MeterProviderLike, buckets: readonly number[]) {
    const meter = provider.getMeter('meshlet', MESHLET_VERSION) as Meter;
    this.requests = meter.createCounter('istio_requests', { description: 'Requests handled, by reporter (Istio standard metric).' });
    this.duration = meter.createHistogram('istio_request_duration_milliseconds', { description: 'Request duration.', unit: 'ms', advice: { explicitBucketBoundaries: [...buckets] } });
    // Istio's stats filter uses Envoy's default buckets for the sizes too.
    this.requestBytes = meter.createHistogram('istio_request_bytes', { description: 'Request body size.', unit: 'By', advice: { explicitBucketBoundaries: [...buckets] } });
    this.responseBytes = meter.createHistogram('istio_response_bytes', { description: 'Response body size.', unit: 'By', advice: { explicitBucketBoundaries: [...buckets] } });
    this.requestMessages = meter.createCounter('istio_request_messages', { description: 'gRPC messages sent by the client.' });
    this.responseMessages = meter.createCounter('istio_response_messages', { description: 'gRPC messages sent by the server.' });
  }

  /** The series of one label set (names and values in the same order). */
  series(names: readonly string[], values: readonly string[]): OtelSeries {
    const attributes: Attributes = {};
    for (let i = 0; i < names.length; i++) attributes[names[i]!] = values[i] ?? '';
    return new OtelSeries(this, Object.freeze(attributes));
  }
}

/**
 * Loads `@opentelemetry/api` and creates the instruments on its global meter provider (or on
 * `provider`). Rejects with MESHLET_ERR_CONFIG when the package is not installed.
 *
 * @example
 * ```ts
 * const otel = await loadOtelMetrics(ISTIO_DEFAULT_BUCKETS);
 * ```
 */
export async function loadOtelMetrics(buckets: readonly number[], provider?: MeterProviderLike): Promise<OtelMetrics> {
  if (provider) return new OtelMetrics(provider, buckets);
  let api: typeof import('@opentelemetry/api');
  try {
    api = await import('@opentelemetry/api');
  } catch (err) {
    throw meshError('MESHLET_ERR_CONFIG', 'telemetry.otel needs the @opentelemetry/api package (npm install @opentelemetry/api, plus an SDK such as @opentelemetry/sdk-node)', { cause: err });
  }
  return new OtelMetrics(api.metrics, buckets);
}
