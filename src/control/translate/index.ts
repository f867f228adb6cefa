/**
 * Istio config + service registry → xDS v3 resources, one generator per type (Istio
 * `pilot/pkg/networking/grpcgen` style): lds.ts, rds.ts, cds.ts, eds.ts. Pure: the same input
 * always yields the same output (every list sorted by name), and nothing is encoded for the
 * wire except nested typed configs, which must be `Any` bytes inside the plain objects.
 */
import { TYPE_URL, type ResourceTypeUrl } from '../../xds/type-urls.js';
import { buildContext } from './context.js';
import { generateClusters } from './cds.js';
import { generateEndpoints } from './eds.js';
import { generateListeners } from './lds.js';
import { planClusters } from './plan.js';
import { generateRouteConfigurations } from './rds.js';
import type { GeneratedResource, TranslateInput, TranslateOutput } from './types.js';

export type { GeneratedResource, TranslateInput, TranslateOutput } from './types.js';

/**
 * Translates config and services into LDS, RDS, CDS and EDS resources, keyed by type URL in
 * that order.
 *
 * @example
 * const out = translate({ resources, services: serviceRegistry.services() });
 * out.get(TYPE_URL.cluster)?.map((c) => c.name); // ['outbound|9080||reviews.default.svc.cluster.local', ...]
 */
export function translate(input: TranslateInput): TranslateOutput {
  const ctx = buildContext(input.resources, input.services, input.domainSuffix);
  const plans = planClusters(ctx);
  return new Map<ResourceTypeUrl, GeneratedResource[]>([
    [TYPE_URL.listener, generateListeners(ctx)],
    [TYPE_URL.route, generateRouteConfigurations(ctx)],
    [TYPE_URL.cluster, generateClusters(plans, ctx.domainSuffix)],
    [TYPE_URL.endpoint, generateEndpoints(plans)],
  ]);
}

export { clusterName, parseClusterName, listenerName } from './names.js';
export type { ClusterNameParts } from './names.js';
