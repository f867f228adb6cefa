/**
 * The cluster plan shared by CDS and EDS: which clusters exist (every service port, plus one per
 * DestinationRule subset), their merged traffic policy and their endpoints. Computed once so
 * CDS and EDS can never disagree on names or membership.
 */
import { isIP } from 'node:net';
import type { DestinationRule } from '../../config/types.js';
import type { EndpointModel, ServiceModel, ServicePortModel } from '../model.js';
import { destinationRuleFor, type TranslateContext } from './context.js';
import { clusterName } from './names.js';
import { effectivePolicy, subsetLabels, type EffectivePolicy } from './traffic-policy.js';

export interface ClusterPlan {
  name: string;
  service: ServiceModel;
  port: ServicePortModel;
  /** Empty for the subset-less cluster. */
  subset: string;
  rule: DestinationRule | undefined;
  policy: EffectivePolicy;
  /** Endpoints of the service, filtered by the subset's labels. */
  endpoints: EndpointModel[];
  /**
   * Set when the cluster must be LOGICAL_DNS: a DNS-resolved service whose endpoint is a host
   * name. EDS addresses must be IP literals (grpc-js-xds NACKs anything else), so such a cluster
   * carries its one endpoint inline and has no ClusterLoadAssignment.
   */
  dnsEndpoint: EndpointModel | undefined;
}

function matches(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function plan(service: ServiceModel, port: ServicePortModel, subset: string, rule: DestinationRule | undefined, selector: Record<string, string>): ClusterPlan {
  const endpoints = service.endpoints.filter((e) => matches(e.labels, selector));
  const dns = service.resolution === 'DNS' || service.resolution === 'DNS_ROUND_ROBIN';
  return {
    name: clusterName(port.number, subset, service.hostname),
    service,
    port,
    subset,
    rule,
    policy: effectivePolicy(rule, port.number, subset),
    endpoints,
    dnsEndpoint: dns ? endpoints.find((e) => isIP(e.address) === 0) : undefined,
  };
}

/** The clusters of one service: per port the subset-less one, then one per subset (a repeated name keeps the first). */
export function servicePlans(ctx: TranslateContext, service: ServiceModel): ClusterPlan[] {
  const out = new Map<string, ClusterPlan>();
  const rule = destinationRuleFor(ctx, service.hostname);
  for (const port of service.ports) {
    const base = plan(service, port, '', rule, {});
    out.set(base.name, base);
    for (const s of rule?.spec.subsets ?? []) {
      const p = plan(service, port, s.name, rule, subsetLabels(rule, s.name) ?? {});
      if (!out.has(p.name)) out.set(p.name, p);
    }
  }
  return [...out.values()];
}

/** Every cluster, sorted by name. */
export function planClusters(ctx: TranslateContext): ClusterPlan[] {
  const out = new Map<string, ClusterPlan>();
  for (const service of ctx.services) for (const p of servicePlans(ctx, service)) if (!out.has(p.name)) out.set(p.name, p);
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The port an endpoint serves a service port on. */
export function endpointPort(endpoint: EndpointModel, servicePort: number): number {
  return endpoint.ports[servicePort] ?? servicePort;
}
