/**
 * The `metrics` part of Istio's Telemetry resource (telemetry.istio.io/v1) compiled into a lookup
 * per (metric, reporter): disabled or not, tags removed, tags set. Overrides apply in order, a
 * later one winning, as Istio merges them. Tag values are CEL in Istio; meshlet evaluates string
 * literals only and reports anything else (the tag is left unchanged).
 */
import type { Reporter } from './metrics.js';

/** Istio's `MetricSelector.IstioMetric` values (ALL_METRICS expands to all of them). */
export const METRIC_KINDS = [
  'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE',
  'TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES',
  'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES',
] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** What applies to one metric as one reporter reports it. */
export interface MetricRule {
  disabled: boolean;
  removed?: ReadonlySet<string>;
  upsert?: ReadonlyMap<string, string>;
}

/** Compiled policy; `rule()` is a map read. */
export interface MetricsPolicy {
  rule(kind: MetricKind, reporter: Reporter): MetricRule;
  /** Every metric disabled for both reporters (the observer need not run at all). */
  readonly allDisabled: boolean;
}

/** Telemetry `metrics[].overrides[]` (the subset meshlet reads). */
export interface MetricsOverride {
  match?: { metric?: MetricKind | 'ALL_METRICS'; customMetric?: string; mode?: 'CLIENT_AND_SERVER' | 'CLIENT' | 'SERVER' };
  disabled?: boolean;
  tagOverrides?: Record<string, { operation?: 'UPSERT' | 'REMOVE'; value?: string }>;
}

/** Telemetry `metrics[]`. */
export interface MetricsSpec {
  providers?: Array<{ name: string }>;
  overrides?: MetricsOverride[];
}

const ENABLED: MetricRule = { disabled: false };

/** Every metric on, no tag changes. */
export function defaultMetricsPolicy(): MetricsPolicy {
  return { rule: () => ENABLED, allDisabled: false };
}

/** A CEL string literal (`'x'` or `"x"`, no escapes) → its text; anything else `undefined`. */
function literal(expr: string): string | undefined {
  const m = /^\s*(['"])([^'"\\]*)\1\s*$/.exec(expr);
  return m ? m[2] : undefined;
}

/**
 * Compiles the `metrics` entries that name the Prometheus provider (or no provider: the mesh
 * default). Problems (non-literal tag values) are returned with their field path.
 *
 * @example
 * ```ts
 * const { policy } = compileMetricsPolicy([{ overrides: [{ match: { metric: 'REQUEST_SIZE' }, disabled: true }] }]);
 * policy.rule('REQUEST_SIZE', 'source').disabled; // true
 * ```
 */
export function compileMetricsPolicy(specs: readonly MetricsSpec[], path = 'spec.metrics'): { policy: MetricsPolicy; problems: string[] } {
  const problems: string[] = [];
  const rules = new Map<string, { disabled: boolean; removed: Set<string>; upsert: Map<string, string> }>();
  for (const kind of METRIC_KINDS) for (const r of ['source', 'destination'] as const) rules.set(`${kind}/${r}`, { disabled: false, removed: new Set(), upsert: new Map() });
  specs.forEach((spec, i) => {
    if (spec.providers && spec.providers.length > 0 && !spec.providers.some((p) => p.name === 'prometheus')) return;
    (spec.overrides ?? []).forEach((o, j) => {
      if (o.match?.customMetric !== undefined) return; // custom metrics are not standard ones
      const kinds = o.match?.metric === undefined || o.match.metric === 'ALL_METRICS' ? METRIC_KINDS : [o.match.metric];
      if (!kinds.every((k) => (METRIC_KINDS as readonly string[]).includes(k))) {
        problems.push(`${path}[${i}].overrides[${j}].match.metric: ${JSON.stringify(o.match?.metric)} is not one of Istio's standard metrics; override skipped`);
        return;
      }
      const mode = o.match?.mode ?? 'CLIENT_AND_SERVER';
      const reporters: Reporter[] = mode === 'CLIENT' ? ['source'] : mode === 'SERVER' ? ['destination'] : ['source', 'destination'];
      for (const kind of kinds) {
        for (const reporter of reporters) {
          const rule = rules.get(`${kind}/${reporter}`)!;
          if (o.disabled !== undefined) rule.disabled = o.disabled;
          for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
            if (t.operation === 'REMOVE') {
              rule.removed.add(tag);
              rule.upsert.delete(tag);
              continue;
            }
            const value = literal(t.value ?? '');
            if (value === undefined) {
              problems.push(`${path}[${i}].overrides[${j}].tagOverrides.${tag}.value: only string literals are evaluated (got ${JSON.stringify(t.value ?? '')}); tag left unchanged`);
              continue;
            }
            rule.removed.delete(tag);
            rule.upsert.set(tag, value);
          }
        }
      }
    });
  });
  const compiled = new Map<string, MetricRule>();
  for (const [key, r] of rules) {
    compiled.set(key, r.removed.size === 0 && r.upsert.size === 0 ? (r.disabled ? { disabled: true } : ENABLED) : { disabled: r.disabled, ...(r.removed.size > 0 ? { removed: r.removed } : {}), ...(r.upsert.size > 0 ? { upsert: r.upsert } : {}) });
  }
  const allDisabled = [...compiled.values()].every((r) => r.disabled);
  return { policy: { rule: (kind, reporter) => compiled.get(`${kind}/${reporter}`) ?? ENABLED, allDisabled }, problems };
}
