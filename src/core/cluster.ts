/**
 * Clusters at run time. A {@link ClusterState} is long-lived (keyed by cluster name, carried
 * from snapshot to snapshot): breaker counters and per-host state (active requests, outlier
 * detection). A {@link ClusterRuntime} belongs to one snapshot: the cluster's config, its hosts
 * and the load plan (priorities, localities, pickers), rebuilt lazily when host health changes.
 */
import { selectTransport, type ClusterModel, type EndpointsModel, type LocalityModel, type OutlierDetectionModel } from './model/index.js';
import { Host } from './balancer/host.js';
import { isHashPolicy } from './balancer/index.js';
import { buildLoadPlan, type LoadPlan } from './balancer/priority.js';
import { hashHi, hashLo, randomHalf } from './hash.js';
import { ClusterCounters } from './resilience/breaker.js';
import { recordOutcome, uneject } from './resilience/outlier.js';
import type { AttemptOutcome, UpstreamEndpoint } from './types.js';

/** Envoy's default thresholds, for clusters we have no CDS resource for. */
export const DEFAULT_BREAKERS = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 } as const;

/** Shared services a cluster needs from its engine. */
export interface ClusterEnv {
  readonly random: () => number;
  readonly now: () => number;
  /** The process's locality, if known: derives failover priorities when EDS gives none. */
  readonly locality?: LocalityModel;
}

/** State of one cluster that outlives snapshots. */
export class ClusterState {
  readonly counters: ClusterCounters;
  readonly hosts = new Map<string, Host>();
  /** The newest snapshot's hosts. */
  hostList: readonly Host[] = [];
  outlier: OutlierDetectionModel | undefined;
  /** Bumped whenever a host's eligibility changes (ejection, return): plans rebuild lazily. */
  healthEpoch = 0;
  ejectedCount = 0;
  nextExpiry = Infinity;

  constructor(readonly name: string) {
    this.counters = new ClusterCounters(DEFAULT_BREAKERS);
  }

  /** Returns hosts whose ejection time is up (lazy: called at pick time). */
  refreshEjections(now: number): void {
    let next = Infinity;
    let count = 0;
    for (const h of this.hostList) {
      const s = h.outlier;
      if (!s.ejected) continue;
      if (now >= s.ejectedUntil) uneject(h, now);
      else {
        count++;
        if (s.ejectedUntil < next) next = s.ejectedUntil;
      }
    }
    if (count !== this.ejectedCount) this.healthEpoch++;
    this.ejectedCount = count;
    this.nextExpiry = next;
  }

  /** Records an attempt outcome for outlier detection. */
  record(host: Host, outcome: AttemptOutcome, env: ClusterEnv): void {
    const cfg = this.outlier;
    if (!cfg || !this.hosts.has(host.key)) return;
    const now = env.now();
    if (this.ejectedCount > 0 && now >= this.nextExpiry) this.refreshEjections(now);
    const ejected = recordOutcome(cfg, host, outcome, { hostCount: this.hostList.length, ejectedCount: this.ejectedCount }, now, env.random);
    if (ejected) {
      this.ejectedCount++;
      if (host.outlier.ejectedUntil < this.nextExpiry) this.nextExpiry = host.outlier.ejectedUntil;
      this.healthEpoch++;
    }
  }
}

function derivePriority(own: LocalityModel, l: LocalityModel): number {
  if (l.region !== own.region) return 3;
  if (l.zone !== own.zone) return 2;
  return l.subZone === own.subZone ? 0 : 1;
}

/** One cluster in one snapshot. */
export class ClusterRuntime {
  readonly hashed: boolean;
  private plan: LoadPlan;
  private planEpoch: number;

  constructor(
    readonly name: string,
    readonly model: ClusterModel | undefined,
    readonly state: ClusterState,
    private readonly env: ClusterEnv,
    endpoints: EndpointsModel | undefined,
  ) {
    this.hashed = model !== undefined && isHashPolicy(model.lbPolicy);
    if (model) state.counters.limits = model.circuitBreakers;
    state.outlier = model?.outlierDetection;
    const hosts = this.syncHosts(endpoints);
    state.hostList = hosts;
    // Hosts that left the cluster may have been ejected: recount.
    state.refreshEjections(env.now());
    state.healthEpoch++;
    this.planEpoch = state.healthEpoch;
    this.plan = this.build();
  }

  private syncHosts(endpoints: EndpointsModel | undefined): Host[] {
    const state = this.state;
    const model = this.model;
    const seen = new Map<string, Host>();
    const localities = endpoints?.localities ?? [];
    const own = this.env.locality;
    const derive = own !== undefined && localities.every((l) => l.priority === 0);
    const foldLocality = this.hashed && model?.localityWeighted === true;
    for (const loc of localities) {
      for (const ep of loc.endpoints) {
        const key = `${ep.address}:${ep.port}`;
        if (seen.has(key)) continue; // the first occurrence wins, as the same address can't be two hosts
        const host = state.hosts.get(key) ?? new Host(ep.address, ep.port);
        host.labels = ep.labels;
        host.transport = selectTransport(model?.transport, ep.metadata['envoy.transport_socket_match']);
        host.locality = loc.locality;
        host.health = ep.health;
        host.localityWeight = loc.weight > 0 ? loc.weight : 1;
        host.weight = (ep.weight > 0 ? ep.weight : 1) * (foldLocality ? host.localityWeight : 1);
        host.priority = derive ? derivePriority(own, loc.locality) : loc.priority;
        seen.set(key, host);
      }
    }
    state.hosts.clear();
    for (const [k, h] of seen) state.hosts.set(k, h);
    return [...seen.values()];
  }

  private build(): LoadPlan {
    const m = this.model;
    const options = {
      random: this.env.random,
      ...(m?.ringHash ? { ringHash: m.ringHash } : {}),
      ...(m?.choiceCount !== undefined ? { choiceCount: m.choiceCount } : {}),
      ...(m?.maglevTableSize !== undefined ? { maglevTableSize: m.maglevTableSize } : {}),
    };
    return buildLoadPlan(this.state.hostList, m?.lbPolicy ?? 'ROUND_ROBIN', m?.localityWeighted ?? false, options, m?.healthyPanicThreshold);
  }

  /** The current plan, rebuilt if host eligibility changed since it was built. */
  loadPlan(): LoadPlan {
    const state = this.state;
    if (state.ejectedCount > 0 && this.env.now() >= state.nextExpiry) state.refreshEjections(this.env.now());
    if (this.planEpoch !== state.healthEpoch) {
      this.planEpoch = state.healthEpoch;
      this.plan = this.build();
    }
    return this.plan;
  }

  /**
   * Picks a host. `hash` is the 64-bit request hash for consistent-hash policies (undefined:
   * none, a random one is drawn, as Envoy does). `tried` hosts are avoided with up to 5 re-picks
   * (Istio's previous_hosts setting); if every re-pick lands on a tried host the last pick is used.
   */
  pick(hash: bigint | undefined, tried?: readonly UpstreamEndpoint[]): Host | undefined {
    const plan = this.loadPlan();
    let hi = 0;
    let lo = 0;
    if (this.hashed) {
      hi = hash === undefined ? randomHalf(this.env.random) : hashHi(hash);
      lo = hash === undefined ? randomHalf(this.env.random) : hashLo(hash);
    }
    let host = plan.pick(hi, lo, 0);
    if (!tried || tried.length === 0 || !host) return host;
    for (let attempt = 1; attempt <= 5 && host !== undefined && wasTried(host, tried); attempt++) host = plan.pick(hi, lo, attempt);
    return host;
  }

  /** The live Host for an endpoint handed out earlier (by identity, else by key). */
  hostOf(ep: UpstreamEndpoint): Host | undefined {
    return ep instanceof Host ? ep : this.state.hosts.get(ep.key);
  }

  startAttempt(ep: UpstreamEndpoint): void {
    const h = this.hostOf(ep);
    if (h) h.active++;
  }

  endAttempt(ep: UpstreamEndpoint, outcome: AttemptOutcome): void {
    const h = this.hostOf(ep);
    if (!h) return;
    if (h.active > 0) h.active--;
    this.state.record(h, outcome, this.env);
  }
}

function wasTried(host: Host, tried: readonly UpstreamEndpoint[]): boolean {
  for (let i = 0; i < tried.length; i++) if ((tried[i] as UpstreamEndpoint).key === host.key) return true;
  return false;
}
