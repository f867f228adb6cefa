/**
 * Which PeerAuthentication and AuthorizationPolicy resources apply to a workload, and the mTLS
 * mode of one of its ports, resolved as Istio resolves them:
 * `pilot/pkg/model/authentication.go` getConfigsForWorkload (the workload's namespace and the
 * root namespace; a selector must be a subset of the workload's labels),
 * `pilot/pkg/security/authn/policy_applier.go` ComposePeerAuthentication (PERMISSIVE by default;
 * mesh, then namespace, then workload scope override; UNSET inherits; a workload-scoped policy
 * in the root namespace is ignored; portLevelMtls only on a workload policy, UNSET inherits), and
 * `pilot/pkg/model/authorization.go` ListAuthorizationPolicies (root namespace and the workload's
 * namespace; empty selector = all). Creation time is not in plain config, so "the oldest wins"
 * becomes "the first by name".
 */
import type { AuthorizationPolicy, IstioResource, MtlsMode, PeerAuthentication } from '../../config/types.js';
import { labelsMatch } from '../proxy.js';

/** Istio's default root namespace (MeshConfig.rootNamespace). */
export const ROOT_NAMESPACE = 'istio-system';

/** A workload as policy selection sees it. */
export interface WorkloadRef {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

const byName = <T extends IstioResource>(a: T, b: T): number => {
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

const selectorOf = (r: { spec: { selector?: { matchLabels?: Record<string, string> } } }): Record<string, string> => r.spec.selector?.matchLabels ?? {};
const hasSelector = (r: { spec: { selector?: { matchLabels?: Record<string, string> } } }): boolean => Object.keys(selectorOf(r)).length > 0;

/** Resolved mode for one port. */
export type ResolvedMtls = Exclude<MtlsMode, 'UNSET'>;

/**
 * The mTLS mode of `port` on `workload` (Istio's MergedPeerAuthentication.GetMutualTLSModeForPort).
 *
 * @example
 * ```ts
 * peerAuthnMode(resources, { namespace: 'default', labels: { app: 'reviews' } }, 9080); // 'STRICT'
 * ```
 */
export function peerAuthnMode(resources: readonly IstioResource[], workload: WorkloadRef, port: number, rootNamespace = ROOT_NAMESPACE): ResolvedMtls {
  let mesh: PeerAuthentication | undefined;
  let namespace: PeerAuthentication | undefined;
  let wl: PeerAuthentication | undefined;
  const pas = resources.filter((r): r is PeerAuthentication => r.kind === 'PeerAuthentication').sort(byName);
  for (const pa of pas) {
    const ns = pa.metadata.namespace;
    if (ns !== workload.namespace && ns !== rootNamespace) continue;
    if (!hasSelector(pa)) {
      if (ns === rootNamespace) mesh ??= pa;
      else namespace ??= pa;
    } else if (ns !== rootNamespace && labelsMatch(workload.labels, selectorOf(pa))) {
      wl ??= pa;
    }
  }
  let mode: ResolvedMtls = 'PERMISSIVE';
  for (const pa of [mesh, namespace, wl]) {
    const m = pa?.spec.mtls?.mode;
    if (m && m !== 'UNSET') mode = m;
  }
  const perPort = wl?.spec.portLevelMtls?.[String(port)]?.mode;
  return perPort && perPort !== 'UNSET' ? perPort : mode;
}

/** The AuthorizationPolicies that apply to `workload`, by action, in name order. */
export interface WorkloadPolicies {
  allow: AuthorizationPolicy[];
  deny: AuthorizationPolicy[];
  audit: AuthorizationPolicy[];
  /** CUSTOM needs an external authorizer meshlet does not have: its rules deny (fail closed). */
  custom: AuthorizationPolicy[];
}

/**
 * Istio's ListAuthorizationPolicies for one workload.
 *
 * @example
 * ```ts
 * const { allow, deny } = authorizationPoliciesFor(resources, { namespace: 'default', labels });
 * ```
 */
export function authorizationPoliciesFor(resources: readonly IstioResource[], workload: WorkloadRef, rootNamespace = ROOT_NAMESPACE): WorkloadPolicies {
  const out: WorkloadPolicies = { allow: [], deny: [], audit: [], custom: [] };
  const aps = resources.filter((r): r is AuthorizationPolicy => r.kind === 'AuthorizationPolicy').sort(byName);
  for (const ap of aps) {
    const ns = ap.metadata.namespace;
    if (ns !== rootNamespace && ns !== workload.namespace) continue;
    if (hasSelector(ap) && !labelsMatch(workload.labels, selectorOf(ap))) continue;
    switch (ap.spec.action ?? 'ALLOW') {
      case 'ALLOW': out.allow.push(ap); break;
      case 'DENY': out.deny.push(ap); break;
      case 'AUDIT': out.audit.push(ap); break;
      case 'CUSTOM': out.custom.push(ap); break;
    }
  }
  return out;
}

/** The label keys any security selector reads (what makes a proxy's inbound config differ). */
export function securityLabelKeys(resources: readonly IstioResource[]): string[] {
  const keys = new Set<string>();
  for (const r of resources) {
    if (r.kind === 'PeerAuthentication' || r.kind === 'AuthorizationPolicy' || r.kind === 'RequestAuthentication') for (const k of Object.keys(selectorOf(r))) keys.add(k);
  }
  return [...keys].sort();
}
