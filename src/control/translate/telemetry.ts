/**
 * The Telemetry resource (telemetry.istio.io/v1) for one workload, as the listener fields Istio
 * derives from it, per side: SERVER settings go into the workload's inbound listeners, CLIENT
 * settings into the outbound (API) listeners the workload is sent (an Envoy sidecar's outbound
 * HCMs carry its client-side tracing and logging the same way: pilot/pkg/networking/core/
 * tracing.go configureTracingFromTelemetry picks `ClientSpec` for outbound listeners,
 * `ServerSpec` for inbound ones).
 *
 * - `tracing`: `tracing.random_sampling` and `tracing.custom_tags` (Envoy's CustomTag: literal,
 *   environment, request_header with default_value; tracing.go configureCustomTags /
 *   buildCustomTagsFromProvider, sorted by tag).
 * - `access_log`: a stdout logger with the CEL filter as an `extension_filter`, none when the
 *   last applicable entry is `disabled` (pilot/pkg/model/telemetry.go mergeLogs +
 *   telemetry_logging.go).
 * - What Envoy has no HCM field for goes into the listener's `meshlet.telemetry` filter
 *   metadata: `disableSpanReporting` (Istio drops the HCM tracing section; here sampling and
 *   propagation must stay as the API documents, so the client is told not to report spans) and
 *   the `metrics` overrides (Istio's `istio.stats` filter config, which a proxyless client does
 *   not decode), merged in order with their `match.mode` kept, for the client's metrics policy.
 *
 * Resolution follows pilot/pkg/model/telemetry.go applicableTelemetries: the root-namespace
 * Telemetry without a selector (mesh), then the workload namespace's without a selector, then
 * every one in the namespace whose selector matches (by name); later entries override what they
 * set (Tracing: field by field per mode; access logging: the last entry that matches the mode;
 * metrics: overrides in order, metrics-policy.ts).
 */
import type { IstioResource, Telemetry, TelemetryCustomTag, TelemetryMetrics, WorkloadMode } from '../../config/types.js';
import { labelsMatch } from '../proxy.js';
import { ROOT_NAMESPACE, type WorkloadRef } from './peer-authn.js';
import { anyOf, toStruct } from './proto-helpers.js';

const STDOUT = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const CEL = 'envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';

/** The filter_metadata namespace of what the HCM cannot say (see the file comment). */
export const TELEMETRY_METADATA = 'meshlet.telemetry';

/** A side of a request: the workload as client (outbound) or as server (inbound). */
export type TelemetrySide = 'client' | 'server';

const selectorOf = (t: Telemetry): Record<string, string> => t.spec.selector?.matchLabels ?? {};
const byName = (a: Telemetry, b: Telemetry): number => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
const covers = (mode: WorkloadMode | undefined, side: TelemetrySide): boolean => (mode ?? 'CLIENT_AND_SERVER') === 'CLIENT_AND_SERVER' || mode === (side === 'client' ? 'CLIENT' : 'SERVER');

/** The Telemetry resources that apply to a workload, least specific first. */
export function telemetriesFor(resources: readonly IstioResource[], workload: WorkloadRef, rootNamespace = ROOT_NAMESPACE): Telemetry[] {
  const all = resources.filter((r): r is Telemetry => r.kind === 'Telemetry').sort(byName);
  const empty = (t: Telemetry): boolean => Object.keys(selectorOf(t)).length === 0;
  const mesh = all.find((t) => t.metadata.namespace === rootNamespace && empty(t));
  const ns = workload.namespace === rootNamespace ? undefined : all.find((t) => t.metadata.namespace === workload.namespace && empty(t));
  // Istio attaches every selector-matching Telemetry of the namespace, in order.
  const wl = all.filter((t) => t.metadata.namespace === workload.namespace && !empty(t) && labelsMatch(workload.labels, selectorOf(t)));
  return [mesh, ns, ...wl].filter((t): t is Telemetry => t !== undefined);
}

/** One side's tracing after the merge; undefined when no tracing entry covers the side. */
export interface SideTracing {
  sampling?: number;
  disableSpanReporting: boolean;
  customTags?: Record<string, TelemetryCustomTag>;
}

/** One side's access logging after the merge; undefined when no entry covers the side. */
export interface SideLogging {
  enabled: boolean;
  filter?: string;
}

/** What the Telemetry resources say for one workload. */
export interface WorkloadTelemetry {
  readonly client: { tracing?: SideTracing; logging?: SideLogging };
  readonly server: { tracing?: SideTracing; logging?: SideLogging };
  /** `metrics[]` of every applicable Telemetry, least specific first. */
  readonly metrics: TelemetryMetrics[];
}

/**
 * Merges the applicable Telemetry resources for a workload; undefined when none applies.
 *
 * @example
 * ```ts
 * resolveTelemetry(resources, { namespace: 'default', labels: { app: 'reviews' } })?.client.tracing?.sampling;
 * ```
 */
export function resolveTelemetry(resources: readonly IstioResource[], workload: WorkloadRef): WorkloadTelemetry | undefined {
  const list = telemetriesFor(resources, workload);
  if (list.length === 0) return undefined;
  const out: WorkloadTelemetry = { client: {}, server: {}, metrics: [] };
  for (const t of list) {
    for (const tr of t.spec.tracing ?? []) {
      for (const side of ['client', 'server'] as const) {
        if (!covers(tr.match?.mode, side)) continue;
        const s = (out[side].tracing ??= { disableSpanReporting: false });
        if (tr.randomSamplingPercentage !== undefined) s.sampling = tr.randomSamplingPercentage;
        if (tr.disableSpanReporting !== undefined) s.disableSpanReporting = tr.disableSpanReporting;
        if (tr.customTags !== undefined) s.customTags = tr.customTags; // a shallow replace, as Istio does
      }
    }
    for (const al of t.spec.accessLogging ?? []) {
      for (const side of ['client', 'server'] as const) {
        if (!covers(al.match?.mode, side)) continue;
        // The last entry that covers the side decides, its own filter with it (Istio's mergeLogs).
        out[side].logging = al.disabled === true ? { enabled: false } : { enabled: true, ...(al.filter?.expression !== undefined ? { filter: al.filter.expression } : {}) };
      }
    }
    out.metrics.push(...(t.spec.metrics ?? []));
  }
  return out;
}

/** Envoy's CustomTag list (sorted by tag, as Istio sorts it). */
function customTags(tags: Record<string, TelemetryCustomTag>): Array<Record<string, unknown>> {
  return Object.keys(tags).sort().map((tag) => {
    const t = tags[tag]!;
    if (t.literal) return { tag, literal: { value: t.literal.value ?? '' } };
    if (t.environment) return { tag, environment: { name: t.environment.name ?? '', default_value: t.environment.defaultValue ?? '' } };
    return { tag, request_header: { name: t.header?.name ?? '', default_value: t.header?.defaultValue ?? '' } };
  });
}

/** The HCM fields (`tracing`, `access_log`) of one side of a resolved workload telemetry. */
export function sideHcmFields(resolved: WorkloadTelemetry, side: TelemetrySide): Record<string, unknown> {
  const { tracing, logging } = resolved[side];
  const tracingField: Record<string, unknown> = {};
  if (tracing?.sampling !== undefined) tracingField['random_sampling'] = { value: tracing.sampling };
  if (tracing?.customTags !== undefined && Object.keys(tracing.customTags).length > 0) tracingField['custom_tags'] = customTags(tracing.customTags);
  const out: Record<string, unknown> = { tracing: tracingField };
  if (logging?.enabled) {
    out['access_log'] = [{
      name: 'envoy.access_loggers.stdout',
      typed_config: anyOf(STDOUT, {}),
      ...(logging.filter !== undefined
        ? { filter: { extension_filter: { name: 'envoy.access_loggers.extension_filters.cel', typed_config: anyOf(CEL, { expression: logging.filter }) } } }
        : {}),
    }];
  }
  return out;
}

/**
 * The listener `metadata` of one side: `meshlet.telemetry` with the side, `disableSpanReporting`
 * when set, and the metrics overrides (Istio's istio.stats config) when any.
 */
export function sideListenerMetadata(resolved: WorkloadTelemetry, side: TelemetrySide): Record<string, unknown> {
  const meta: Record<string, unknown> = { side };
  if (resolved[side].tracing?.disableSpanReporting) meta['disableSpanReporting'] = true;
  if (resolved.metrics.length > 0) meta['metrics'] = resolved.metrics;
  return { filter_metadata: { [TELEMETRY_METADATA]: toStruct(meta) } };
}

/**
 * The HCM fields (`tracing`, `access_log`) for a workload's listeners of one side (default: the
 * inbound, server side); `{}` when no Telemetry applies (the HCM then says nothing, and clients
 * keep their defaults).
 *
 * @example
 * ```ts
 * const hcm = { stat_prefix: 'inbound', ...telemetryHcmFields(resources, { namespace: 'default', labels: { app: 'reviews' } }) };
 * ```
 */
export function telemetryHcmFields(resources: readonly IstioResource[], workload: WorkloadRef, side: TelemetrySide = 'server'): Record<string, unknown> {
  const resolved = resolveTelemetry(resources, workload);
  return resolved === undefined ? {} : sideHcmFields(resolved, side);
}

/** Label keys Telemetry selectors name (proxies differing only elsewhere share inbound listeners). */
export function telemetryLabelKeys(resources: readonly IstioResource[]): string[] {
  const keys = new Set<string>();
  for (const r of resources) if (r.kind === 'Telemetry') for (const k of Object.keys(selectorOf(r))) keys.add(k);
  return [...keys];
}
