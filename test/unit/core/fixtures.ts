/** Model builders and a seeded random source for the core engine's unit tests. */
import type {
  ClusterModel,
  EndpointModel,
  EndpointsModel,
  ListenerModel,
  LocalityEndpointsModel,
  OutlierDetectionModel,
  RouteConfigModel,
  RouteModel,
} from '../../../src/core/model/index.js';
import { createEngine, type EngineController, type EngineOptions } from '../../../src/core/index.js';
import type { RequestInfo } from '../../../src/core/types.js';
import { loadXxhash } from '../../../src/core/xxhash.js';

// Consistent-hash rings are built with xxHash64 (WebAssembly, loaded asynchronously once).
await loadXxhash();

/** mulberry32: a small seeded PRNG, so distributions are reproducible. */
export function seeded(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FQDN = 'reviews.default.svc.cluster.local';

export function route(partial: Partial<RouteModel> = {}): RouteModel {
  return {
    name: 'r',
    match: { path: { kind: 'prefix', value: '/', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false },
    action: { kind: 'cluster', cluster: `outbound|9080||${FQDN}` },
    hashPolicy: [],
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
    mirrors: [],
    metadata: {},
    ...partial,
  };
}

export function routeConfig(name: string, routes: RouteModel[], domains = ['*']): RouteConfigModel {
  return { name, virtualHosts: [{ name, domains, routes, typedPerFilterConfig: {} }] };
}

export function listener(name: string, routeConfigName = name, extra: Partial<ListenerModel> = {}): ListenerModel {
  return { name, routeConfigName, httpFilters: [], ...extra };
}

export function cluster(name: string, extra: Partial<ClusterModel> = {}): ClusterModel {
  return {
    name,
    type: 'EDS',
    lbPolicy: 'ROUND_ROBIN',
    localityWeighted: false,
    circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    healthyPanicThreshold: 50,
    connectTimeoutMs: 5000,
    metadata: {},
    ...extra,
  };
}

export function ep(address: string, extra: Partial<EndpointModel> = {}): EndpointModel {
  return { address, port: 8080, weight: 1, health: 'HEALTHY', labels: {}, metadata: {}, ...extra };
}

export function locality(region: string, zone: string, endpoints: EndpointModel[], extra: Partial<LocalityEndpointsModel> = {}): LocalityEndpointsModel {
  return { locality: { region, zone, subZone: '' }, weight: 1, priority: 0, endpoints, ...extra };
}

export function cla(name: string, localities: LocalityEndpointsModel[]): EndpointsModel {
  return { clusterName: name, localities, dropOverloads: [] };
}

/** n healthy endpoints 10.0.0.1..n in one locality. */
export function flat(name: string, n: number): EndpointsModel {
  return cla(name, [locality('r', 'z', Array.from({ length: n }, (_, i) => ep(`10.0.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`)))]);
}

export const OUTLIER: OutlierDetectionModel = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 100,
  enforcingSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  splitExternalLocalOriginErrors: false,
};

export const CLUSTER = `outbound|9080||${FQDN}`;

/**
 * An engine with one service `reviews.default…:9080` whose routes and cluster are given.
 */
export function oneService(opts: {
  routes?: RouteModel[];
  cluster?: Partial<ClusterModel>;
  endpoints?: EndpointsModel;
  extraClusters?: ClusterModel[];
  listener?: Partial<ListenerModel>;
  engine?: Partial<EngineOptions>;
  clock?: { t: number };
}): EngineController {
  const clock = opts.clock ?? { t: 1_000_000 };
  const engine = createEngine({ namespace: 'default', random: seeded(7), now: () => clock.t, ...opts.engine });
  const name = `${FQDN}:9080`;
  const clusters = new Map<string, ClusterModel>([[CLUSTER, cluster(CLUSTER, opts.cluster)]]);
  for (const c of opts.extraClusters ?? []) clusters.set(c.name, c);
  engine.update({
    listeners: new Map([[name, listener(name, name, opts.listener)]]),
    routes: new Map([[name, routeConfig(name, opts.routes ?? [route()], [FQDN, `${FQDN}:9080`, 'reviews', 'reviews:9080'])]]),
    clusters,
    endpoints: new Map([[CLUSTER, opts.endpoints ?? flat(CLUSTER, 3)]]),
  });
  return engine;
}

export function req(partial: Partial<RequestInfo> = {}): RequestInfo {
  return { method: 'GET', path: '/', host: 'reviews', port: 80, headers: {}, ...partial };
}
