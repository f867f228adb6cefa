/**
 * EDS: ClusterLoadAssignment → {@link EndpointsModel}. Also validates the inline load_assignment
 * of STATIC and DNS clusters (where host names are allowed instead of IPs).
 */
import { isIP } from 'node:net';
import type { EndpointModel, EndpointsModel, Fraction, HealthStatus, LocalityEndpointsModel, ValidationResult } from '../../core/model/index.js';
import { decodeMessage, fraction, metadataJson } from './common.js';
import type { ClusterLoadAssignmentProto, LbEndpointProto } from './proto-types.js';

const UINT32_MAX = 0xffff_ffff;
const HEALTH: ReadonlySet<string> = new Set(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']);

function endpoint(lb: LbEndpointProto, path: string, errors: string[], allowHostnames: boolean, seen: Set<string>): EndpointModel | undefined {
  const sa = lb.endpoint?.address?.socket_address;
  if (!sa) {
    errors.push(`${path}.endpoint.address.socket_address: unset`);
    return undefined;
  }
  const p = `${path}.endpoint.address.socket_address`;
  const before = errors.length;
  const address = sa.address ?? '';
  if (address === '') errors.push(`${p}.address: empty`);
  else if (!allowHostnames && isIP(address) === 0) errors.push(`${p}.address: ${JSON.stringify(address)} is not an IP address`);
  const port = sa.port_value ?? 0;
  if (sa.port_specifier === 'named_port') errors.push(`${p}.named_port: not supported`);
  else if (port < 1 || port > 65535) errors.push(`${p}.port_value: ${port} is not in [1, 65535]`);
  const key = `${address}|${port}`;
  if (seen.has(key)) errors.push(`${p}: ${address}:${port} is listed twice`);
  seen.add(key);
  const weight = lb.load_balancing_weight ? lb.load_balancing_weight.value ?? 0 : 1;
  if (weight < 1) errors.push(`${path}.load_balancing_weight: must be at least 1`);
  const health = (lb.health_status ?? 'UNKNOWN') as HealthStatus;
  if (!HEALTH.has(health)) errors.push(`${path}.health_status: unknown value ${health}`);
  if (errors.length !== before) return undefined;
  const metadata = metadataJson(lb.metadata);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata['envoy.lb'] ?? {})) {
    if (typeof v === 'string') labels[k] = v;
  }
  const hostname = lb.endpoint?.hostname;
  return { address, port, weight, health, labels, metadata, ...(hostname ? { hostname } : {}) };
}

/**
 * Validates a ClusterLoadAssignment. `prefix` is prepended to every field path; DNS clusters
 * pass `allowHostnames`.
 */
export function endpointsModel(cla: ClusterLoadAssignmentProto, errors: string[], prefix = '', allowHostnames = false): EndpointsModel | undefined {
  const before = errors.length;
  const seen = new Set<string>();
  const localityKeys = new Set<string>();
  const priorityWeights = new Map<number, number>();
  const localities: LocalityEndpointsModel[] = [];
  for (const [i, le] of (cla.endpoints ?? []).entries()) {
    const path = `${prefix}endpoints[${i}]`;
    const locality = { region: le.locality?.region ?? '', zone: le.locality?.zone ?? '', subZone: le.locality?.sub_zone ?? '' };
    const priority = le.priority ?? 0;
    const key = `${locality.region}/${locality.zone}/${locality.subZone}|${priority}`;
    if (localityKeys.has(key)) errors.push(`${path}.locality: duplicate of another locality with priority ${priority}`);
    localityKeys.add(key);
    // Unset locality weight: Envoy ignores the locality only under locality-weighted LB; 1 keeps
    // it usable everywhere. An explicit 0 is kept (and means "no traffic" when weighting).
    const weight = le.load_balancing_weight ? le.load_balancing_weight.value ?? 0 : 1;
    priorityWeights.set(priority, (priorityWeights.get(priority) ?? 0) + weight);
    const endpoints: EndpointModel[] = [];
    for (const [j, lb] of (le.lb_endpoints ?? []).entries()) {
      const model = endpoint(lb, `${path}.lb_endpoints[${j}]`, errors, allowHostnames, seen);
      if (model) endpoints.push(model);
    }
    localities.push({ locality, weight, priority, endpoints });
  }
  for (const [priority, total] of priorityWeights) {
    if (total > UINT32_MAX) errors.push(`${prefix}endpoints: total weight of priority ${priority} exceeds UINT32_MAX`);
    if (priority > 0 && !priorityWeights.has(priority - 1)) errors.push(`${prefix}endpoints: priority ${priority} is used but ${priority - 1} is not`);
  }
  const dropOverloads: Array<{ category: string; fraction: Fraction }> = [];
  for (const [i, d] of (cla.policy?.drop_overloads ?? []).entries()) {
    const path = `${prefix}policy.drop_overloads[${i}]`;
    if (!d.category) errors.push(`${path}.category: empty`);
    else dropOverloads.push({ category: d.category, fraction: fraction(d.drop_percentage, `${path}.drop_percentage`, errors, { numerator: 0, denominator: 100 }) });
  }
  if (errors.length !== before) return undefined;
  localities.sort((a, b) => a.priority - b.priority);
  return { clusterName: cla.cluster_name ?? '', localities, dropOverloads };
}

/**
 * Decodes a serialized envoy.config.endpoint.v3.ClusterLoadAssignment.
 *
 * @example
 * ```ts
 * const cla = decodeEndpoints(any.value);
 * ```
 */
export function decodeEndpoints(bytes: Uint8Array): ClusterLoadAssignmentProto {
  return decodeMessage<ClusterLoadAssignmentProto>('envoy.config.endpoint.v3.ClusterLoadAssignment', bytes);
}

/**
 * Validates a decoded ClusterLoadAssignment; its resource name is `cluster_name`.
 *
 * @example
 * ```ts
 * const result = validateEndpoints(decodeEndpoints(bytes));
 * if (result.ok) balancer.update(result.model.localities);
 * ```
 */
export function validateEndpoints(cla: ClusterLoadAssignmentProto): ValidationResult<EndpointsModel> {
  const errors: string[] = [];
  const name = cla.cluster_name ?? '';
  if (name === '') errors.push('cluster_name: empty');
  const model = endpointsModel(cla, errors);
  if (!model || errors.length > 0) return { ok: false, ...(name ? { name } : {}), errors };
  return { ok: true, name, model };
}
