/**
 * `createMesh()`: one engine, one xDS client feeding it, one dispatcher for outbound traffic,
 * an inbound pipeline for `listen()`ed servers, and the shutdown order that keeps callers from
 * seeing errors: deregister → drain → close xDS → close connection pools.
 */
import { meshGrpc, type MeshGrpc } from '../grpc/mesh-grpc.js';
import { randomBytes } from 'node:crypto';
import { fetch as undiciFetch, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { createEngine } from '../core/index.js';
import { loadXxhash } from '../core/xxhash.js';
import { meshError } from '../errors.js';
import { MeshDispatcher } from '../http/dispatcher.js';
import { InboundServer, type ListenHandle, type ListenOptions, type ListenTarget } from '../http/inbound.js';
import { contextOf, InboundPipeline } from '../http/pipeline.js';
import { JwtAuthnStage } from '../security/jwt/stage.js';
import { INBOUND_PHASE, InboundPolicy } from '../security/inbound-policy.js';
import { authzStage } from '../security/authz/stage.js';
import { recordObserver, type RequestRecord } from '../telemetry/record.js';
import { CallObservers, type CallObserver } from '../core/observer.js';
import { trace } from '../internal/debug.js';
import { XdsClient } from '../xds/ads-client.js';
import { EventSet, type Disposable } from '../internal/events.js';
import { buildNode, type BuildNodeOptions, type NodePort } from '../xds/node.js';
import type { CloseOptions, Mesh, MeshEvents, MeshInbound, MeshOptions } from './types.js';
import { channels } from '../telemetry/diagnostics.js';
import { controlPlanes, ControlPlaneState, type Unreachable } from './control-plane.js';
import { XdsFeed } from './xds-feed.js';
import { startMeshMetrics, type MeshMetrics } from '../telemetry/mesh-metrics.js';
import { encodePeerMetadata, type PeerMetadataHeaders } from '../telemetry/peer-metadata.js';
import { workloadLabels } from '../telemetry/metrics-labels.js';
import { METRICS_REGISTRY } from '../telemetry/tcp-metrics.js';
import { MeshTelemetry } from '../telemetry/mesh-telemetry.js';
import { TYPE_URL } from '../xds/type-urls.js';
import { tokenSource } from './token.js';
import type { MeshTls } from '../security/tls/mesh-tls.js';
import { DEFAULT_INBOUND_MODE, InboundTls } from '../security/tls/inbound.js';
import { parseWorkloadSpiffeId } from '../security/identity/spiffe-id.js';

const log = trace('mesh');

const DEFAULT_CONTROL_PLANE = '127.0.0.1:15010';

/**
 * Creates a mesh client and waits (up to `initialFetchTimeoutMs`) for its first config. Never
 * rejects because the control plane is down: the mesh starts empty (everything passes through)
 * and fills in when the control server answers.
 *
 * @example
 * ```ts
 * import { createMesh } from 'meshlet-node';
 * const mesh = await createMesh({ service: 'productpage', labels: { version: 'v1' } });
 * const reviews = await mesh.fetch('http://reviews:9080/reviews/1');
 * await mesh.listen(app, { port: 9080 });
 * process.on('SIGTERM', () => void mesh.close());
 * ```
 */
export async function createMesh(options: MeshOptions = {}): Promise<Mesh> {
  options.signal?.throwIfAborted();
  await loadXxhash(); // consistent-hash rings need it before the first snapshot compiles
  const token = tokenSource(options.token);
  // Loaded only with a token (jose, the certificate code and grpc-js cost start-up time).
  const identity = token === undefined ? undefined : await import('./identity.js');
  // A literal token is checked before anything starts: a typo fails createMesh, not the background.
  if (typeof token === 'string') identity!.decodeJoinToken(token);
  const tls = token === undefined ? undefined : await identity!.startIdentity({
    token,
    // The CA is asked through the first server (the secure port of the primary).
    controlPlane: controlPlanes(options.controlPlane ?? process.env['MESHLET_CONTROL_PLANE'] ?? DEFAULT_CONTROL_PLANE)[0]!,
    waitMs: options.initialFetchTimeoutMs ?? 5000,
    ...(options.identityTtlSeconds !== undefined ? { ttlSeconds: options.identityTtlSeconds } : {}),
  });
  // Bound before the xDS stream opens, so the first node announces the metrics port.
  const otel = options.telemetry?.otel;
  const metrics = options.metricsPort === undefined && !otel ? undefined : await startMeshMetrics({
    namespace: tlsNamespace(tls) ?? options.namespace ?? 'default',
    ...(options.service !== undefined ? { service: options.service } : {}),
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
    ...(options.domainSuffix !== undefined ? { domainSuffix: options.domainSuffix } : {}),
  }, { host: options.address ?? '127.0.0.1', port: options.metricsPort, otel });
  const telemetry = await MeshTelemetry.start({
    tracing: options.telemetry?.tracing,
    accessLog: options.telemetry?.accessLog,
    requestId: options.telemetry?.requestId,
    ...(options.random !== undefined ? { random: options.random } : {}),
  }).catch(async (err: unknown) => {
    await metrics?.close();
    throw err;
  });
  let mesh: MeshClient;
  try {
    mesh = new MeshClient(options, tls, identity?.adsCredentials, metrics, telemetry);
  } catch (err) {
    // The identity already runs (and retries): stop it with the mesh that will not be.
    tls?.close();
    tls?.identity.close();
    await metrics?.close();
    throw err;
  }
  await mesh.start(options.initialFetchTimeoutMs ?? 5000, options.signal);
  return mesh;
}

/** The namespace a mesh's join token grants (metrics labels must agree with its identity). */
function tlsNamespace(tls: MeshTls | undefined): string | undefined {
  const w = tls ? parseWorkloadSpiffeId(tls.spiffeId) : undefined;
  return typeof w === 'object' ? w.namespace : undefined;
}

interface Served {
  inbound: InboundServer;
  port: NodePort;
}

/**
 * The TLS side of a mesh's identity (its SVID, trust bundle, rotation), for the gateway, which
 * terminates ISTIO_MUTUAL with it. Internal: not part of the public surface.
 *
 * @example
 * ```ts
 * meshTlsOf(gateway.mesh)?.current()?.spiffeId;
 * ```
 */
export function meshTlsOf(mesh: Mesh): MeshTls | undefined {
  return mesh instanceof MeshClient ? mesh.meshTls : undefined;
}

class MeshClient implements Mesh {
  readonly dispatcher: MeshDispatcher;
  readonly engine: ReturnType<typeof createEngine>;
  readonly xds: XdsClient;
  readonly inbound: MeshInbound;
  readonly fetch: typeof undiciFetch;
  /** The one inbound policy: HTTP requests and gRPC calls both pass it. */
  readonly policy = new InboundPolicy();
  /**
   * RequestAuthentication (Envoy's jwt_authn) in the policy's authn phase, inert until fed:
   * whoever consumes the workload's inbound listener calls `jwt.updateFromFilters(httpFilters)`.
   */
  readonly jwt = new JwtAuthnStage(this.policy);
  private readonly pipeline = new InboundPipeline(this.policy, (local) => this.servicePortOf(local));
  private readonly feed: XdsFeed;
  private readonly events = new EventSet<MeshEvents>();
  private readonly node: BuildNodeOptions;
  private readonly served = new Set<Served>();
  /** Ports announced by the gRPC adapter's servers, kept in the same node metadata list. */
  private readonly extraPorts = new Set<{ port: NodePort }>();
  private grpcFace: MeshGrpc | undefined;
  private readonly random: () => number;
  private readonly clock: MeshOptions['clock'];
  /** Every outbound call's observers; the `'request'` event's joins while someone listens. */
  private readonly observers = new CallObservers();
  /** Istio metadata exchange headers this mesh sends (only when it reports metrics). */
  private readonly peerMetadata: PeerMetadataHeaders | undefined;
  private readonly drainTimeoutMs: number;
  private readonly address: string;
  private requestListeners = 0;
  private closing: Promise<void> | undefined;
  private closeSignal: AbortSignal | undefined;
  private readonly controlPlane: ControlPlaneState;
  private readonly inboundMode: (port: number) => 'STRICT' | 'PERMISSIVE' | 'DISABLE';

  constructor(options: MeshOptions, private readonly tls: MeshTls | undefined, adsCredentials?: typeof import('./identity.js').adsCredentials, private readonly metrics?: MeshMetrics, private readonly telemetry?: MeshTelemetry) {
    // The token, not the options, says who this workload is.
    const workload = tls ? parseWorkloadSpiffeId(tls.spiffeId) : undefined;
    const granted = typeof workload === 'object' ? workload : undefined;
    if (granted && options.namespace !== undefined && options.namespace !== granted.namespace) {
      throw meshError('MESHLET_ERR_CONFIG', `namespace "${options.namespace}" differs from the join token's (${tls!.spiffeId})`);
    }
    const namespace = granted?.namespace ?? options.namespace ?? 'default';
    this.inboundMode = options.inboundTlsMode ?? ((port) => this.peerAuthenticationMode(port));
    this.address = options.address ?? '127.0.0.1';
    this.drainTimeoutMs = options.drainTimeoutMs ?? 5000;
    const random = options.random ?? Math.random;
    this.random = random;
    this.clock = options.clock;
    this.engine = createEngine({
      namespace,
      ...(options.domainSuffix !== undefined ? { domainSuffix: options.domainSuffix } : {}),
      ...(options.locality !== undefined ? { locality: options.locality } : {}),
      random,
      ...(options.clock ? { now: () => options.clock!.now() } : {}),
    });
    this.node = {
      id: options.nodeId ?? `${options.service ?? 'meshlet'}-${process.pid}-${randomBytes(3).toString('hex')}.${namespace}`,
      namespace,
      address: this.address,
      ...(options.service !== undefined ? { service: options.service } : {}),
      ...(options.labels !== undefined ? { labels: options.labels } : {}),
      ...(granted ? { serviceAccount: granted.serviceAccount } : options.serviceAccount !== undefined ? { serviceAccount: options.serviceAccount } : {}),
      ...(options.locality !== undefined ? { locality: options.locality } : {}),
      ...(metrics?.port !== undefined ? { metricsPort: metrics.port } : {}),
    };
    const servers = controlPlanes(options.controlPlane ?? process.env['MESHLET_CONTROL_PLANE'] ?? DEFAULT_CONTROL_PLANE);
    this.controlPlane = new ControlPlaneState(servers.join(','), (u) => this.warnUnreachable(u));
    this.xds = new XdsClient({
      server: servers,
      node: buildNode(this.node),
      ...(options.xdsBackoff !== undefined ? { backoff: options.xdsBackoff } : {}),
      delta: options.xdsDelta ?? !/^(0|false|no|off)$/i.test(process.env['MESHLET_XDS_DELTA'] ?? ''),
      ...(tls && adsCredentials ? adsCredentials(tls) : {}),
    });
    this.feed = new XdsFeed(this.xds, this.engine);
    // Authorization joins the inbound policy only once the control plane sent inbound listeners,
    // so a mesh without them keeps the policy-free fast path.
    let authz: Disposable | undefined;
    let jwtFromXds = false;
    this.feed.onAuthz((engine) => {
      // RequestAuthentication arrives in the same inbound listeners (jwt_authn before RBAC). The
      // control plane's configs replace a hand-fed one (`mesh.jwt.updateFromFilters`) only once
      // it sends any, so inbound listeners without jwt_authn leave such a config alone.
      const jwtPorts = this.feed.jwtPorts();
      const anyJwt = jwtPorts.some(([, model]) => model !== undefined);
      if (anyJwt || jwtFromXds) this.jwt.updatePorts(jwtPorts);
      jwtFromXds = anyJwt;
      if (engine.portList.length > 0) authz ??= this.policy.use(authzStage(() => this.feed.authz), INBOUND_PHASE.authz);
      else {
        authz?.dispose();
        authz = undefined;
      }
    });
    this.watchXds();
    const sink = (r: RequestRecord): void => {
      this.events.emit('request', r);
      if (channels.requestEnd.hasSubscribers) channels.requestEnd.publish(r);
    };
    this.observers.add(recordObserver(sink), () => this.requestListeners > 0 || channels.requestEnd.hasSubscribers);
    if (metrics) {
      this.observers.add(metrics.calls); // outbound: reporter="source"
      this.policy.use(metrics.calls.stage, INBOUND_PHASE.app); // inbound (HTTP and gRPC): reporter="destination"
    }
    if (telemetry) {
      // Traces, x-request-id and access logs (both adapters: the observers and the policy).
      telemetry.attach({ service: options.service ?? 'unknown', namespace, domainSuffix: options.domainSuffix ?? 'cluster.local', address: this.address }, this.node.id, this.observers, this.policy);
      if (metrics) telemetry.metrics(metrics.registry); // Telemetry `metrics[].overrides`
      this.xds.watch(TYPE_URL.listener, '*', { onChange: (name, l) => telemetry.listener(name, l), onRemove: (name) => telemetry.listener(name, undefined) });
    }
    // A workload that reports metrics tells its peers who it is (Istio's metadata exchange), so
    // their reporter="destination" series carry source_workload & co. instead of "unknown".
    this.peerMetadata = metrics ? encodePeerMetadata({
      namespace,
      workload: workloadLabels({ ...(options.service !== undefined ? { service: options.service } : {}), labels: options.labels ?? {} }).workload,
      labels: options.labels ?? {},
      nodeId: this.node.id,
    }) : undefined;
    this.dispatcher = new MeshDispatcher({
      engine: this.engine,
      ...(this.peerMetadata ? { peerMetadata: this.peerMetadata } : {}),
      strict: options.strict ?? false,
      random,
      ...(options.clock ? { clock: options.clock } : {}),
      sourceIp: this.address,
      observers: this.observers,
      noConfig: () => this.controlPlane.why(),
      ...(tls ? { tls } : {}),
    });
    const pipeline = this.pipeline;
    this.inbound = {
      policy: this.policy,
      mtlsMode: (port) => this.feed.authz.inboundMode(port),
      use: (hook) => pipeline.use(hook),
      handle: (req, res, next, deny) => pipeline.handle(req, res, next, deny),
      context: (req) => contextOf(req),
      finish: (req) => {
        const ctx = contextOf(req);
        if (ctx) pipeline.finish(ctx);
      },
      get inFlight() {
        return pipeline.inFlight;
      },
    };
    const dispatcher = this.dispatcher;
    this.fetch = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
      undiciFetch(input, { ...init, dispatcher })) as typeof undiciFetch;
  }

  /** The metrics registry, for the gateway's TCP metrics (telemetry/tcp-metrics.ts); not part of the Mesh interface. */
  get [METRICS_REGISTRY](): import('../telemetry/metrics.js').IstioMetrics | undefined {
    return this.metrics?.registry;
  }

  get metricsPort(): number | undefined {
    return this.metrics?.port;
  }

  async start(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let onAbort: (() => void) | undefined;
    const aborted = signal && new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const ready = await (aborted ? Promise.race([this.feed.ready(timeoutMs), aborted]) : this.feed.ready(timeoutMs));
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (ready === 'aborted') {
      await this.close();
      throw signal!.reason;
    }
    log('mesh %s started (%s)', this.node.id, ready ? 'config complete' : 'initial fetch timed out');
  }

  /** Subscriptions on the xDS client: control-plane reachability and the diagnostics channels. */
  private watchXds(): void {
    const node = this.node.id;
    this.xds.on('ack', () => this.controlPlane.answer());
    this.xds.on('nack', (typeUrl, nonce, errorDetail) => {
      this.controlPlane.answer();
      if (channels.nack.hasSubscribers) channels.nack.publish({ node, typeUrl, nonce, errorDetail });
    });
    this.xds.on('disconnected', (err) => this.controlPlane.fail(err));
    this.xds.on('update', (typeUrl, version, names) => {
      if (channels.configUpdate.hasSubscribers) channels.configUpdate.publish({ node, typeUrl, version, names });
    });
  }

  /** Once per mesh: the control plane failed before any config arrived. */
  private warnUnreachable(u: Unreachable): void {
    const address = this.controlPlane.address;
    process.emitWarning(`meshlet: cannot reach the control plane at ${address}: ${u.reason}. The mesh runs without config (hosts it does not know pass through) and keeps retrying.`, { type: 'MeshletWarning', code: u.code });
    if (channels.controlPlaneUnreachable.hasSubscribers) channels.controlPlaneUnreachable.publish({ node: this.node.id, controlPlane: address, code: u.code, reason: u.reason });
  }

  on<E extends keyof MeshEvents>(event: E, fn: MeshEvents[E]): Disposable {
    const sub = this.events.on(event, fn);
    if (event !== 'request') return sub;
    this.requestListeners++;
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.requestListeners--;
        sub.dispose();
      },
    };
  }

  observe<S>(observer: CallObserver<S>): Disposable {
    return this.observers.add(observer);
  }

  async listen(target: ListenTarget, options: ListenOptions): Promise<ListenHandle> {
    if (this.closing) throw meshError('MESHLET_ERR_CLOSED', 'mesh.listen() after close()');
    const { signal } = options;
    signal?.throwIfAborted();
    this.telemetry?.refresh();
    const acceptor = this.tls ? new InboundTls(this.tls, this.inboundMode) : undefined;
    const inbound = await InboundServer.start(target, { ...options, host: options.host ?? this.address }, this.pipeline, acceptor);
    if (signal?.aborted) {
      await inbound.close(0);
      throw signal.reason;
    }
    const used = new Set([...this.served].map((s) => s.port.name));
    const name = used.has('http') ? `http-${options.servicePort ?? inbound.port}` : 'http';
    const served: Served = { inbound, port: { number: options.servicePort ?? inbound.port, name, protocol: 'HTTP', targetPort: inbound.port } };
    this.served.add(served);
    this.announce(false);
    log('serving %s on %s:%d as port %d', this.node.service ?? '(no service)', options.host ?? this.address, inbound.port, served.port.number);
    let closing: Promise<void> | undefined;
    const handle: ListenHandle = {
      port: inbound.port,
      server: inbound.server,
      close: () => {
        closing ??= (async () => {
          if (this.served.delete(served) && !this.closing) this.announce(false);
          await inbound.close(this.drainTimeoutMs, this.closeSignal);
        })();
        return closing;
      },
    };
    signal?.addEventListener('abort', () => void handle.close().catch((err: unknown) => log('close on abort failed: %o', err)), { once: true });
    return handle;
  }

  /** The announced port of a local listening port (what `servicePort` maps it to). */
  private servicePortOf(local: number): number {
    for (const s of this.served) if (s.port.targetPort === local) return s.port.number;
    for (const e of this.extraPorts) if (e.port.targetPort === local) return e.port.number;
    return local;
  }

  get grpc(): MeshGrpc {
    this.grpcFace ??= meshGrpc(this, {
      random: this.random,
      ...(this.clock ? { clock: this.clock } : {}),
      inbound: { policy: this.policy, servicePort: (local) => this.servicePortOf(local) },
      observers: this.observers,
      ...(this.peerMetadata ? { peerMetadata: this.peerMetadata } : {}),
      ...(this.tls ? { tls: this.tls, inboundMode: this.inboundMode } : {}),
      announcePort: (port) => {
        const entry = { port };
        this.extraPorts.add(entry);
        this.telemetry?.refresh();
        this.announce(false);
        return {
          dispose: () => {
            if (this.extraPorts.delete(entry) && !this.closing) this.announce(false);
          },
        };
      },
    });
    return this.grpcFace;
  }

  /**
   * PeerAuthentication's mode for an inbound port, as the control server resolved it into the
   * port's inbound listener (the authorization engine the xDS feed compiles, when it has one),
   * else PERMISSIVE (Istio's default).
   */
  /** PeerAuthentication's mode from the workload's inbound listener; Istio's default before it arrives. */
  private peerAuthenticationMode(port: number): 'STRICT' | 'PERMISSIVE' | 'DISABLE' {
    return this.feed.authz.inboundMode(port) ?? DEFAULT_INBOUND_MODE(port);
  }

  get identity(): string | undefined {
    return this.tls?.spiffeId || undefined;
  }

  /** Internal (see {@link meshTlsOf}). */
  get meshTls(): MeshTls | undefined {
    return this.tls;
  }

  installGlobalDispatcher(): Disposable {
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(this.dispatcher);
    return {
      dispose: () => {
        if (getGlobalDispatcher() === this.dispatcher) setGlobalDispatcher(previous);
      },
    };
  }

  close(options?: CloseOptions): Promise<void> {
    if (options?.signal && !this.closeSignal) this.closeSignal = options.signal;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // 1. Deregister first, so callers stop picking this endpoint while it still answers.
    if (this.served.size > 0 || this.extraPorts.size > 0) this.announce(true);
    // 2. Stop accepting and drain what is in flight.
    this.pipeline.startDraining();
    const servers = [...this.served];
    this.served.clear();
    await Promise.all([
      ...servers.map((s) => s.inbound.close(this.drainTimeoutMs, this.closeSignal).catch((err: unknown) => log('close of a server failed: %o', err))),
      this.grpcFace?.closeServers().catch((err: unknown) => log('close of a gRPC server failed: %o', err)),
    ]);
    // 3. xDS (the draining node went out on this stream before its half-close), then the pools.
    this.feed.dispose();
    await this.xds.close().catch((err: unknown) => log('xDS close failed: %o', err));
    this.grpcFace?.dispose();
    await this.metrics?.close().catch((err: unknown) => log('metrics endpoint close failed: %o', err));
    const pools = this.dispatcher.close();
    const destroy = () => void this.dispatcher.destroy().catch(() => {});
    const timer = setTimeout(destroy, this.closeSignal?.aborted ? 0 : this.drainTimeoutMs);
    this.closeSignal?.addEventListener('abort', destroy, { once: true });
    await pools.catch(() => {});
    clearTimeout(timer);
    this.tls?.close();
    this.tls?.identity.close();
    this.closeSignal?.removeEventListener('abort', destroy);
    this.events.clear();
  }

  private announce(draining: boolean): void {
    const ports = [...[...this.served].map((s) => s.port), ...[...this.extraPorts].map((e) => e.port)];
    try {
      this.xds.updateNode(buildNode({ ...this.node, ports, ...(draining ? { draining: true } : {}) }));
      // Each served port's inbound listener carries its mTLS mode and authorization policies.
      this.feed.setInboundPorts(ports.map((p) => p.number));
    } catch (err) {
      log('updateNode failed: %o', err);
    }
  }
}
