/**
 * What the SotW stream (ads-stream.ts) and the incremental one (ads-delta-stream.ts) share: the
 * node (announcement, identity, metrics target), ACK/NACK bookkeeping per type, warm-up holding,
 * push order, and the status and config-dump views. Each protocol keeps only its subscription
 * rules and what it puts in a response.
 */
import type { Announcement } from './model.js';
import { proxyFromNode, type Proxy } from './proxy.js';
import type { ResourceEntry, Snapshot } from './snapshot.js';
import { NODE_METADATA, parseAnnouncement, parseMetricsTarget, type MetricsTarget } from '../xds/node.js';
import { shortTypeName, TYPE_URL } from '../xds/type-urls.js';
import { trace } from '../internal/debug.js';
import type { MeshErrorCode } from '../errors.js';
import * as grpc from '@grpc/grpc-js';
import { StreamRefusal } from './ads-limits.js';

const log = trace('ads');

/** Per-type sync state of one client, as `meshlet status` shows it. */
export interface TypeStatus {
  /** `'*'` for a wildcard subscription. */
  subscribed: string[] | '*';
  /** version_info of the latest response sent. */
  sentVersion?: string;
  /** version_info the client last ACKed. */
  ackedVersion?: string;
  /** Nonce of the latest response sent. */
  lastNonce?: string;
  /** Latest rejection, cleared by the next ACK. */
  nack?: { version: string; nonce: string; message: string; at: string };
  /** A response is in flight: neither ACKed nor NACKed yet. */
  pending: boolean;
}

/** One connected ADS stream. */
export interface ClientStatus {
  /** xDS node id ('' until the first request names one). */
  id: string;
  peer: string;
  connectedAt: string;
  announced?: { service: string; namespace: string; address: string; ports: number[] };
  /** Why the client's announcement was not registered. */
  announcementRejected?: { code: MeshErrorCode; message: string };
  /** Keyed by LDS/RDS/CDS/EDS (or the message name of other types). */
  types: Record<string, TypeStatus>;
  /** The client's Prometheus endpoint, when it announces one (`createMesh({ metricsPort })`). */
  metrics?: MetricsTarget;
  /** The workload identity of the stream's verified client certificate (secure port only). */
  identity?: { spiffeId: string; namespace: string; serviceAccount: string };
  /** Set on an incremental (`DeltaAggregatedResources`) stream. */
  delta?: true;
}

/**
 * What one response of a type carried: that type's resources in the snapshot it was cut from and
 * the names selected (`'*'`: all). The type's map, not the snapshot: a stream whose content did
 * not change for a while must not pin a whole old snapshot (its encoded responses included).
 */
export interface SentConfig {
  resources: ReadonlyMap<string, ResourceEntry>;
  names: readonly string[] | '*';
  version: string;
  at: string;
}

/** Per-type view of what a stream sent and what the client ACKed, for the admin config dump (CSDS-like). */
export interface TypeConfigView {
  typeUrl: string;
  status: TypeStatus;
  /** The latest response sent. */
  sent?: SentConfig;
  /** The latest response the client ACKed (its last good config of this type). */
  acked?: SentConfig;
}

/** Passed to the 'push' listeners. */
export interface PushEvent {
  client: string;
  typeUrl: string;
  version: string;
  nonce: string;
  resources: number;
}

/** Passed to the 'nack' listeners. */
export interface NackEvent {
  client: string;
  typeUrl: string;
  version: string;
  nonce: string;
  message: string;
}

/** What a stream needs from its server. */
export interface StreamContext {
  /**
   * What `proxy` is served (its proxy group's snapshot); `inbound`: the inbound listener names
   * (`xds.istio.io/grpc/lds/inbound/…`) its LDS subscription asks for, generated per proxy.
   */
  snapshot(proxy?: Proxy, inbound?: readonly string[]): Snapshot;
  nextNonce(): string;
  controlPlaneId: string;
  /** `false`: another open stream holds the node id (the stream is refused). */
  announce(a: Announcement, owner: AdsPeer<TypeAck>): boolean;
  /**
   * Checks an announcement against the announcement policy; returns the reason it is not
   * accepted, or undefined. A rejected announcement is not registered; config is still served.
   */
  admit?(a: Announcement): { code: MeshErrorCode; message: string } | undefined;
  /** Responses wait (warm-up after a restart); `onSnapshot()` sends them once this turns false. */
  holding?(): boolean;
  /** The stream's first request for a type carried a version from a previous server. */
  onReconnect?(): void;
  deregister(nodeId: string, owner: AdsPeer<TypeAck>): void;
  /**
   * The workload identity of the stream's verified client certificate (secure port only). It,
   * not the node's SERVICE_ACCOUNT claim, is what the announced endpoint carries.
   */
  peerIdentity?: { spiffeId: string; namespace: string; serviceAccount: string };
  /** Absent when nobody listens: a push to N streams then builds no N event objects. */
  onPush?(e: PushEvent): void;
  onNack(e: NackEvent): void;
}

/** The per-type ACK/NACK bookkeeping both protocols keep. */
export interface TypeAck {
  /** version_info (SotW) / system_version_info (delta) of the latest response sent. */
  sentVersion?: string;
  ackedVersion?: string;
  lastNonce?: string;
  nack?: TypeStatus['nack'];
  pending: boolean;
  /** The first response of this type is owed (held during warm-up). */
  owed?: boolean;
  /** What the latest response carried, and what the client last ACKed (references, no copies). */
  sent?: SentConfig;
  acked?: SentConfig;
}

/** Make-before-break order for pushes, as Istio does: clusters and endpoints before the listeners and routes that use them. */
export const PUSH_ORDER = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route] as string[];

/** One connected ADS stream of either protocol, as the server holds it. */
export abstract class AdsPeer<S extends TypeAck> {
  readonly connectedAt = new Date();
  nodeId = '';
  /** Who is asking, from the stream's first node (Istio fixes a proxy's metadata per connection). */
  protected proxy: Proxy | undefined;
  announced: Announcement | undefined;
  announcementRejected: { code: MeshErrorCode; message: string } | undefined;
  /** From the latest node, when its address passes the announcement policy (Prometheus will dial it). */
  metrics: MetricsTarget | undefined;
  protected readonly types = new Map<string, S>();
  protected closed = false;

  constructor(
    readonly peer: string,
    protected readonly ctx: StreamContext,
    protected readonly send: (bytes: Buffer) => void,
  ) {}

  /** Which protocol variant the stream speaks. */
  abstract readonly protocol: 'sotw' | 'delta';

  /** What the type's status lists as subscribed. */
  protected abstract subscribed(state: S): string[] | '*';

  /** Sends what the type's subscription is owed against the current snapshot, if anything. */
  protected abstract maybeSend(typeUrl: string, state: S, first: boolean): void;

  /** Re-evaluates every subscription against a new snapshot. */
  onSnapshot(): void {
    if (this.closed) return;
    // Runs for every stream on every snapshot: no intermediate arrays.
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      if (state) this.maybeSend(typeUrl, state, false);
    }
    for (const [typeUrl, state] of this.types) if (!PUSH_ORDER.includes(typeUrl)) this.maybeSend(typeUrl, state, false);
  }

  /** Stops sending; the server handles registry withdrawal. */
  close(): void {
    this.closed = true;
  }

  /**
   * Records the client's answer to the latest response of a type (the caller checked the nonce):
   * a NACK (error_detail) is logged and reported, the last good config stays what was ACKed
   * before; an ACK makes the latest response the acked one.
   */
  protected answer(typeUrl: string, state: S, nonce: string, errorDetail: { message: string } | undefined, versionInfo: string): void {
    state.pending = false;
    if (errorDetail) {
      state.nack = { version: state.sentVersion ?? '', nonce, message: errorDetail.message, at: new Date().toISOString() };
      log('%s %s: NACK of %s: %s', this.label(), shortTypeName(typeUrl), state.sentVersion, errorDetail.message);
      this.ctx.onNack({ client: this.nodeId, typeUrl, version: state.nack.version, nonce, message: errorDetail.message });
    } else {
      state.nack = undefined;
      if (state.sent) state.acked = state.sent;
    }
    state.ackedVersion = versionInfo || state.ackedVersion;
  }

  /**
   * Warm-up: while the server holds responses, a first response is owed instead of sent.
   * Returns undefined to hold, else whether the response is to be sent as a first one.
   */
  protected released(state: S, first: boolean): boolean | undefined {
    if (this.ctx.holding?.()) {
      state.owed ||= first;
      return undefined;
    }
    if (state.owed) {
      state.owed = false;
      return true;
    }
    return first;
  }

  /** Records a response going out and sends it. */
  protected sent(typeUrl: string, state: S, buf: Buffer, nonce: string, version: string, count: number, config: SentConfig): void {
    state.sentVersion = version;
    state.lastNonce = nonce;
    state.pending = true;
    state.sent = config;
    if (log.enabled) log('%s %s: send version %s nonce %s (%d resources)', this.label(), shortTypeName(typeUrl), version, nonce, count);
    this.send(buf);
    this.ctx.onPush?.({ client: this.nodeId, typeUrl, version, nonce, resources: count });
  }

  status(): ClientStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, s] of this.types) {
      const t: TypeStatus = { subscribed: this.subscribed(s), pending: s.pending };
      if (s.sentVersion !== undefined) t.sentVersion = s.sentVersion;
      if (s.ackedVersion !== undefined) t.ackedVersion = s.ackedVersion;
      if (s.lastNonce !== undefined) t.lastNonce = s.lastNonce;
      if (s.nack) t.nack = { ...s.nack };
      types[shortTypeName(typeUrl)] = t;
    }
    const status: ClientStatus = { id: this.nodeId, peer: this.peer, connectedAt: this.connectedAt.toISOString(), types };
    if (this.announced) {
      const a = this.announced;
      status.announced = { service: a.service, namespace: a.namespace, address: a.address, ports: a.ports.map((p) => p.number) };
    }
    if (this.announcementRejected) status.announcementRejected = { ...this.announcementRejected };
    if (this.metrics) status.metrics = { ...this.metrics, labels: { ...this.metrics.labels } };
    if (this.ctx.peerIdentity) status.identity = { ...this.ctx.peerIdentity };
    if (this.protocol === 'delta') status.delta = true;
    return status;
  }

  /** Per type: the sync state, the latest response sent and the latest one ACKed. */
  configView(): TypeConfigView[] {
    const status = this.status();
    return [...this.types].map(([typeUrl, s]) => ({
      typeUrl,
      status: status.types[shortTypeName(typeUrl)]!,
      ...(s.sent ? { sent: s.sent } : {}),
      ...(s.acked ? { acked: s.acked } : {}),
    }));
  }

  /**
   * A metrics endpoint passes the same address rules as an announced endpoint: the control server
   * hands it to Prometheus to dial, so a client must not point it at, say, 169.254.169.254.


  /**
   * A metrics endpoint passes the same address rules as an announced endpoint: the control server
   * hands it to Prometheus to dial, so a client must not point it at, say, 169.254.169.254.
   */
  private admitMetrics(m: MetricsTarget | undefined): MetricsTarget | undefined {
    if (!m || !this.ctx.admit) return m;
    const rejected = this.ctx.admit({ nodeId: this.nodeId || '-', service: m.service ?? 'meshlet', namespace: m.namespace, labels: m.labels, address: m.address, ports: [{ number: m.port }] });
    if (rejected) log('%s: metrics endpoint not listed: %s', this.label(), rejected.message);
    return rejected ? undefined : m;
  }

  protected onNode(node: Record<string, unknown>): void {
    const id = typeof node['id'] === 'string' ? node['id'] : '';
    if (!this.nodeId && id) this.nodeId = id;
    this.proxy ??= proxyFromNode(node);
    this.metrics = this.admitMetrics(parseMetricsTarget(node));
    const announcement = parseAnnouncement(node);
    if (announcement) {
      const rejected = this.withIdentity(announcement) ?? this.ctx.admit?.(announcement);
      if (rejected) {
        log('%s: announcement rejected: %s', this.label(), rejected.message);
        this.announcementRejected = rejected;
        if (this.announced) this.ctx.deregister(this.announced.nodeId, this);
        this.announced = undefined;
        return;
      }
      if (!this.ctx.announce(announcement, this)) {
        throw new StreamRefusal(grpc.status.ALREADY_EXISTS, 'MESHLET_ERR_XDS_NODE_CONFLICT', `node id "${announcement.nodeId}" is announced by another open stream`);
      }
      this.announced = announcement;
      this.announcementRejected = undefined;
      return;
    }
    // A later node without an announcement (draining, or no ports left) withdraws at once.
    const meta = (node['metadata'] ?? {}) as Record<string, unknown>;
    if (this.announced) {
      log('%s: node no longer announces (draining=%s); deregistering', this.label(), String(meta[NODE_METADATA.draining] ?? false));
      this.ctx.deregister(this.announced.nodeId, this);
      this.announced = undefined;
    }
  }

  /**
   * Binds the announcement to the certificate: the service account and SPIFFE ID come from the
   * verified client certificate, and a node claiming another namespace is refused (Istio
   * authenticates a proxy's namespace against its identity the same way). Without a certificate
   * the endpoint has no identity, whatever SERVICE_ACCOUNT the node claims.
   */
  private withIdentity(a: Announcement): { code: MeshErrorCode; message: string } | undefined {
    const id = this.ctx.peerIdentity;
    if (!id) return undefined;
    if (a.namespace !== id.namespace) {
      return { code: 'MESHLET_ERR_ANNOUNCEMENT', message: `the node announces namespace "${a.namespace}" but its certificate is ${id.spiffeId}` };
    }
    a.serviceAccount = id.serviceAccount;
    a.identity = id.spiffeId;
    return undefined;
  }


  protected label(): string {
    return this.nodeId || this.peer;
  }
}

const INBOUND_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** The inbound listener names (`xds.istio.io/grpc/lds/inbound/…`) among subscribed names, sorted: the snapshot is generated per proxy for them. */
export function inboundOf(names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) if (n.startsWith(INBOUND_PREFIX)) out.push(n);
  return out.sort();
}

let isoCache = { ms: -1, iso: '' };

/**
 * `new Date().toISOString()` for the send time of every response: a push writes ~1,000 of
 * them within the same few milliseconds, so one string per millisecond serves them all.
 */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoCache.ms) isoCache = { ms, iso: new Date(ms).toISOString() };
  return isoCache.iso;
}
