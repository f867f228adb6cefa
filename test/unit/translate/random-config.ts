// Seeded random Istio config and announcements for the incremental-translation tests: a small
// world of hosts (short names shared across namespaces, FQDNs, wildcards) so that random
// resources collide on hosts, bare names, subsets, delegates and listener names.
import { resourceKey, type IstioResource } from '../../../src/config/types.js';
import type { Announcement } from '../../../src/control/model.js';

/** Mulberry32: small, seeded, good enough to pick from lists. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = ['default', 'shop', 'infra'];
const SHORT = ['reviews', 'ratings', 'web', 'cart'];
const FQDN = ['api.example.com', 'pay.example.com', 'db.internal', 'reviews.default'];
const WILD = ['*.example.com', '*'];
const VERSIONS = ['v1', 'v2', 'v3'];
const PORTS = [80, 8080, 9090];

export class RandomConfig {
  private readonly r: () => number;
  /** Current resources by key and announcements by node id. */
  readonly resources = new Map<string, IstioResource>();
  readonly announcements = new Map<string, Announcement>();

  constructor(seed: number) {
    this.r = rng(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  private chance(p: number): boolean {
    return this.r() < p;
  }
  private some<T>(xs: readonly T[], max: number): T[] {
    const out = new Set<T>();
    const k = 1 + Math.floor(this.r() * max);
    for (let i = 0; i < k; i++) out.add(this.pick(xs));
    return [...out];
  }

  /** A host as config writes it: mostly short names (resolved in the resource's namespace). */
  private host(wild = 0): string {
    if (this.chance(wild)) return this.pick(WILD);
    if (this.chance(0.25)) return this.pick(FQDN);
    if (this.chance(0.2)) return `${this.pick(SHORT)}.${this.pick(NAMESPACES)}.svc.cluster.local`;
    return this.pick(SHORT);
  }
  private meta(kind: string): { name: string; namespace: string } {
    // Few names per kind, so that adds often replace and deletes often hit.
    return { name: `${kind.toLowerCase()}-${Math.floor(this.r() * 6)}`, namespace: this.pick(NAMESPACES) };
  }
  private labels(): Record<string, string> {
    const out: Record<string, string> = { app: this.pick(SHORT) };
    if (this.chance(0.8)) out.version = this.pick(VERSIONS);
    return out;
  }
  private address(): string {
    return this.chance(0.1) ? 'backend.example.net' : `10.0.${Math.floor(this.r() * 4)}.${1 + Math.floor(this.r() * 4)}`;
  }

  serviceEntry(): IstioResource {
    const ports = this.some(PORTS, 2).map((number) => ({ number, name: this.chance(0.3) ? `grpc-${number}` : `http-${number}`, ...(this.chance(0.3) ? { targetPort: number + 1 } : {}) }));
    const spec: Record<string, unknown> = {
      hosts: this.some([...SHORT, ...FQDN, `${this.pick(SHORT)}.${this.pick(NAMESPACES)}.svc.cluster.local`, ...(this.chance(0.1) ? ['*.example.com'] : [])], 2),
      ports,
      location: this.pick(['MESH_INTERNAL', 'MESH_EXTERNAL']),
      resolution: this.pick(['STATIC', 'STATIC', 'DNS', 'NONE']),
    };
    if (this.chance(0.3)) spec.workloadSelector = { labels: { app: this.pick(SHORT) } };
    else {
      spec.endpoints = Array.from({ length: Math.floor(this.r() * 4) }, () => {
        const ep: Record<string, unknown> = { address: this.address(), labels: this.labels() };
        if (this.chance(0.3)) ep.locality = this.pick(['us-east/a', 'us-east/b/1', 'eu/c']);
        if (this.chance(0.3)) ep.weight = 1 + Math.floor(this.r() * 5);
        if (this.chance(0.2)) ep.ports = { [`http-${this.pick(PORTS)}`]: 7000 };
        return ep;
      });
    }
    return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: this.meta('ServiceEntry'), spec } as never;
  }

  workloadEntry(): IstioResource {
    const spec: Record<string, unknown> = { address: this.address(), labels: this.labels() };
    if (this.chance(0.3)) spec.weight = 2;
    return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: this.meta('WorkloadEntry'), spec } as never;
  }

  private trafficPolicy(): Record<string, unknown> {
    const tp: Record<string, unknown> = {};
    if (this.chance(0.5)) tp.loadBalancer = this.pick([{ simple: 'ROUND_ROBIN' }, { simple: 'LEAST_REQUEST' }, { consistentHash: { httpHeaderName: 'x-user' } }, { consistentHash: { useSourceIp: true } }]);
    if (this.chance(0.3)) tp.connectionPool = { tcp: { maxConnections: 1 + Math.floor(this.r() * 100) }, http: { maxRequestsPerConnection: this.pick([0, 1, 5]) } };
    if (this.chance(0.3)) tp.outlierDetection = { consecutive5xxErrors: this.pick([0, 3]), interval: '5s', baseEjectionTime: '30s' };
    if (this.chance(0.2)) tp.portLevelSettings = [{ port: { number: this.pick(PORTS) }, loadBalancer: { simple: 'RANDOM' } }];
    return tp;
  }

  destinationRule(): IstioResource {
    const spec: Record<string, unknown> = { host: this.host(0.15) };
    if (this.chance(0.8)) {
      spec.subsets = this.some(VERSIONS, 3).map((v) => ({ name: v, labels: { version: v }, ...(this.chance(0.2) ? { trafficPolicy: this.trafficPolicy() } : {}) }));
    }
    if (this.chance(0.5)) spec.trafficPolicy = this.trafficPolicy();
    return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: this.meta('DestinationRule'), spec } as never;
  }

  private destination(): Record<string, unknown> {
    const d: Record<string, unknown> = { host: this.host() };
    if (this.chance(0.6)) d.subset = this.pick(VERSIONS);
    if (this.chance(0.3)) d.port = { number: this.pick(PORTS) };
    return d;
  }

  private httpRoute(delegates: boolean): Record<string, unknown> {
    const route: Record<string, unknown> = {};
    if (this.chance(0.5)) route.match = this.some([{ uri: { prefix: '/api' } }, { headers: { 'end-user': { exact: 'jason' } } }, { uri: { exact: '/x' }, port: this.pick(PORTS) }, { sourceLabels: { app: 'web' } }], 2);
    if (delegates && this.chance(0.25)) {
      route.delegate = { name: `delegate-${Math.floor(this.r() * 3)}`, namespace: this.pick(NAMESPACES) };
      return route;
    }
    const n = 1 + Math.floor(this.r() * 3);
    route.route = Array.from({ length: n }, () => ({ destination: this.destination(), ...(n > 1 ? { weight: Math.floor(this.r() * 100) } : {}) }));
    if (this.chance(0.3)) route.timeout = this.pick(['1s', '250ms']);
    if (this.chance(0.3)) route.retries = { attempts: this.pick([0, 2, 3]), perTryTimeout: '1s' };
    if (this.chance(0.2)) route.fault = { abort: { percentage: { value: 10 }, httpStatus: 503 } };
    if (this.chance(0.15)) route.mirror = this.destination();
    return route;
  }

  virtualService(): IstioResource {
    if (this.chance(0.2)) {
      // A delegate: no hosts, referenced by name from other VirtualServices' routes.
      const metadata = { name: `delegate-${Math.floor(this.r() * 3)}`, namespace: this.pick(NAMESPACES) };
      return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata, spec: { http: [this.httpRoute(false), this.httpRoute(false)] } } as never;
    }
    const spec: Record<string, unknown> = { hosts: this.some([this.host(0.15), this.host(0.15)], 2), http: Array.from({ length: 1 + Math.floor(this.r() * 2) }, () => this.httpRoute(true)) };
    if (this.chance(0.15)) spec.gateways = this.pick([['mesh'], ['my-gateway'], ['mesh', 'my-gateway']]);
    return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: this.meta('VirtualService'), spec } as never;
  }

  announcement(): Announcement {
    const a: Announcement = {
      nodeId: `node-${Math.floor(this.r() * 8)}`,
      service: this.pick(SHORT),
      namespace: this.pick(NAMESPACES),
      labels: this.labels(),
      address: `10.1.0.${1 + Math.floor(this.r() * 9)}`,
      ports: this.some(PORTS, 2).map((number) => ({ number, name: 'http', ...(this.chance(0.3) ? { targetPort: 3000 } : {}) })),
    };
    if (this.chance(0.3)) a.locality = 'us-east/a';
    if (this.chance(0.3)) a.serviceAccount = 'sa';
    return a;
  }

  /** One random add, modify or delete of one resource or announcement; returns what it did. */
  step(): string {
    const what = this.r();
    if (what < 0.15) {
      if (this.chance(0.3) && this.announcements.size > 0) {
        const id = this.pick([...this.announcements.keys()]);
        this.announcements.delete(id);
        return `withdraw ${id}`;
      }
      const a = this.announcement();
      this.announcements.set(a.nodeId, a);
      return `announce ${a.nodeId}`;
    }
    if (this.chance(0.3) && this.resources.size > 0) {
      const key = this.pick([...this.resources.keys()]);
      this.resources.delete(key);
      return `delete ${key}`;
    }
    const make = this.pick([() => this.serviceEntry(), () => this.serviceEntry(), () => this.destinationRule(), () => this.virtualService(), () => this.virtualService(), () => this.workloadEntry()]);
    const r = make();
    const key = resourceKey(r);
    const verb = this.resources.has(key) ? 'modify' : 'add';
    this.resources.set(key, r);
    return `${verb} ${key}`;
  }

  /** Resources sorted by key, as a ConfigStore lists them. */
  list(): IstioResource[] {
    return [...this.resources.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }

  /** Announcements sorted by node id, as the registry lists them. */
  announced(): Announcement[] {
    return [...this.announcements.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }
}
