/**
 * Endpoints as Envoy LocalityLbEndpoints: shared by EDS (load assignments) and CDS (the inline
 * assignment of a DNS cluster).
 */
import type { EndpointModel } from '../model.js';
import { endpointPort } from './plan.js';
import { toStruct, wrap } from './proto-helpers.js';

/** `region/zone/subzone` → Envoy Locality (missing parts empty). */
export function parseLocality(locality: string | undefined): { region: string; zone: string; sub_zone: string } {
  const [region = '', zone = '', subZone = ''] = (locality ?? '').split('/');
  return { region, zone, sub_zone: subZone };
}

/** One LbEndpoint: address, health, weight, and metadata carrying labels and identity. */
export function lbEndpoint(endpoint: EndpointModel, servicePort: number): Record<string, unknown> {
  const meshlet: Record<string, unknown> = { id: endpoint.id };
  if (endpoint.serviceAccount !== undefined) meshlet.serviceAccount = endpoint.serviceAccount;
  return {
    endpoint: { address: { socket_address: { address: endpoint.address, port_value: endpointPort(endpoint, servicePort) } } },
    health_status: endpoint.healthy ? 'HEALTHY' : 'UNHEALTHY',
    load_balancing_weight: wrap(weightOf(endpoint)),
    metadata: { filter_metadata: { 'envoy.lb': toStruct(endpoint.labels), meshlet: toStruct(meshlet) } },
  };
}

/** Envoy requires endpoint weights ≥ 1. */
function weightOf(endpoint: EndpointModel): number {
  return Math.max(1, Math.floor(endpoint.weight ?? 1));
}

/** LocalityLbEndpoints for endpoints, one per distinct locality, in first-seen order. */
export function localityGroups(endpoints: readonly EndpointModel[], servicePort: number): Array<Record<string, unknown>> {
  const groups = new Map<string, EndpointModel[]>();
  for (const e of endpoints) {
    const key = e.locality ?? '';
    const list = groups.get(key);
    if (list) list.push(e);
    else groups.set(key, [e]);
  }
  return [...groups.entries()].map(([locality, members]) => ({
    locality: parseLocality(locality),
    lb_endpoints: members.map((e) => lbEndpoint(e, servicePort)),
    load_balancing_weight: wrap(members.reduce((sum, e) => sum + weightOf(e), 0)),
    priority: 0,
  }));
}
