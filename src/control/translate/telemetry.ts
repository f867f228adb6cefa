/**
 * The Telemetry resource (telemetry.istio.io/v1) for one workload, as the HCM fields Istio
 * derives from it: `tracing.random_sampling` (pilot/pkg/networking/core/tracing.go
 * configureTracingFromTelemetry: `randomSamplingPercentage` → `random_sampling`) and
 * `access_log` (pilot/pkg/networking/core/accesslog.go + pilot/pkg/model/telemetry_logging.go:
 * one logger per provider, `filter.expression` as a CEL `extension_filter`, none when
 * `disabled`). Resolution follows pilot/pkg/model/telemetry.go applicableTelemetries: the
 * root-namespace Telemetry without a selector (mesh), then the workload namespace's without a
 * selector, then the namespace's one whose selector matches; a more specific one overrides
 * what it sets. Only entries whose `match.mode` covers SERVER (the default CLIENT_AND_SERVER
 * does) go into the inbound listener; the client applies them to its own calls too.
 */
import type { IstioResource, Telemetry } from '../../config/types.js';
import { labelsMatch } from '../proxy.js';
import { ROOT_NAMESPACE, type WorkloadRef } from './peer-authn.js';
import { anyOf } from './proto-helpers.js';

const STDOUT = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const CEL = 'envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';

const selectorOf = (t: Telemetry): Record<string, string> => t.spec.selector?.matchLabels ?? {};
const byName = (a: Telemetry, b: Telemetry): number => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
const serverSide = (m: { match?: { mode?: string } }): boolean => (m.match?.mode ?? 'CLIENT_AND_SERVER') !== 'CLIENT';

/** The Telemetry resources that apply to a workload, least specific first. */
export function telemetriesFor(resources: readonly IstioResource[], workload: WorkloadRef, rootNamespace = ROOT_NAMESPACE): Telemetry[] {
  const all = resources.filter((r): r is Telemetry => r.kind === 'Telemetry').sort(byName);
  const empty = (t: Telemetry): boolean => Object.keys(selectorOf(t)).length === 0;
  const mesh = all.find((t) => t.metadata.namespace === rootNamespace && empty(t));
  const ns = workload.namespace === rootNamespace ? undefined : all.find((t) => t.metadata.namespace === workload.namespace && empty(t));
  const wl = all.find((t) => t.metadata.namespace === workload.namespace && !empty(t) && labelsMatch(workload.labels, selectorOf(t)));
  return [mesh, ns, wl].filter((t): t is Telemetry => t !== undefined);
}

/**
 * The HCM fields (`tracing`, `access_log`) for a workload's inbound listener; `{}` when no
 * Telemetry applies (the HCM then says nothing, and clients keep their defaults).
 *
 * @example
 * ```ts
 * const hcm = { stat_prefix: 'inbound', ...telemetryHcmFields(resources, { namespace: 'default', labels: { app: 'reviews' } }) };
 * ```
 */
export function telemetryHcmFields(resources: readonly IstioResource[], workload: WorkloadRef): Record<string, unknown> {
  const list = telemetriesFor(resources, workload);
  if (list.length === 0) return {};
  let sampling: number | undefined;
  let logging: { enabled: boolean; filter?: string | undefined } | undefined;
  for (const t of list) {
    for (const tr of t.spec.tracing ?? []) {
      if (serverSide(tr) && tr.randomSamplingPercentage !== undefined) sampling = tr.randomSamplingPercentage;
    }
    for (const al of t.spec.accessLogging ?? []) {
      if (!serverSide(al)) continue;
      logging = al.disabled === true ? { enabled: false } : { enabled: true, filter: al.filter?.expression ?? logging?.filter };
    }
  }
  const out: Record<string, unknown> = { tracing: sampling === undefined ? {} : { random_sampling: { value: sampling } } };
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

/** Label keys Telemetry selectors name (proxies differing only elsewhere share inbound listeners). */
export function telemetryLabelKeys(resources: readonly IstioResource[]): string[] {
  const keys = new Set<string>();
  for (const r of resources) if (r.kind === 'Telemetry') for (const k of Object.keys(selectorOf(r))) keys.add(k);
  return [...keys];
}
