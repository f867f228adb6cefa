/**
 * `meshGrpc(mesh)`: everything a grpc-js client or server needs to join a mesh — channel
 * options (mesh id + service config selecting the meshlet LB policy), credentials, the client
 * interceptor, a `client()` convenience, server helpers, and request records.
 */
import type * as grpc from '@grpc/grpc-js';
import { grpcLib } from './lib.js';
import type { Engine } from '../core/types.js';
import type { XdsClient } from '../xds/ads-client.js';
import { EventSet, type Disposable } from '../internal/events.js';
import { nodeAnnouncer, type AnnouncePort } from './announce.js';
import { registerMeshBalancer } from './balancer.js';
import { createClientInterceptor } from './interceptor.js';
import { MESH_ID_OPTION, MESH_LB_POLICY, MESH_SCHEME, registry } from './registry.js';
import { registerMeshResolver } from './resolver.js';
import { inboundInterceptor, meshServer, type GrpcInboundWiring, type GrpcServerOptions, type MeshGrpcServer } from './server.js';
import { InboundPolicy } from '../security/inbound-policy.js';
import type { GrpcMeshRuntime, GrpcRequestRecord } from './types.js';
import { CallObservers } from '../core/observer.js';
import { recordObserver } from '../telemetry/record.js';
import type { MeshTls } from '../security/tls/mesh-tls.js';
import { InboundTls, type InboundModeLookup } from '../security/tls/inbound.js';
import { meshChannelCredentials } from '../security/tls/grpc-credentials.js';

/** The parts of a mesh the gRPC adapter uses. */
export interface GrpcMeshSource {
  readonly engine: Engine;
  /** Needed to announce servers when no `announcePort` hook is given. */
  readonly xds?: XdsClient;
}

/** Optional wiring from the mesh that owns this adapter. */
export interface MeshGrpcHooks {
  /** Istio metadata exchange headers sent on every call (createMesh sets them when it reports metrics). */
  peerMetadata?: import('../telemetry/peer-metadata.js').PeerMetadataHeaders;
  /** The mesh's call observers (its `'request'` event among them); calls are observed through them. */
  observers?: CallObservers;
  /** Announces a served port through the mesh's node (keeps HTTP and gRPC ports in one list). */
  announcePort?: AnnouncePort;
  /** The mesh's inbound policy, run by every server made with createServer() before its own hooks. */
  inbound?: GrpcInboundWiring;
  /** Retry jitter randomness (tests pass a seeded one). Default Math.random. */
  random?: () => number;
  /** Clock of retry backoff, per-try deadlines and fault delays (tests inject a manual one). */
  clock?: import('../internal/clock.js').Clock;
  /** The mesh's identity: subchannels to mTLS endpoints use it, servers serve mTLS with it. */
  tls?: MeshTls;
  /** Per-port inbound mTLS mode (default PERMISSIVE). */
  inboundMode?: InboundModeLookup;
}

/** A grpc-js client constructor (generated, `makeGenericClientConstructor`, or `loadPackageDefinition`). */
export type GrpcClientConstructor<T> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => T;

/** The gRPC face of a mesh. */
export interface MeshGrpc {
  /** Value of the `grpc.meshlet.mesh_id` channel option naming this mesh. */
  readonly meshId: string;
  /** Channel options for a `mesh:///host:port` target. */
  readonly channelOptions: grpc.ChannelOptions;
  /** Channel credentials: per subchannel, mTLS to endpoints whose cluster says so, plaintext to the rest. */
  readonly credentials: grpc.ChannelCredentials;
  /** The client interceptor (retries, per-try timeouts, records). */
  readonly interceptors: grpc.Interceptor[];
  /** Client options = channelOptions + interceptors (+ yours). */
  clientOptions(extra?: grpc.ClientOptions): grpc.ClientOptions;
  /** Constructs a client for `target` (`reviews:9080` or `mesh:///reviews:9080`) with all of the above. */
  client<T>(ctor: GrpcClientConstructor<T>, target: string, options?: grpc.ClientOptions): T;
  /** A grpc-js Server with the meshlet inbound interceptor; bind() announces it. */
  createServer(options?: GrpcServerOptions): MeshGrpcServer;
  /** Announce/drain helpers for an existing server (no inbound hooks). */
  wrapServer(server: grpc.Server, options?: GrpcServerOptions): MeshGrpcServer;
  /** Each finished outbound call (also sent to the mesh's sink when wired). */
  on(event: 'request', fn: (record: GrpcRequestRecord) => void): Disposable;
  /** Drains and closes every server made by createServer()/wrapServer() (mesh.close() calls it). */
  closeServers(): Promise<void>;
  /** Unregisters the mesh: new calls on its channels fail with UNAVAILABLE. Idempotent. */
  dispose(): void;
}

/** `mesh:///host:port` for a bare `host:port`; other targets unchanged. */
export function meshTarget(target: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) && !/^[^:/]+:\d+$/.test(target) ? target : `${MESH_SCHEME}:///${target}`;
}

let registered = false;

function ensureRegistered(): void {
  const reg = registry();
  if (registered && reg.registeredWith.has(grpcLib().experimental)) return;
  registerMeshResolver();
  registerMeshBalancer();
  reg.registeredWith.add(grpcLib().experimental);
  registered = true;
}

/**
 * Returns the gRPC adapter of a mesh (one per mesh: calling it again returns the same object).
 *
 * @example
 * ```ts
 * import { createMesh } from 'meshlet-node';
 * import { meshGrpc } from 'meshlet-node/grpc';
 * const mesh = await createMesh({ service: 'productpage' });
 * const g = meshGrpc(mesh);
 * const reviews = g.client(ReviewsClient, 'reviews:9090');
 * const server = g.createServer();
 * await server.bind('127.0.0.1:0');
 * ```
 */
export function meshGrpc(mesh: GrpcMeshSource, hooks: MeshGrpcHooks = {}): MeshGrpc {
  const reg = registry();
  const cache = reg as unknown as { byMesh?: WeakMap<object, MeshGrpc> };
  const byMesh = (cache.byMesh ??= new WeakMap());
  const existing = byMesh.get(mesh);
  if (existing) return existing;
  ensureRegistered();
  const meshId = `mesh-${process.pid}-${reg.nextId++}`;
  const events = new EventSet<{ request: (r: GrpcRequestRecord) => void }>();
  let listeners = 0;
  const observers = hooks.observers ?? new CallObservers();
  // In the mesh's list (HTTP calls included): mesh.grpc.on('request') gets the gRPC ones.
  const own = observers.add(recordObserver((r) => events.emit('request', r as GrpcRequestRecord), 'grpc'), () => listeners > 0);
  const runtime: GrpcMeshRuntime = {
    id: meshId,
    engine: mesh.engine,
    random: hooks.random ?? Math.random,
    ...(hooks.clock ? { clock: hooks.clock } : {}),
    ...(hooks.peerMetadata ? { peerMetadata: hooks.peerMetadata } : {}),
    observers: () => observers.current(),
  };
  reg.meshes.set(meshId, runtime);
  const channelOptions: grpc.ChannelOptions = {
    [MESH_ID_OPTION]: meshId,
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ [MESH_LB_POLICY]: {} }] }),
    // meshlet's interceptor retries; grpc-js's own retry layer would buffer every message.
    'grpc.enable_retries': 0,
  };
  const credentials = meshChannelCredentials(hooks.tls);
  const tls = hooks.tls;
  const acceptor = {
    enabled: () => tls !== undefined,
    create: (deliver: (s: import('node:net').Socket) => void) => new InboundTls(tls, hooks.inboundMode, ['h2'], deliver),
  };
  const interceptors = [createClientInterceptor(runtime)];
  const announce: AnnouncePort = hooks.announcePort ?? (mesh.xds ? nodeAnnouncer(mesh.xds) : () => ({ dispose() {} }));
  const clientOptions = (extra: grpc.ClientOptions = {}): grpc.ClientOptions => ({
    ...channelOptions,
    ...extra,
    interceptors: [...interceptors, ...(extra.interceptors ?? [])],
  });
  // Servers made here are closed with the mesh, as mesh.listen() servers are.
  const servers = new Set<MeshGrpcServer>();
  const track = (server: MeshGrpcServer): MeshGrpcServer => {
    servers.add(server);
    const close = server.close.bind(server);
    server.close = () => {
      servers.delete(server);
      return close();
    };
    return server;
  };
  const api: MeshGrpc = {
    meshId,
    channelOptions,
    credentials,
    interceptors,
    clientOptions,
    client: (ctor, target, options) => new ctor(meshTarget(target), credentials, clientOptions(options)),
    createServer(options = {}) {
      const local = new InboundPolicy();
      const { servicePort: _s, portName: _p, drainTimeoutMs: _d, ...serverOptions } = options;
      const server = new (grpcLib().Server)({ ...serverOptions, interceptors: [inboundInterceptor(hooks.inbound, local), ...(serverOptions.interceptors ?? [])] });
      return track(meshServer(server, local, announce, options, acceptor));
    },
    wrapServer: (server, options = {}) => track(meshServer(server, undefined, announce, options, acceptor)),
    async closeServers() {
      const all = [...servers];
      servers.clear();
      await Promise.all(all.map((s) => s.close()));
    },
    on(_event, fn) {
      listeners++;
      const sub = events.on('request', fn);
      let done = false;
      return {
        dispose: () => {
          if (done) return;
          done = true;
          listeners--;
          sub.dispose();
        },
      };
    },
    dispose() {
      reg.meshes.delete(meshId);
      own.dispose();
      events.clear();
    },
  };
  byMesh.set(mesh, api);
  return api;
}
