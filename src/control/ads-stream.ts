import type { Announcement } from './model.js';
import { proxyFromNode, type Proxy } from './proxy.js';
import type { ResourceEntry, Snapshot } from './snapshot.js';
import type { DiscoveryRequest } from '../xds/wire/discovery-request.js';
import { finishDiscoveryResponse } from '../xds/wire/discovery-response.js';
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
  announce(a: Announcement, owner: AdsStream): boolean;
  /**
   * Checks an announcement against the announcement policy; returns the reason it is not
   * accepted, or undefined. A rejected announcement is not registered; config is still served.
   */
  admit?(a: Announcement): { code: MeshErrorCode; message: string } | undefined;
  /** Responses wait (warm-up after a restart); `onSnapshot()` sends them once this turns false. */
  holding?(): boolean;
  /** The stream's first request for a type carried a version from a previous server. */
  onReconnect?(): void;
  deregister(nodeId: string, owner: AdsStream): void;
  /**
   * The workload identity of the stream's verified client certificate (secure port only). It,
   * not the node's SERVICE_ACCOUNT claim, is what the announced endpoint carries.
   */
  peerIdentity?: { spiffeId: string; namespace: string; serviceAccount: string };
  /** Absent when nobody listens: a push to N streams then builds no N event objects. */
  onPush?(e: PushEvent): void;
  onNack(e: NackEvent): void;
}

interface TypeState {
  wildcard: boolean;
  /** The first request had no names: legacy wildcard, which later empty lists keep. */
  legacyWildcard: boolean;
  names: Set<string>;
  /** resource_names of the request that set `names`, as sent (an ACK repeats it). */
  requested?: readonly string[];
  /** `names` sorted, computed on the first push after a subscription change. */
  sorted?: string[];
  /** The inbound listener names among `names`, sorted (computed with `sorted`). */
  inbound?: string[];
  /** Content key of the subscription at type version `keyVersion`; cleared when the subscription changes. */
  key?: string;
  keyVersion?: string;
  /** Fingerprint of the (name, version) set last sent; a push happens only when it changes. */
  sentKey?: string;
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
const PUSH_ORDER = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route] as string[];

/**
 * State-of-the-world protocol state of one ADS stream: subscriptions, versions and nonces per
 * type. Transport-free (takes decoded requests, returns encoded responses through `send`) so
 * the protocol is testable without gRPC.
 *
 * Rules (envoy xds-protocol "ACK/NACK and resource type instance version"):
 * - A request whose response_nonce is not the latest nonce sent for its type is stale and is
 *   ignored entirely, subscription changes included; the client repeats them with the next ACK.
 * - First request for a type with no names, or any request naming '*', is a wildcard
 *   subscription. After a legacy (empty) wildcard start, an empty list stays wildcard.
 * - error_detail marks a NACK: recorded, and the rejected content is not re-sent; the next
 *   content change (or subscription change) produces a new response.
 * - A response is sent when the (name, version) set relevant to the stream differs from what was
 *   last sent, and always for the first request of a type (an empty answer tells LDS/CDS clients
 *   that the named resources do not exist).
 */
export class AdsStream {
  readonly connectedAt = new Date();
  nodeId = '';
  /** Who is asking, from the stream's first node (Istio fixes a proxy's metadata per connection). */
  private proxy: Proxy | undefined;
  announced: Announcement | undefined;
  announcementRejected: { code: MeshErrorCode; message: string } | undefined;
  /** From the latest node, when its address passes the announcement policy (Prometheus will dial it). */
  metrics: MetricsTarget | undefined;
  private readonly types = new Map<string, TypeState>();
  private closed = false;

  constructor(
    readonly peer: string,
    private readonly ctx: StreamContext,
    private readonly send: (bytes: Buffer) => void,
  ) {}

  /** Handles one decoded DiscoveryRequest. */
  onRequest(req: DiscoveryRequest): void {
    if (this.closed) return;
    if (req.node) this.onNode(req.node);
    if (!req.typeUrl) {
      log('%s: request without type_url ignored', this.label());
      return;
    }
    let state = this.types.get(req.typeUrl);
    const first = state === undefined;
    if (state && state.lastNonce !== undefined && req.responseNonce !== state.lastNonce) {
      if (log.enabled) log('%s %s: stale nonce %s (latest %s) ignored', this.label(), shortTypeName(req.typeUrl), req.responseNonce, state.lastNonce);
      return;
    }
    // A new stream whose first request carries a version: the client held config from a
    // previous server (xDS: version_info of a first request is the last version seen).
    if (first && req.versionInfo !== '') this.ctx.onReconnect?.();
    state ??= { wildcard: false, legacyWildcard: req.resourceNames.length === 0, names: new Set(), pending: false };
    this.types.set(req.typeUrl, state);
    if (req.responseNonce && state.lastNonce === req.responseNonce) {
      state.pending = false;
      if (req.errorDetail) {
        state.nack = { version: state.sentVersion ?? '', nonce: req.responseNonce, message: req.errorDetail.message, at: new Date().toISOString() };
        log('%s %s: NACK of %s: %s', this.label(), shortTypeName(req.typeUrl), state.sentVersion, req.errorDetail.message);
        this.ctx.onNack({ client: this.nodeId, typeUrl: req.typeUrl, version: state.nack.version, nonce: req.responseNonce, message: req.errorDetail.message });
      } else {
        state.nack = undefined;
        if (state.sent) state.acked = state.sent;
      }
      state.ackedVersion = req.versionInfo || state.ackedVersion;
    }
    const wildcard = req.resourceNames.includes('*') || (req.resourceNames.length === 0 && state.legacyWildcard);
    // Most requests are ACKs naming what the stream already subscribes to: keeping the state
    // keeps the subscription's content key, so an ACK costs no key rebuild (1,000 per push).
    if (first || wildcard !== state.wildcard || !sameList(state.requested, req.resourceNames)) {
      state.requested = req.resourceNames;
      state.wildcard = wildcard;
      state.names = new Set(req.resourceNames.filter((n) => n !== '*'));
      state.sorted = undefined;
      state.inbound = undefined;
      state.keyVersion = undefined;
    }
    this.maybeSend(req.typeUrl, state, first);
  }

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

  status(): ClientStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, s] of this.types) {
      const t: TypeStatus = { subscribed: s.wildcard ? '*' : [...s.names].sort(), pending: s.pending };
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
   */
  private admitMetrics(m: MetricsTarget | undefined): MetricsTarget | undefined {
    if (!m || !this.ctx.admit) return m;
    const rejected = this.ctx.admit({ nodeId: this.nodeId || '-', service: m.service ?? 'meshlet', namespace: m.namespace, labels: m.labels, address: m.address, ports: [{ number: m.port }] });
    if (rejected) log('%s: metrics endpoint not listed: %s', this.label(), rejected.message);
    return rejected ? undefined : m;
  }

  private onNode(node: Record<string, unknown>): void {
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

  private maybeSend(typeUrl: string, state: TypeState, first: boolean): void {
    const snapshot = this.ctx.snapshot(this.proxy, typeUrl === TYPE_URL.listener ? inboundNames(state) : undefined);
    const all = snapshot.resources(typeUrl);
    const version = snapshot.typeVersion(typeUrl);
    // Every push re-evaluates every type of every stream, and usually one type changed: the
    // key computed for this type version (which hashes every (name, version) of the type)
    // still holds, so only the changed type builds its key.
    let key = state.keyVersion === version ? state.key : undefined;
    if (key === undefined) {
      if (state.wildcard) {
        key = `*${version}`;
      } else {
        state.sorted ??= [...state.names].sort();
        key = '';
        for (const name of state.sorted) {
          const e = all.get(name);
          if (e) key += key === '' ? `${name}\0${e.version}` : `\n${name}\0${e.version}`;
        }
      }
      state.key = key;
      state.keyVersion = version;
    }
    if (this.ctx.holding?.()) {
      state.owed ||= first;
      return;
    }
    if (state.owed) {
      first = true;
      state.owed = false;
    }
    if (!first && key === state.sentKey) return;
    // Nothing subscribed and nothing ever sent for this type: no answer is needed.
    if (!first && !state.wildcard && state.names.size === 0 && state.sentKey === undefined) return;
    const { head, count } = snapshot.responseHead(typeUrl, key, () => this.selected(all, state));
    const nonce = this.ctx.nextNonce();
    const buf = finishDiscoveryResponse(head, nonce, this.ctx.controlPlaneId);
    state.sentKey = key;
    state.sentVersion = version;
    state.lastNonce = nonce;
    state.pending = true;
    state.sent = { resources: all, names: state.wildcard ? '*' : (state.sorted ??= [...state.names].sort()), version, at: isoNow() };
    if (log.enabled) log('%s %s: send version %s nonce %s (%d resources)', this.label(), shortTypeName(typeUrl), version, nonce, count);
    this.send(buf);
    this.ctx.onPush?.({ client: this.nodeId, typeUrl, version, nonce, resources: count });
  }

  /** Encoded resources a stream gets for a type: all of them, or its subscribed names that exist. */
  private selected(all: ReadonlyMap<string, { bytes: Uint8Array }>, state: TypeState): Uint8Array[] {
    if (state.wildcard) return [...all.values()].map((e) => e.bytes);
    const bytes: Uint8Array[] = [];
    for (const name of state.sorted ?? [...state.names].sort()) {
      const e = all.get(name);
      if (e) bytes.push(e.bytes);
    }
    return bytes;
  }

  private label(): string {
    return this.nodeId || this.peer;
  }
}

const INBOUND_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** The subscription's inbound listener names, sorted; undefined when there are none. */
function inboundNames(state: TypeState): string[] | undefined {
  if (state.names.size === 0) return undefined;
  state.inbound ??= [...state.names].filter((n) => n.startsWith(INBOUND_PREFIX)).sort();
  return state.inbound.length > 0 ? state.inbound : undefined;
}

/**
 * Whether a request lists exactly the names of the one before it, in the same order: what an ACK
 * does (clients resend their subscription as is). Any other list counts as a change, even one
 * naming the same set, which only costs the key rebuild this check saves.
 */
function sameList(previous: readonly string[] | undefined, requested: readonly string[]): boolean {
  if (previous === undefined || previous.length !== requested.length) return false;
  for (let i = 0; i < requested.length; i++) if (previous[i] !== requested[i]) return false;
  return true;
}

let isoCache = { ms: -1, iso: '' };

/**
 * `new Date().toISOString()` for the send time of every response: a push writes ~1,000 of
 * them within the same few milliseconds, so one string per millisecond serves them all.
 */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoCache.ms) isoCache = { ms, iso: new Date(ms).toISOString() };
  return isoCache.iso;
}
