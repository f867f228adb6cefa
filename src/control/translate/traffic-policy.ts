/**
 * DestinationRule traffic policy for one cluster, with Istio's merge semantics
 * (`pilot/pkg/networking/core/cluster_traffic_policy.go` MergeTrafficPolicy):
 * top-level policy, replaced field by field by the matching `portLevelSettings` entry (which
 * does not inherit: unset fields there mean defaults), then the subset's policy replacing
 * whole fields, then the subset's own port-level entry.
 */
import type { DestinationRule, PortTrafficPolicy, TrafficPolicy } from '../../config/types.js';

/** The fields that end up on a cluster. */
export type EffectivePolicy = Pick<TrafficPolicy, 'loadBalancer' | 'connectionPool' | 'outlierDetection' | 'tls' | 'retryBudget'>;

function applyPortLevel(base: EffectivePolicy, levels: readonly PortTrafficPolicy[] | undefined, port: number): EffectivePolicy {
  const hit = levels?.find((p) => p.port?.number === port);
  if (!hit) return base;
  // Port-level settings have no retry budget in Istio's API: the enclosing one stays.
  return { loadBalancer: hit.loadBalancer, connectionPool: hit.connectionPool, outlierDetection: hit.outlierDetection, tls: hit.tls, retryBudget: base.retryBudget };
}

function clean(p: EffectivePolicy): EffectivePolicy {
  const out: EffectivePolicy = {};
  if (p.loadBalancer) out.loadBalancer = p.loadBalancer;
  if (p.connectionPool) out.connectionPool = p.connectionPool;
  if (p.outlierDetection) out.outlierDetection = p.outlierDetection;
  if (p.tls) out.tls = p.tls;
  if (p.retryBudget) out.retryBudget = p.retryBudget;
  return out;
}

/**
 * Effective policy for (rule, port, subset). `subset` empty or unknown → the rule's own policy.
 *
 * @example effectivePolicy(dr, 9080, 'v2').loadBalancer?.simple
 */
export function effectivePolicy(dr: DestinationRule | undefined, port: number, subset?: string): EffectivePolicy {
  if (!dr) return {};
  const top = dr.spec.trafficPolicy ?? {};
  let merged = applyPortLevel(
    { loadBalancer: top.loadBalancer, connectionPool: top.connectionPool, outlierDetection: top.outlierDetection, tls: top.tls, retryBudget: top.retryBudget },
    top.portLevelSettings,
    port,
  );
  const sub = subset ? dr.spec.subsets?.find((s) => s.name === subset)?.trafficPolicy : undefined;
  if (sub) {
    merged = {
      loadBalancer: sub.loadBalancer ?? merged.loadBalancer,
      connectionPool: sub.connectionPool ?? merged.connectionPool,
      outlierDetection: sub.outlierDetection ?? merged.outlierDetection,
      tls: sub.tls ?? merged.tls,
      retryBudget: sub.retryBudget ?? merged.retryBudget,
    };
    merged = applyPortLevel(merged, sub.portLevelSettings, port);
  }
  return clean(merged);
}

/** Labels selecting a subset's endpoints; `undefined` when the rule has no such subset. */
export function subsetLabels(dr: DestinationRule | undefined, subset: string): Record<string, string> | undefined {
  const s = dr?.spec.subsets?.find((x) => x.name === subset);
  return s ? (s.labels ?? {}) : undefined;
}
