/**
 * Envoy's warming, applied to what the xDS feed hands the engine:
 *
 * - a cluster is not used before its first endpoint assignment arrives (cluster warming): an
 *   EDS cluster whose ClusterLoadAssignment has not come yet is left out, or — if an earlier
 *   version of it is in use — that earlier version stays in use; after `warmingTimeoutMs`
 *   (Envoy's initial_fetch_timeout) it is used as it is, without endpoints;
 * - a route configuration is not installed while a cluster it routes to is warming (or while no
 *   CDS response has been seen at all): the previous version stays, or, for a new one, its
 *   listener is held back (listener warming), so its host keeps behaving as before instead of
 *   answering 503 UH for endpoints that exist.
 */
import type { ClusterModel, EndpointsModel, ListenerModel, RouteConfigModel } from '../core/model/index.js';
import { referencedClusters } from '../core/snapshot.js';

/** The xDS caches as they are now. */
export interface WarmingInput {
  readonly listeners: ReadonlyMap<string, ListenerModel>;
  readonly routes: ReadonlyMap<string, RouteConfigModel>;
  readonly clusters: ReadonlyMap<string, ClusterModel>;
  readonly endpoints: ReadonlyMap<string, EndpointsModel>;
  /** A CDS response has been applied: a cluster name it does not hold does not exist. */
  readonly clustersSeen: boolean;
}

/** What the engine gets, plus what warming still waits for. */
export interface WarmingResult {
  readonly listeners: Map<string, ListenerModel>;
  readonly routes: Map<string, RouteConfigModel>;
  readonly clusters: Map<string, ClusterModel>;
  /** When the earliest warming cluster times out (epoch ms); Infinity when none is warming. */
  readonly nextDeadline: number;
}

/**
 * Holds the warming state between updates: when each cluster began warming and what was
 * last handed to the engine (earlier versions keep serving while new ones warm).
 *
 * @example
 * ```ts
 * const warming = new Warming(15_000);
 * const { listeners, routes, clusters } = warming.apply({ listeners, routes, clusters, endpoints, clustersSeen: true }, Date.now());
 * engine.update({ listeners, routes, clusters, endpoints });
 * ```
 */
export class Warming {
  private readonly since = new Map<string, number>();
  private activeClusters = new Map<string, ClusterModel>();
  private activeRoutes = new Map<string, RouteConfigModel>();
  private activeListeners = new Map<string, ListenerModel>();

  constructor(private readonly timeoutMs: number) {}

  apply(input: WarmingInput, now: number): WarmingResult {
    let nextDeadline = Infinity;
    const clusters = new Map<string, ClusterModel>();
    const warming = new Set<string>();
    for (const [name, c] of input.clusters) {
      const eds = c.type === 'EDS' ? c.edsServiceName ?? name : undefined;
      if (eds === undefined || input.endpoints.has(eds)) {
        this.since.delete(name);
        clusters.set(name, c);
        continue;
      }
      let since = this.since.get(name);
      if (since === undefined) this.since.set(name, (since = now));
      if (now - since >= this.timeoutMs) {
        clusters.set(name, c);
        continue;
      }
      nextDeadline = Math.min(nextDeadline, since + this.timeoutMs);
      const previous = this.activeClusters.get(name);
      if (previous) clusters.set(name, previous);
      else warming.add(name);
    }
    for (const name of [...this.since.keys()]) if (!input.clusters.has(name)) this.since.delete(name);
    const usable = (rc: RouteConfigModel): boolean => {
      const names = new Set<string>();
      referencedClusters(rc, names);
      for (const n of names) if (warming.has(n) || (!input.clustersSeen && !clusters.has(n))) return false;
      return true;
    };
    const routes = new Map<string, RouteConfigModel>();
    for (const [name, rc] of input.routes) {
      const chosen = usable(rc) ? rc : this.activeRoutes.get(name);
      if (chosen) routes.set(name, chosen);
    }
    const listeners = new Map<string, ListenerModel>();
    for (const [name, l] of input.listeners) {
      const ready = l.routeConfigName !== undefined ? routes.has(l.routeConfigName) : l.routeConfig === undefined || usable(l.routeConfig);
      const chosen = ready ? l : this.activeListeners.get(name);
      if (chosen) listeners.set(name, chosen);
    }
    this.activeClusters = clusters;
    this.activeRoutes = routes;
    this.activeListeners = listeners;
    return { listeners, routes, clusters, nextDeadline };
  }
}
