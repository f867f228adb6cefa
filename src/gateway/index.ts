/**
 * `meshlet/gateway`: the ingress gateway, a meshlet process that serves Istio Gateway resources.
 * It joins the control plane as a proxy of kind gateway (an Istio `router~…` node id), which
 * sends it the listeners and route configurations of the Gateways whose `selector` matches its
 * labels (control/translate/gateway.ts); it binds each server port and forwards every request
 * through the same engine and dispatcher a mesh client uses.
 */
import { randomBytes } from 'node:crypto';
import { createMesh, meshTlsOf } from '../mesh/create.js';
import type { Mesh } from '../mesh/types.js';
import type { ListenerModel } from '../core/model/index.js';
import { trace } from '../internal/debug.js';
import { TYPE_URL } from '../xds/type-urls.js';
import type { Disposable } from '../internal/events.js';
import { gatewayPorts, GATEWAY_METADATA, type GatewayPort } from './config.js';
import { DEFAULT_LIMITS, PortServer, type GatewayLimits } from './port-server.js';
import type { TcpGatewayLimits } from './passthrough.js';
import { gatewayTcpMetrics, TcpGatewayPorts } from './tcp-ports.js';

export type { GatewayLimits } from './port-server.js';
export type { TcpGatewayLimits } from './passthrough.js';
export type { GatewayPort, GatewayRoute, ServerTls } from './config.js';

const log = trace('gateway');

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** `host:port` of the control server's xDS port (default env `MESHLET_CONTROL_PLANE`, else `127.0.0.1:15010`). */
  controlPlane?: string;
  /** The labels Gateway `selector`s match. Default `{ istio: 'ingressgateway' }`. */
  labels?: Record<string, string>;
  /** A join token: the gateway's own identity for mTLS to the services (`meshlet token create`). */
  token?: string;
  /** Gateway server port → local port to bind (0: a free one). An unmapped server port binds as numbered. */
  ports?: Record<number, number>;
  /** Directory of `credentialName` secrets: `<dir>/<name>/{tls.crt,tls.key,ca.crt}`. */
  credentials?: string;
  /** Interface to bind (a server's `bind` overrides it). Default `0.0.0.0`. */
  host?: string;
  /** Default `istio-system` (a token's namespace wins). */
  namespace?: string;
  /** Workload name, for metrics (`source_workload`) and the node id. Default `istio-ingressgateway`. */
  service?: string;
  /** Serve Istio metrics (`reporter="source"`) at GET /stats/prometheus on this port (0: free one). */
  metricsPort?: number;
  /** How long `close()` lets requests in flight finish. Default 5000 ms. */
  drainTimeoutMs?: number;
  /** How long `createGateway()` waits for the first config. Default 5000 ms. */
  initialFetchTimeoutMs?: number;
  limits?: GatewayLimits;
  /** Limits of TLS PASSTHROUGH and TCP server ports (ClientHello timeout and size, connections). */
  tcpLimits?: TcpGatewayLimits;
}

/** A running gateway. */
export interface Gateway {
  /** Gateway server port → bound local port, for the ports currently served. */
  readonly ports: Readonly<Record<number, number>>;
  /** The mesh client the gateway forwards through (its dispatcher, engine, metrics port). */
  readonly mesh: Mesh;
  /** Why listeners or certificates were not served (bad metadata, unreadable files, ports that failed to bind). */
  readonly problems: readonly string[];
  /** Resolves once the served ports reflect the latest listeners the control plane sent. */
  settled(): Promise<void>;
  /** Stops accepting, drains requests in flight, then closes the mesh client. */
  close(): Promise<void>;
}

/**
 * Starts an ingress gateway.
 *
 * @example
 * ```ts
 * import { createGateway } from 'meshlet-node/gateway';
 * const gw = await createGateway({ controlPlane: '127.0.0.1:15010', labels: { istio: 'ingressgateway' }, ports: { 80: 8080 } });
 * await fetch(`http://127.0.0.1:${gw.ports[80]}/productpage`);
 * process.on('SIGTERM', () => void gw.close());
 * ```
 */
export async function createGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const service = options.service ?? 'istio-ingressgateway';
  const namespace = options.namespace ?? 'istio-system';
  const mesh = await createMesh({
    ...(options.controlPlane !== undefined ? { controlPlane: options.controlPlane } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
    ...(options.initialFetchTimeoutMs !== undefined ? { initialFetchTimeoutMs: options.initialFetchTimeoutMs } : {}),
    service,
    // With a token, its namespace is the gateway's (createMesh refuses a different one).
    ...(options.token === undefined ? { namespace } : {}),
    labels: options.labels ?? { istio: 'ingressgateway' },
    // Istio's gateway node id, `router~<ip>~<pod>~<ns>.svc.cluster.local`: the control plane keys the proxy kind on `router`.
    nodeId: `router~127.0.0.1~${service}-${process.pid}-${randomBytes(3).toString('hex')}~${namespace}.svc.cluster.local`,
  });
  const gw = new GatewayProcess(mesh, options);
  await gw.start();
  return gw;
}

class GatewayProcess implements Gateway {
  private readonly listeners = new Map<string, ListenerModel>();
  private readonly servers = new Map<number, PortServer>();
  /** TLS PASSTHROUGH and TCP servers (passthrough.ts). */
  private readonly tcp: TcpGatewayPorts;
  private readonly watch: Disposable;
  /** ISTIO_MUTUAL servers serve the gateway's SVID: a rotation reloads the ports' TLS. */
  private readonly rotation: Disposable | undefined;
  private readonly limits: Required<GatewayLimits>;
  private current: Promise<void> = Promise.resolve();
  private dirty = false;
  private closing: Promise<void> | undefined;
  problems: string[] = [];

  constructor(readonly mesh: Mesh, private readonly options: GatewayOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.tcp = new TcpGatewayPorts({ engine: mesh.engine, metrics: gatewayTcpMetrics(mesh, options), host: options.host ?? '0.0.0.0', ports: options.ports, limits: options.tcpLimits });
    this.rotation = meshTlsOf(mesh)?.onChange(() => {
      if ([...this.listeners.values()].some((l) => JSON.stringify(l.metadata?.[GATEWAY_METADATA] ?? {}).includes('ISTIO_MUTUAL'))) this.schedule();
    });
    this.watch = mesh.xds.watch(TYPE_URL.listener, '*', {
      onChange: (name, l) => {
        if (!l.metadata?.[GATEWAY_METADATA] && !l.tcp && !this.listeners.has(name)) return;
        this.listeners.set(name, l);
        this.schedule();
      },
      onRemove: (name) => {
        if (this.listeners.delete(name)) this.schedule();
      },
    });
  }

  get ports(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const [port, s] of this.servers) out[port] = s.port;
    return { ...this.tcp.ports, ...out };
  }

  async start(): Promise<void> {
    // The xDS client replays its cache to a new watch in a microtask.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.settled();
  }

  settled(): Promise<void> {
    return this.current;
  }

  /** Coalesces listener changes into one reconcile at a time. */
  private schedule(): void {
    if (this.closing) return;
    if (this.dirty) return;
    this.dirty = true;
    this.current = this.current.then(() => {
      this.dirty = false;
      return this.reconcile();
    }).catch((err: unknown) => log('reconcile failed: %o', err));
  }

  private async reconcile(): Promise<void> {
    if (this.closing) return;
    const { ports, problems } = gatewayPorts(this.listeners.values());
    const wanted = new Map<number, GatewayPort>(ports.map((p) => [p.port, p]));
    for (const [port, s] of [...this.servers]) {
      const next = wanted.get(port);
      if (!next || next.protocol !== s.protocol) {
        this.servers.delete(port);
        await s.close(this.options.drainTimeoutMs ?? 5000);
      }
    }
    for (const p of ports) {
      const existing = this.servers.get(p.port);
      if (existing) {
        await existing.update(p, this.options.credentials, problems);
        continue;
      }
      const local = this.options.ports?.[p.port] ?? p.port;
      try {
        const s = await PortServer.start(p, this.mesh.dispatcher, { host: this.options.host ?? '0.0.0.0', port: local, credentials: this.options.credentials, limits: this.limits, meshTls: meshTlsOf(this.mesh) }, problems);
        if (this.closing) await s.close(0);
        else this.servers.set(p.port, s);
      } catch (err) {
        problems.push(`port ${p.port} (local ${local}): ${(err as Error).message}`);
      }
    }
    await this.tcp.reconcile(this.listeners.values(), problems, new Set(this.servers.keys()), this.options.drainTimeoutMs ?? 5000);
    this.problems = problems;
    for (const p of problems) log('%s', p);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watch.dispose();
      this.rotation?.dispose();
      await this.current;
      const drain = this.options.drainTimeoutMs ?? 5000;
      await Promise.all([...this.servers.values()].map((s) => s.close(drain)).concat(this.tcp.close(drain)));
      this.servers.clear();
      await this.mesh.close();
    })();
    return this.closing;
  }
}
