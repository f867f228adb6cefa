/**
 * The gateway's TCP proxy ports (TLS PASSTHROUGH and TCP servers) reconciled with its listeners:
 * one {@link TcpPortServer} (passthrough.ts) per LDS socket listener with tcp_proxy chains,
 * bound on the Gateway server port (or the local port `ports` maps it to), updated in place when
 * its chains change, closed with a drain when the listener goes. Plus the gateway's TCP metrics.
 */
import type { ListenerModel } from '../core/model/index.js';
import type { Engine } from '../core/types.js';
import type { Mesh } from '../mesh/types.js';
import type { IstioMetrics } from '../telemetry/metrics.js';
import { workloadLabels } from '../telemetry/metrics-labels.js';
import { METRICS_REGISTRY, TcpMetrics } from '../telemetry/tcp-metrics.js';
import { DEFAULT_TCP_LIMITS, TcpPortServer, type PortEnv, type TcpGatewayLimits } from './passthrough.js';
import { MAX_CLIENT_HELLO } from './sni.js';
import { TcpChainRouter } from './tcp-routes.js';

/** One TCP proxy listener to serve. */
export interface TcpPort {
  /** LDS name (`0.0.0.0_443`). */
  name: string;
  router: TcpChainRouter;
}

/** The TCP proxy listeners among a gateway's listeners (those with a `tcp` model), compiled, in port order. */
export function tcpPorts(listeners: Iterable<ListenerModel>): TcpPort[] {
  const out: TcpPort[] = [];
  for (const l of listeners) if (l.tcp) out.push({ name: l.name, router: new TcpChainRouter(l.tcp) });
  return out.sort((a, b) => a.router.listener.port - b.router.listener.port || (a.name < b.name ? -1 : 1));
}

/** Options of {@link TcpGatewayPorts}. */
export interface TcpGatewayPortsOptions {
  engine: Engine;
  metrics: TcpMetrics | undefined;
  /** Default interface (a listener's own non-wildcard address wins). */
  host: string;
  /** Server port → local port. */
  ports?: Record<number, number> | undefined;
  limits?: TcpGatewayLimits | undefined;
  random?: () => number;
}

/**
 * The TCP proxy ports of a gateway, reconciled with its listeners.
 *
 * @example
 * ```ts
 * const tcp = new TcpGatewayPorts({ engine: mesh.engine, metrics, host: '0.0.0.0' });
 * await tcp.reconcile(listeners.values(), problems, new Set([80]));
 * tcp.ports; // { 443: 8443 }
 * ```
 */
export class TcpGatewayPorts {
  private readonly servers = new Map<string, { port: number; server: TcpPortServer }>();
  private readonly env: PortEnv;

  constructor(private readonly options: TcpGatewayPortsOptions) {
    const limits = { ...DEFAULT_TCP_LIMITS, ...options.limits };
    limits.maxClientHelloBytes = Math.min(MAX_CLIENT_HELLO, Math.max(512, limits.maxClientHelloBytes));
    this.env = { engine: options.engine, metrics: options.metrics, limits, random: options.random ?? Math.random };
  }

  /** Server port → bound port. */
  get ports(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const { port, server } of this.servers.values()) out[port] = server.port;
    return out;
  }

  /** Binds, updates and closes ports to match `listeners`; `taken`: ports the HTTP side serves. */
  async reconcile(listeners: Iterable<ListenerModel>, problems: string[], taken: ReadonlySet<number>, drainMs: number): Promise<void> {
    const wanted = new Map<string, TcpPort>();
    for (const p of tcpPorts(listeners)) {
      const port = p.router.listener.port;
      if (taken.has(port)) problems.push(`listener ${p.name}: port ${port} is already served as HTTP/HTTPS`);
      else wanted.set(p.name, p);
    }
    for (const [name, s] of [...this.servers]) {
      if (wanted.has(name)) continue;
      this.servers.delete(name);
      await s.server.close(drainMs);
    }
    for (const [name, p] of wanted) {
      const existing = this.servers.get(name);
      if (existing) {
        existing.server.update(p);
        continue;
      }
      const serverPort = p.router.listener.port;
      const local = this.options.ports?.[serverPort] ?? serverPort;
      const address = p.router.listener.address;
      const host = address === '0.0.0.0' || address === '::' ? this.options.host : address;
      try {
        this.servers.set(name, { port: serverPort, server: await TcpPortServer.start(p, this.env, host, local) });
      } catch (err) {
        problems.push(`listener ${name} (local ${host}:${local}): ${(err as Error).message}`);
      }
    }
  }

  async close(drainMs: number): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => s.server.close(drainMs)));
  }
}

/**
 * The gateway's TCP metrics, in its mesh's registry (undefined when the mesh records none), with
 * the gateway as the source workload, as its HTTP metrics name it.
 */
export function gatewayTcpMetrics(mesh: Mesh, options: { service?: string; namespace?: string; labels?: Record<string, string> }): TcpMetrics | undefined {
  const registry = (mesh as Mesh & { [METRICS_REGISTRY]?: IstioMetrics })[METRICS_REGISTRY];
  if (!registry) return undefined;
  const ns = /\/ns\/([^/]+)\//.exec(mesh.identity ?? '')?.[1] ?? options.namespace ?? 'istio-system';
  return new TcpMetrics(registry, workloadLabels({ service: options.service ?? 'istio-ingressgateway', namespace: ns, labels: options.labels ?? { istio: 'ingressgateway' } }));
}
