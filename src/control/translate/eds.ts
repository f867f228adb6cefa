/**
 * EDS generator: one ClusterLoadAssignment per EDS cluster (Istio `pilot/pkg/xds/eds.go`),
 * endpoints grouped by locality. gRPC ignores localities without a weight, so each locality
 * gets the sum of its endpoints' weights; all priority 0 until locality failover is modelled.
 */
import { isIP } from 'node:net';
import { localityGroups } from './locality.js';
import { endpointPort, type ClusterPlan } from './plan.js';
import type { GeneratedResource } from './types.js';

export { lbEndpoint, localityGroups, parseLocality } from './locality.js';

/**
 * Generates ClusterLoadAssignments for the planned EDS clusters. Endpoints whose address is not
 * an IP literal are left out: EDS carries addresses, not names (DNS services use LOGICAL_DNS
 * clusters instead, see plan.ts), and one bad address would make a client reject the whole
 * assignment. Endpoints sharing an address and port are listed once.
 */
export function generateEndpoints(plans: readonly ClusterPlan[]): GeneratedResource[] {
  const out: GeneratedResource[] = [];
  for (const p of plans) {
    const message = buildLoadAssignment(p);
    if (message) out.push({ name: p.name, message });
  }
  return out;
}

/** The ClusterLoadAssignment of one planned cluster; `undefined` for a LOGICAL_DNS one. */
export function buildLoadAssignment(p: ClusterPlan): Record<string, unknown> | undefined {
  if (p.dnsEndpoint) return undefined;
  const seen = new Set<string>();
  const usable = p.endpoints.filter((e) => {
    if (isIP(e.address) === 0) return false;
    const key = `${e.address}|${endpointPort(e, p.port.number)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { cluster_name: p.name, endpoints: localityGroups(usable, p.port.number) };
}
