/**
 * The engine: holds the current compiled snapshot and the long-lived cluster state, routes
 * requests synchronously, and compiles a new snapshot on every `update()`.
 */
import type { LocalityModel } from './model/index.js';
import { EventSet, type Disposable } from '../internal/events.js';
import type { ClusterEnv, ClusterState } from './cluster.js';
import { routeRequest } from './router.js';
import { defaultHttpFilterRuntimes, type HttpFilterRegistry } from './filters/registry.js';
import { compileSnapshot, type EngineResources, type Snapshot } from './snapshot.js';
import type { Engine, RequestInfo, RouteResult, UpstreamEndpoint } from './types.js';
import { tcpConnect, type TcpConnectResult } from './tcp-plan.js';

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** Namespace of this process: bare host names (`reviews`) resolve in it. */
  namespace: string;
  /** Kubernetes cluster domain; default `cluster.local`. */
  domainSuffix?: string;
  /** `region/zone/subzone` of this process; enables locality failover when EDS sends no priorities. */
  locality?: string;
  /** Random source in [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
  /** Clock in ms; injectable for tests. Default Date.now. */
  now?: () => number;
  /** HTTP filter runtimes listeners compile with; default meshlet's (fault). */
  httpFilters?: HttpFilterRegistry;
}

/** Per-cluster counters reported by {@link EngineController.stats}. */
export interface ClusterStats {
  active: number;
  /** Requests beyond max_connections (queued under the HTTP/1 model), when any. */
  pending?: number;
  retriesActive: number;
  /** Keys (`address:port`) of hosts currently ejected by outlier detection. */
  ejected: string[];
  /** Requests and retries refused by the breaker or retry budget. */
  overflows: number;
}

/** The engine plus the hooks the mesh uses to feed it. */
export interface EngineController extends Engine {
  /** Compiles a new immutable snapshot from the xDS caches; in-flight plans keep the old one. */
  update(resources: EngineResources): void;
  /** Admits one proxied TCP connection to a cluster and picks its endpoint (core/tcp-plan.ts). */
  connect(cluster: string, sourceIp?: string): TcpConnectResult;
  stats(): { clusters: Record<string, ClusterStats> };
}

/** Parses `region/zone/subzone` (missing parts are empty). */
export function parseLocality(s: string): LocalityModel {
  const [region = '', zone = '', subZone = ''] = s.split('/');
  return { region, zone, subZone };
}

const EMPTY: EngineResources = { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map() };

class MeshEngine implements EngineController {
  private snap: Snapshot;
  private readonly states = new Map<string, ClusterState>();
  private readonly env: ClusterEnv;
  private readonly events = new EventSet<{ update: () => void }>();
  private readonly namespace: string;
  private readonly domainSuffix: string;
  private readonly filters: HttpFilterRegistry;

  constructor(options: EngineOptions) {
    this.filters = options.httpFilters ?? defaultHttpFilterRuntimes();
    this.namespace = options.namespace;
    this.domainSuffix = options.domainSuffix ?? 'cluster.local';
    const env: { random: () => number; now: () => number; locality?: LocalityModel } = {
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    if (options.locality) env.locality = parseLocality(options.locality);
    this.env = env;
    this.snap = compileSnapshot(0, EMPTY, this.states, this.env, this.namespace, this.domainSuffix, this.filters);
  }

  get version(): number {
    return this.snap.version;
  }

  update(resources: EngineResources): void {
    this.snap = compileSnapshot(this.snap.version + 1, resources, this.states, this.env, this.namespace, this.domainSuffix, this.filters);
    this.events.emit('update');
  }

  route(request: RequestInfo): RouteResult {
    return routeRequest(this.snap, request, this.env);
  }

  pickFrom(clusterName: string): UpstreamEndpoint | undefined {
    return this.snap.clusters.get(clusterName)?.pick(undefined);
  }

  connect(cluster: string, sourceIp?: string): TcpConnectResult {
    return tcpConnect(cluster, this.snap.clusters.get(cluster), sourceIp);
  }

  knowsHost(host: string, port: number): boolean {
    return this.snap.hosts.resolve(host, port) !== undefined;
  }

  onUpdate(fn: () => void): Disposable {
    return this.events.on('update', fn);
  }

  stats(): { clusters: Record<string, ClusterStats> } {
    const clusters: Record<string, ClusterStats> = {};
    const now = this.env.now();
    for (const [name, rt] of this.snap.clusters) {
      const s = rt.state;
      if (s.ejectedCount > 0 && now >= s.nextExpiry) s.refreshEjections(now);
      const c = s.counters;
      const entry: ClusterStats = {
        active: c.active,
        retriesActive: c.retriesActive,
        ejected: s.hostList.filter((h) => h.outlier.ejected).map((h) => h.key),
        overflows: c.overflows + c.retryOverflows,
      };
      if (c.pending > 0) entry.pending = c.pending;
      clusters[name] = entry;
    }
    return { clusters };
  }
}

/**
 * Creates the engine shared by the HTTP and gRPC adapters.
 *
 * @example
 * ```ts
 * const engine = createEngine({ namespace: 'default', locality: 'eu-west/eu-west-1a/' });
 * engine.update({ listeners, routes, clusters, endpoints }); // from the XdsClient caches
 * const r = engine.route({ method: 'GET', path: '/reviews/1', host: 'reviews', port: 80, headers: {} });
 * if (r.kind === 'forward') { const slot = r.plan.admit(); const ep = r.plan.pick(); … }
 * ```
 */
export function createEngine(options: EngineOptions): EngineController {
  return new MeshEngine(options);
}
