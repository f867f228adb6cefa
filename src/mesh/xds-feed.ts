/**
 * Feeds the engine from the xDS client: wildcard LDS and CDS, then the RDS names listeners point
 * at and the EDS names EDS clusters point at (unwatched when nothing names them any more).
 * Changes are coalesced into one `engine.update()` per tick (setImmediate, not unref'd). A
 * listener reaches the engine only once its RDS resource has, and a route only once the
 * clusters it routes to have their endpoints (Envoy's listener and cluster warming, see
 * warming.ts).
 */
import type { Disposable } from '../internal/events.js';
import type { XdsClient } from '../xds/ads-client.js';
import type { ClusterModel, EndpointsModel, JwtAuthnModel, ListenerModel, RouteConfigModel } from '../core/model/index.js';
import { TYPE_URL } from '../xds/type-urls.js';
import { trace } from '../internal/debug.js';
import { Warming } from './warming.js';
import { AuthzEngine, authzFromListeners } from '../security/authz/index.js';
import { inboundListenerName } from '../xds/resources/inbound.js';

const log = trace('mesh');

/** The part of the engine controller the feed drives. */
export interface EngineSink {
  update(config: {
    listeners: ReadonlyMap<string, ListenerModel>;
    routes: ReadonlyMap<string, RouteConfigModel>;
    clusters: ReadonlyMap<string, ClusterModel>;
    endpoints: ReadonlyMap<string, EndpointsModel>;
  }): void;
}

/** A ref-counted named watch. */
interface NamedWatch {
  refs: number;
  watch: Disposable;
}

/**
 * Wires an {@link XdsClient} to an engine.
 *
 * @example
 * ```ts
 * const feed = new XdsFeed(xds, engine);
 * await feed.ready(5000); // true once LDS+CDS and what they name arrived
 * feed.dispose();
 * ```
 */
export class XdsFeed {
  private readonly listeners = new Map<string, ListenerModel>();
  private readonly routes = new Map<string, RouteConfigModel>();
  private readonly clusters = new Map<string, ClusterModel>();
  private readonly endpoints = new Map<string, EndpointsModel>();
  private readonly rds = new Map<string, NamedWatch>();
  private readonly eds = new Map<string, NamedWatch>();
  private readonly listenerRds = new Map<string, string>();
  private readonly clusterEds = new Map<string, string>();
  private readonly subs: Disposable[] = [];
  private readonly seen = new Set<string>();
  private waiters: Array<() => void> = [];
  private immediate: NodeJS.Immediate | undefined;
  private warmingTimer: NodeJS.Timeout | undefined;
  private readonly warming: Warming;
  private disposed = false;
  /** Inbound listeners (`xds.istio.io/grpc/lds/inbound/…`), kept apart from the outbound engine. */
  private readonly inbound = new Map<string, ListenerModel>();
  private readonly inboundWatches = new Map<string, Disposable>();
  private inboundDirty = false;
  private authzEngine: AuthzEngine = AuthzEngine.EMPTY;
  private readonly authzListeners = new Set<(engine: AuthzEngine) => void>();

  /** `warmingTimeoutMs`: how long a cluster may wait for its endpoints (Envoy's initial_fetch_timeout, 15 s). */
  constructor(private readonly client: XdsClient, private readonly engine: EngineSink, warmingTimeoutMs = 15_000) {
    this.warming = new Warming(warmingTimeoutMs);
    this.subs.push(
      client.watch(TYPE_URL.listener, '*', {
        onChange: (name, l) => {
          if (l.inbound) {
            this.inbound.set(name, l);
            this.inboundDirty = true;
            this.schedule();
            return;
          }
          this.listeners.set(name, l);
          this.link(this.listenerRds, this.rds, name, l.routeConfigName, (n) => this.watchRds(n));
          this.schedule();
        },
        onRemove: (name) => {
          if (this.inbound.delete(name)) {
            this.inboundDirty = true;
            this.schedule();
            return;
          }
          this.listeners.delete(name);
          this.link(this.listenerRds, this.rds, name, undefined, (n) => this.watchRds(n));
          this.schedule();
        },
      }),
      client.watch(TYPE_URL.cluster, '*', {
        onChange: (name, c) => {
          this.clusters.set(name, c);
          const eds = c.type === 'EDS' ? c.edsServiceName ?? c.name : undefined;
          this.link(this.clusterEds, this.eds, name, eds, (n) => this.watchEds(n));
          this.schedule();
        },
        onRemove: (name) => {
          this.clusters.delete(name);
          this.link(this.clusterEds, this.eds, name, undefined, (n) => this.watchEds(n));
          this.schedule();
        },
      }),
      client.on('ack', (typeUrl) => this.sawType(typeUrl)),
      client.on('nack', (typeUrl) => this.sawType(typeUrl)),
    );
  }

  /** Resolves true when the first full config arrived, false after `timeoutMs` (never rejects). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        log('initial xDS fetch not complete after %d ms; serving what arrived', timeoutMs);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  /**
   * Subscribes the inbound listeners of the ports this mesh serves (Istio's proxyless server
   * names, `xds.istio.io/grpc/lds/inbound/0.0.0.0:<port>`), unsubscribing ports no longer served.
   *
   * @example
   * ```ts
   * feed.setInboundPorts([9080]);
   * feed.authz.inboundMode(9080); // once the listener arrived: 'STRICT' | 'PERMISSIVE' | 'DISABLE'
   * ```
   */
  setInboundPorts(ports: Iterable<number>): void {
    if (this.disposed) return;
    const want = new Set([...ports].map((p) => inboundListenerName('0.0.0.0', p)));
    for (const [name, w] of this.inboundWatches) {
      if (want.has(name)) continue;
      w.dispose();
      this.inboundWatches.delete(name);
      if (this.inbound.delete(name)) this.inboundDirty = true;
    }
    // The wildcard watch above receives the data; a named watch puts the name in the request.
    for (const name of want) if (!this.inboundWatches.has(name)) this.inboundWatches.set(name, this.client.watch(TYPE_URL.listener, name, { onChange: () => {}, onRemove: () => {} }));
    if (this.inboundDirty) this.schedule();
  }

  /** The authorization engine compiled from the current inbound listeners (recompiled on change). */
  /** RequestAuthentication per inbound port: the jwt_authn filter of each inbound listener's chains. */
  jwtPorts(): Array<[number, JwtAuthnModel | undefined]> {
    const out: Array<[number, JwtAuthnModel | undefined]> = [];
    for (const l of this.inbound.values()) {
      const inbound = l.inbound;
      if (inbound) out.push([inbound.port, inbound.chains.find((c) => c.jwt)?.jwt]);
    }
    return out;
  }

  get authz(): AuthzEngine {
    return this.authzEngine;
  }

  /** Called with each newly compiled authorization engine. */
  onAuthz(fn: (engine: AuthzEngine) => void): Disposable {
    this.authzListeners.add(fn);
    return { dispose: () => this.authzListeners.delete(fn) };
  }

  /** Stops watching; the engine keeps its last config. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.inboundWatches.values()) w.dispose();
    this.inboundWatches.clear();
    this.authzListeners.clear();
    if (this.immediate) clearImmediate(this.immediate);
    if (this.warmingTimer) clearTimeout(this.warmingTimer);
    for (const s of this.subs) s.dispose();
    for (const w of [...this.rds.values(), ...this.eds.values()]) w.watch.dispose();
    this.rds.clear();
    this.eds.clear();
    for (const w of this.waiters) w();
    this.waiters = [];
  }

  private isReady(): boolean {
    if (!this.seen.has(TYPE_URL.listener) || !this.seen.has(TYPE_URL.cluster)) return false;
    for (const name of this.rds.keys()) if (!this.routes.has(name)) return false;
    for (const name of this.eds.keys()) if (!this.endpoints.has(name)) return false;
    return true;
  }

  private sawType(typeUrl: string): void {
    if (typeUrl !== TYPE_URL.listener && typeUrl !== TYPE_URL.cluster) return;
    this.seen.add(typeUrl);
    this.schedule();
  }

  /** Moves `owner`'s reference from its previous name to `next`, watching/unwatching as refs change. */
  private link(owners: Map<string, string>, watches: Map<string, NamedWatch>, owner: string, next: string | undefined, watch: (name: string) => Disposable): void {
    const prev = owners.get(owner);
    if (prev === next) return;
    if (next !== undefined) {
      owners.set(owner, next);
      const w = watches.get(next);
      if (w) w.refs++;
      else watches.set(next, { refs: 1, watch: watch(next) });
    } else owners.delete(owner);
    if (prev !== undefined) {
      const w = watches.get(prev);
      if (w && --w.refs === 0) {
        watches.delete(prev);
        w.watch.dispose();
        (watches === this.rds ? this.routes : this.endpoints).delete(prev);
      }
    }
  }

  private watchRds(name: string): Disposable {
    return this.client.watch(TYPE_URL.route, name, {
      onChange: (n, rc) => {
        this.routes.set(n, rc);
        this.schedule();
      },
      onRemove: (n) => {
        this.routes.delete(n);
        this.schedule();
      },
    });
  }

  private watchEds(name: string): Disposable {
    return this.client.watch(TYPE_URL.endpoint, name, {
      onChange: (n, eps) => {
        this.endpoints.set(n, eps);
        this.schedule();
      },
      onRemove: (n) => {
        this.endpoints.delete(n);
        this.schedule();
      },
    });
  }

  /** A cluster still warming becomes usable (without endpoints) at its deadline: flush again then. */
  private armWarmingTimer(deadline: number): void {
    if (this.warmingTimer) clearTimeout(this.warmingTimer);
    this.warmingTimer = undefined;
    if (deadline === Infinity || this.disposed) return;
    this.warmingTimer = setTimeout(() => this.schedule(), Math.max(0, deadline - Date.now()) + 1);
    this.warmingTimer.unref();
  }

  private schedule(): void {
    if (this.immediate || this.disposed) return;
    this.immediate = setImmediate(() => this.flush());
  }

  private flush(): void {
    this.immediate = undefined;
    if (this.disposed) return;
    if (this.inboundDirty) {
      this.inboundDirty = false;
      try {
        this.authzEngine = authzFromListeners(this.inbound);
        for (const fn of this.authzListeners) fn(this.authzEngine);
      } catch (err) {
        log('authorization engine update threw: %o', err);
      }
    }
    try {
      const warm = this.warming.apply(
        { listeners: this.listeners, routes: this.routes, clusters: this.clusters, endpoints: this.endpoints, clustersSeen: this.seen.has(TYPE_URL.cluster) },
        Date.now(),
      );
      this.engine.update({ listeners: warm.listeners, routes: warm.routes, clusters: warm.clusters, endpoints: new Map(this.endpoints) });
      this.armWarmingTimer(warm.nextDeadline);
    } catch (err) {
      log('engine.update threw: %o', err);
    }
    if (this.waiters.length > 0 && this.isReady()) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }
}
