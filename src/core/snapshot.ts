/**
 * One immutable compiled snapshot: host index → listeners (with their route configuration and
 * pre-selected virtual host) and cluster runtimes. Built by {@link compileSnapshot} on every
 * update; cluster state is taken over from the previous snapshot by cluster name.
 */
import type { ClusterModel, EndpointsModel, ListenerModel, RouteConfigModel } from './model/index.js';
import { ClusterRuntime, ClusterState, type ClusterEnv } from './cluster.js';
import { compileListener, compileRouteConfig, type CompiledListener, type CompiledRouteConfig, type CompiledVirtualHost } from './compile.js';
import { defaultHttpFilterRuntimes, type HttpFilterRegistry } from './filters/registry.js';
import { HostIndex, parseListenerName } from './host-index.js';

/** The resources a snapshot is compiled from (the XdsClient's caches). */
export interface EngineResources {
  readonly listeners: ReadonlyMap<string, ListenerModel>;
  readonly routes: ReadonlyMap<string, RouteConfigModel>;
  readonly clusters: ReadonlyMap<string, ClusterModel>;
  readonly endpoints: ReadonlyMap<string, EndpointsModel>;
}

/** A listener as the host index stores it, with the virtual host its own name selects. */
export interface IndexedListener {
  readonly listener: CompiledListener;
  readonly vhost?: CompiledVirtualHost;
}

/** A compiled snapshot. */
export interface Snapshot {
  readonly version: number;
  readonly hosts: HostIndex<IndexedListener>;
  /** Listeners by LDS name (RequestInfo.listener). */
  readonly listeners?: ReadonlyMap<string, IndexedListener>;
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
}

/** Adds the clusters a route configuration routes or mirrors to (cluster_header targets are unknowable). */
export function referencedClusters(rc: RouteConfigModel, out: Set<string>): void {
  for (const vh of rc.virtualHosts) {
    for (const r of vh.routes) {
      if (r.action.kind === 'cluster') out.add(r.action.cluster);
      else if (r.action.kind === 'weighted') for (const c of r.action.clusters) out.add(c.name);
      for (const m of r.mirrors) out.add(m.cluster);
    }
  }
}

/**
 * Compiles resources into a snapshot. `states` is the engine's long-lived cluster state map;
 * it is updated in place (new clusters added, vanished ones dropped).
 */
export function compileSnapshot(
  version: number,
  res: EngineResources,
  states: Map<string, ClusterState>,
  env: ClusterEnv,
  namespace: string,
  domainSuffix: string,
  filters: HttpFilterRegistry = defaultHttpFilterRuntimes(),
): Snapshot {
  const routeConfigs = new Map<string, CompiledRouteConfig>();
  const rcFor = (name: string): CompiledRouteConfig | undefined => {
    let c = routeConfigs.get(name);
    if (!c) {
      const model = res.routes.get(name);
      if (!model) return undefined;
      routeConfigs.set(name, (c = compileRouteConfig(model)));
    }
    return c;
  };
  const referenced = new Set<string>();
  const indexed = new Map<string, IndexedListener>();
  for (const [name, l] of res.listeners) {
    const listener = compileListener(l, rcFor, filters);
    const rcModel = l.routeConfig ?? (l.routeConfigName !== undefined ? res.routes.get(l.routeConfigName) : undefined);
    if (rcModel) referencedClusters(rcModel, referenced);
    const { host, port } = parseListenerName(name);
    const vhost = listener.routeConfig?.domains.find(port === undefined ? [host] : [`${host}:${port}`, host]);
    indexed.set(name, vhost ? { listener, vhost } : { listener });
  }
  const names = new Set([...res.clusters.keys(), ...referenced]);
  const clusters = new Map<string, ClusterRuntime>();
  for (const name of names) {
    let state = states.get(name);
    if (!state) states.set(name, (state = new ClusterState(name)));
    const model = res.clusters.get(name);
    const endpoints = model === undefined ? undefined : model.type === 'EDS' ? res.endpoints.get(model.edsServiceName ?? name) : model.loadAssignment;
    clusters.set(name, new ClusterRuntime(name, model, state, env, endpoints));
  }
  for (const name of [...states.keys()]) if (!names.has(name)) states.delete(name);
  return { version, hosts: new HostIndex(indexed, namespace, domainSuffix), listeners: indexed, clusters };
}
