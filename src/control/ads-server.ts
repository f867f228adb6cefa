import * as grpc from '@grpc/grpc-js';
import { trace } from '../internal/debug.js';
import { RequestGuard, resolveAdsLimits, StreamRefusal, type AdsLimits } from './ads-limits.js';
import { AdsStream, type ClientStatus, type NackEvent, type PushEvent, type StreamContext, type TypeConfigView } from './ads-stream.js';
import { DeltaAdsStream } from './ads-delta-stream.js';
import type { AnnouncePolicy } from './announce-policy.js';
import type { WarmUp } from './warmup.js';
import { Emitter } from '../internal/events.js';
import { hostPort, listenError, probePort } from './listen.js';
import type { Registry } from './registry/announcements.js';
import type { Proxy } from './proxy.js';
import type { Snapshot } from './snapshot.js';
import { decodeDiscoveryRequest, type DiscoveryRequest } from '../xds/wire/discovery-request.js';
import { ADS_METHOD, DELTA_ADS_METHOD } from '../xds/wire/index.js';
import { decodeDeltaRequest, type DeltaRequest } from '../xds/wire/delta.js';
import { parseWorkloadSpiffeId } from '../security/identity/spiffe-id.js';
import { peerSpiffeId } from '../security/tls/peer.js';

const log = trace('ads');

/** gRPC method paths of SotW and incremental ADS. */
export { ADS_METHOD, DELTA_ADS_METHOD };

type Call<Req> = grpc.ServerDuplexStream<Req, Buffer>;
type AnyStream = AdsStream | DeltaAdsStream;

/** Options of {@link AdsServer}. */
export interface AdsServerOptions {
  /** Source of the snapshot to serve a proxy (read on every request and push). */
  snapshot: (proxy?: Proxy, inbound?: readonly string[]) => Snapshot;
  registry: Registry;
  /** How long an announced endpoint outlives its stream. Default: the registry's default. */
  withdrawGraceMs?: number;
  /** `control_plane.identifier` in every response. */
  controlPlaneId?: string;
  /** Limits per connection, stream and request; each defaults as in DEFAULT_ADS_LIMITS. */
  limits?: Partial<AdsLimits>;
  /** Which announcements enter the registry (default: none is checked). */
  announcePolicy?: AnnouncePolicy;
  /** Warm-up after start: holds responses while it says so. */
  warmUp?: WarmUp;
}

/**
 * Server keepalive, istiod's defaults (pilot keepalive: ping after 30 s idle, 10 s to answer):
 * a half-open connection is noticed within ~40 s, so a node id it held is released for the
 * client's new stream (see Registry.announce).
 */
const KEEPALIVE = { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000 };

/**
 * The ADS endpoint: a grpc-js server with both ADS methods, state of the world
 * (`StreamAggregatedResources`, ads-stream.ts) and incremental (`DeltaAggregatedResources`,
 * ads-delta-stream.ts). Requests are decoded by the hand-written codecs, responses are
 * pre-built Buffers (see xds/wire). Both kinds of stream share the limits, the registry, the
 * warm-up, pushes and the status views.
 *
 * @example
 * ```ts
 * const ads = new AdsServer({ snapshot: () => builder.snapshot, registry });
 * const port = await ads.listen('127.0.0.1', 0);
 * builder.onSnapshot(() => ads.push());
 * ```
 */
export class AdsServer {
  readonly pushes = new Emitter<PushEvent>((err) => log('push listener threw: %o', err));
  readonly nacks = new Emitter<NackEvent>((err) => log('nack listener threw: %o', err));
  private readonly server: grpc.Server;
  private readonly streams = new Set<{ stream: AnyStream; call: Call<unknown> }>();
  private nonce = 0;
  /** Resolved limits (defaults filled in). */
  readonly limits: AdsLimits;
  /** Responses and their bytes written on every stream since start (both protocols). */
  readonly traffic = { responses: 0, bytes: 0 };

  /**
   * Trust domain of the mesh CA (set when the control server has one): a stream whose verified
   * client certificate is a workload SVID of it announces with that identity.
   */
  trustDomain: string | undefined;

  constructor(private readonly options: AdsServerOptions) {
    this.limits = resolveAdsLimits(options.limits);
    this.server = new grpc.Server(AdsServer.serverOptions(this.limits));
    this.serveOn(this.server);
  }

  /** grpc-js server options carrying the connection limits (the TLS port uses them too). */
  static serverOptions(limits: AdsLimits): grpc.ServerOptions {
    return {
      // Responses can be large (every cluster of a mesh); lift grpc-js' default send cap.
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': limits.maxMessageBytes,
      'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
      ...KEEPALIVE,
    };
  }

  /**
   * Serves ADS on another grpc-js server as well (the TLS port): its streams join this server's,
   * so pushes, `clients()` and `close()` cover both.
   */
  serveOn(server: grpc.Server): void {
    const definition: grpc.ServiceDefinition = {
      StreamAggregatedResources: {
        path: ADS_METHOD,
        requestStream: true,
        responseStream: true,
        requestSerialize: (value: unknown) => value as Buffer,
        requestDeserialize: (bytes: Buffer) => decodeDiscoveryRequest(bytes),
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
      DeltaAggregatedResources: {
        path: DELTA_ADS_METHOD,
        requestStream: true,
        responseStream: true,
        requestSerialize: (value: unknown) => value as Buffer,
        requestDeserialize: (bytes: Buffer) => decodeDeltaRequest(bytes),
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    server.addService(definition, {
      StreamAggregatedResources: (call: Call<DiscoveryRequest>) => {
        const guard = new RequestGuard(this.limits);
        this.handle(call, (ctx, send) => new AdsStream(call.getPeer(), ctx, send), (stream, req) => {
          guard.check(req);
          (stream as AdsStream).onRequest(req);
        });
      },
      DeltaAggregatedResources: (call: Call<DeltaRequest>) => {
        const guard = new RequestGuard(this.limits);
        this.handle(call, (ctx, send) => new DeltaAdsStream(call.getPeer(), ctx, send), (stream, req) => {
          guard.checkDelta(req);
          (stream as DeltaAdsStream).onRequest(req, this.limits.maxResourceNames);
        });
      },
    });
  }

  /** Binds and starts serving; resolves the bound port. Throws MESHLET_ERR_PORT_IN_USE / MESHLET_ERR_LISTEN. */
  async listen(host: string, port: number): Promise<number> {
    await probePort('xDS', host, port);
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(hostPort(host, port), grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) return reject(listenError('xDS', host, port, err));
        disableNagle(this.server);
        resolve(bound);
      });
    });
  }

  /** Re-evaluates every stream against the current snapshot (after a rebuild). */
  push(): void {
    for (const { stream } of this.streams) stream.onSnapshot();
  }

  /** Sync state of every connected stream, oldest first. */
  clients(): ClientStatus[] {
    return [...this.streams].map(({ stream }) => stream.status());
  }

  /** Per connected stream: its status and, per type, what was sent and what was ACKed (admin config dump). */
  configViews(): Array<{ status: ClientStatus; types: TypeConfigView[] }> {
    return [...this.streams].map(({ stream }) => ({ status: stream.status(), types: stream.configView() }));
  }

  /** Ends every stream and stops the server. */
  async close(): Promise<void> {
    for (const { stream, call } of this.streams) {
      stream.close();
      call.end();
    }
    this.streams.clear();
    this.server.forceShutdown();
  }

  private handle<Req>(call: Call<Req>, open: (ctx: StreamContext, send: (bytes: Buffer) => void) => AnyStream, onRequest: (stream: AnyStream, req: Req) => void): void {
    const { registry, withdrawGraceMs, announcePolicy, warmUp } = this.options;
    let ended = false;
    const pushes = this.pushes;
    const firePush = (e: PushEvent) => pushes.fire(e);
    const stream = open(
      {
        snapshot: this.options.snapshot,
        nextNonce: () => String(++this.nonce),
        controlPlaneId: this.options.controlPlaneId ?? 'meshlet',
        announce: (a, owner) => registry.announce(a, owner),
        ...(announcePolicy ? { admit: (a: Parameters<AnnouncePolicy['check']>[0]) => announcePolicy.check(a) } : {}),
        ...(warmUp ? { holding: () => warmUp.holding(), onReconnect: () => warmUp.onReconnect() } : {}),
        deregister: (nodeId, owner) => void registry.deregister(nodeId, { owner }),
        ...peerIdentityOf(call, this.trustDomain),
        // A getter, not a closure test per push: listeners may subscribe after the stream opened.
        get onPush() {
          return pushes.size > 0 ? firePush : undefined;
        },
        onNack: (e) => this.nacks.fire(e),
      },
      (bytes) => {
        if (ended) return;
        this.traffic.responses++;
        this.traffic.bytes += bytes.length;
        call.write(bytes);
      },
    );
    const entry = { stream, call: call as Call<unknown> };
    this.streams.add(entry);
    log('%s stream opened from %s', stream.protocol, stream.peer);
    const finish = (why: string) => {
      if (ended) return;
      ended = true;
      stream.close();
      this.streams.delete(entry);
      log('stream %s closed (%s)', stream.nodeId || stream.peer, why);
      // Endpoint survives a short grace so a reconnecting client never flaps out of EDS.
      if (stream.announced) {
        registry.withdraw(stream.announced.nodeId, { owner: stream, ...(withdrawGraceMs !== undefined ? { graceMs: withdrawGraceMs } : {}) });
      }
    };
    call.on('data', (req: Req) => {
      if (ended) return;
      try {
        onRequest(stream, req);
      } catch (err) {
        if (err instanceof StreamRefusal) {
          log('stream %s refused: %s', stream.nodeId || stream.peer, err.message);
          finish(`refused: ${err.code}`);
          call.emit('error', { code: err.status, details: err.message });
          return;
        }
        // A bug in request handling fails this stream only; the client reconnects.
        log('request handling failed: %o', err);
        call.emit('error', { code: grpc.status.INTERNAL, details: `meshlet control: ${(err as Error).message}` });
      }
    });
    call.on('end', () => {
      finish('client ended');
      call.end();
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', (err) => finish(`error: ${err.message}`));
    call.on('close', () => finish('closed'));
  }
}

/**
 * The workload identity of a call's client certificate: grpc-js' auth context holds a
 * certificate only when the TLS handshake verified it against the trust bundle. A certificate of
 * another trust domain, or one that is not a workload SVID, gives no identity.
 */
function peerIdentityOf(call: Call<unknown>, trustDomain: string | undefined): { peerIdentity?: { spiffeId: string; namespace: string; serviceAccount: string } } {
  const raw = (call as { getAuthContext?: () => { sslPeerCertificate?: { raw?: Buffer } } }).getAuthContext?.().sslPeerCertificate?.raw;
  if (!raw || trustDomain === undefined) return {};
  const id = peerSpiffeId(raw);
  if (!('spiffeId' in id)) return {};
  const w = parseWorkloadSpiffeId(id.spiffeId);
  if (typeof w === 'string' || w.trustDomain !== trustDomain) return {};
  return { peerIdentity: { spiffeId: id.spiffeId, namespace: w.namespace, serviceAccount: w.serviceAccount } };
}

/**
 * grpc-js creates its http2 servers without `noDelay` (its client sockets do set it), so each
 * small push waits in Nagle's buffer behind any unacknowledged segment on that connection —
 * up to a delayed-ACK timeout (40 ms on Linux) when ACKs of the previous push are in flight.
 * net.Server reads `noDelay` per accepted connection, so setting it after the bind covers every
 * stream. The map is grpc-js internal: when it is missing nothing breaks, pushes are just slower.
 */
export function disableNagle(server: grpc.Server): void {
  const servers = (server as unknown as { http2Servers?: Map<{ noDelay?: boolean }, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return log('grpc-js internals changed: cannot set TCP_NODELAY on xDS connections');
  for (const s of servers.keys()) s.noDelay = true;
}
