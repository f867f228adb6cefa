/**
 * The ADS client (xDS v3 over one gRPC bidi stream: incremental `DeltaAggregatedResources` by
 * default, state of the world `StreamAggregatedResources` with servers that answer delta with
 * UNIMPLEMENTED, or when asked for). It subscribes to what
 * its watchers ask for, ACKs/NACKs each response, keeps the last good resources, and reconnects
 * with jittered backoff while serving from that cache. Stream failures become events, never
 * thrown errors.
 */
import type * as grpc from '@grpc/grpc-js';
import { trace } from '../internal/debug.js';
import { meshError, type MeshError } from '../errors.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { DiscoveryRequestObject } from './wire/discovery-request.js';
import type { DiscoveryResponseObject } from './wire/discovery-response.js';
import { TypeState, WILDCARD, type ResourceWatcher } from './ads-state.js';
import { AdsStream, type AdsProtocol, type AdsTarget } from './ads-stream.js';
import type { DeltaRequestObject, DeltaResponseObject } from './wire/delta.js';
import { GRPC_STATUS } from '../internal/grpc-codes.js';
import { EventSet, type Disposable } from '../internal/events.js';
import type { ResourceModels } from '../core/model/index.js';
import type { NodeObject } from './node.js';
import { RESOURCE_CODECS } from './resources/index.js';
import { shortTypeName, type ResourceTypeUrl } from './type-urls.js';
import { ServerOrder } from './server-order.js';

const log = trace('ads');

/** google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK's error_detail. */
const INVALID_ARGUMENT = 3;
/** How long close() waits for the server to end the stream after our half-close. */
const CLOSE_GRACE_MS = 500;

export interface XdsClientOptions {
  /**
   * `host:port` of the control server's ADS endpoint, or several in priority order (gRFC A71):
   * a failed stream moves to the next at once, a round of failures backs off, and while a
   * fallback serves, the primary is probed and taken back once it accepts connections.
   */
  server: string | readonly string[];
  /** The node to announce, usually from {@link buildNode}. */
  node: NodeObject;
  /** Default: insecure (plaintext, Istio's port 15010). */
  credentials?: grpc.ChannelCredentials;
  backoff?: BackoffOptions;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * Incremental xDS (`DeltaAggregatedResources`): a change to one resource sends that resource
   * only, and a reconnecting client is not sent what it already holds. A server that answers
   * UNIMPLEMENTED (a SotW-only control plane) is spoken to in SotW from then on. Default true,
   * as Istio's proxies since 1.22 (`ISTIO_DELTA_XDS`); `false`: SotW only.
   */
  delta?: boolean;
}

/** Events of {@link XdsClient}; subscribe with `client.on(name, fn)`. */
export interface XdsClientEvents {
  /** Resources of a type changed or were removed (names of both). */
  update: (typeUrl: string, version: string, names: string[]) => void;
  ack: (typeUrl: string, version: string, nonce: string) => void;
  nack: (typeUrl: string, nonce: string, errorDetail: string) => void;
  /** The server answered on a new stream (response headers or first response). */
  connected: () => void;
  /**
   * A stream ended (or could not be opened); the client keeps its cache and reconnects in
   * `retryInMs`. Fires for every failed attempt, whether or not 'connected' fired before.
   */
  disconnected: (error: MeshError, retryInMs: number) => void;
}

type AnyModel = ResourceModels[ResourceTypeUrl];

/**
 * An xDS (ADS, SotW) client. Connects at construction and until {@link XdsClient.close}.
 *
 * @example
 * ```ts
 * const client = new XdsClient({ server: '127.0.0.1:15010', node: buildNode({ id: 'pp-1' }) });
 * const watch = client.watch(TYPE_URL.cluster, '*', {
 *   onChange: (name, cluster) => console.log('cluster', name, cluster.lbPolicy),
 *   onError: (err) => console.warn(err.message),
 * });
 * client.on('nack', (type, nonce, detail) => console.warn(type, detail));
 * // later
 * watch.dispose();
 * await client.close();
 * ```
 */
export class XdsClient {
  private readonly order: ServerOrder<AdsTarget>;
  private readonly backoff: Backoff;
  private readonly events = new EventSet<XdsClientEvents>();
  private readonly states = new Map<string, TypeState<AnyModel>>();
  private readonly dirty = new Set<TypeState<AnyModel>>();
  private nodeObject: NodeObject;
  private stream: AdsStream | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly delta: boolean;
  /** Servers that answered the delta method with UNIMPLEMENTED: SotW for them from then on. */
  private readonly sotwOnly = new Set<string>();

  constructor(options: XdsClientOptions) {
    this.nodeObject = options.node;
    this.delta = options.delta ?? true;
    const servers = typeof options.server === 'string' ? [options.server] : [...options.server];
    if (servers.length === 0) throw meshError('MESHLET_ERR_CONFIG', 'XdsClient needs at least one server');
    const targets = servers.map((server) => ({
      server,
      // xDS responses of a large mesh exceed grpc's 4 MiB default.
      maxReceiveBytes: 256 * 1024 * 1024,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.channelOptions ? { channelOptions: options.channelOptions } : {}),
    }));
    this.backoff = new Backoff(options.backoff);
    this.order = new ServerOrder(targets, this.backoff, (t) => t.server);
    for (const [typeUrl, codec] of Object.entries(RESOURCE_CODECS)) {
      this.states.set(typeUrl, new TypeState<AnyModel>(typeUrl, codec as (typeof RESOURCE_CODECS)[ResourceTypeUrl]));
    }
    this.connect();
  }

  /** The node sent on each new stream. */
  get node(): NodeObject {
    return this.nodeObject;
  }

  /** The server the current (or next) stream dials. */
  get server(): string {
    return this.order.current.server;
  }

  /** The protocol of the current (or next) stream. */
  get protocol(): AdsProtocol {
    return this.stream?.protocol ?? this.protocolFor(this.order.current.server);
  }

  /** Whether the current stream has heard from the server. */
  get connected(): boolean {
    return this.stream?.connected === true;
  }

  /** Subscribes to an event; returns a disposable. */
  on<E extends keyof XdsClientEvents>(event: E, fn: XdsClientEvents[E]): Disposable {
    return this.events.on(event, fn);
  }

  /**
   * Watches one resource (or every resource of the type with `'*'`). A cached value is delivered
   * asynchronously right away; disposing the last watcher of a name unsubscribes it.
   */
  watch<T extends ResourceTypeUrl>(typeUrl: T, name: string, watcher: ResourceWatcher<ResourceModels[T]>): Disposable {
    if (this.closed) throw meshError('MESHLET_ERR_CLOSED', 'XdsClient.watch() after close()');
    const state = this.state(typeUrl);
    const w = watcher as unknown as ResourceWatcher<AnyModel>;
    let set = state.watchers.get(name);
    const added = !set;
    if (!set) state.watchers.set(name, (set = new Set()));
    set.add(w);
    if (added) this.markDirty(state);
    queueMicrotask(() => {
      if (!set.has(w)) return;
      const names = name === WILDCARD ? [...state.cache.keys()] : state.cache.has(name) ? [name] : [];
      for (const n of names) {
        const model = state.get(n);
        if (model !== undefined) this.call(() => w.onChange(n, model));
      }
    });
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        set.delete(w);
        if (set.size === 0 && state.watchers.get(name) === set) {
          state.watchers.delete(name);
          state.prune();
          this.markDirty(state);
        }
      },
    };
  }

  /** Last good model of a resource, if any. */
  get<T extends ResourceTypeUrl>(typeUrl: T, name: string): ResourceModels[T] | undefined {
    return this.state(typeUrl).get(name) as ResourceModels[T] | undefined;
  }

  /** Every cached resource of a type (a snapshot copy). */
  all<T extends ResourceTypeUrl>(typeUrl: T): ReadonlyMap<string, ResourceModels[T]> {
    const out = new Map<string, ResourceModels[T]>();
    for (const [name, entry] of this.state(typeUrl).cache) out.set(name, entry.model as ResourceModels[T]);
    return out;
  }

  /** Last version ACKed per type. */
  versions(): Record<string, string> {
    return Object.fromEntries([...this.states].map(([t, s]) => [t, s.versionInfo]));
  }

  /**
   * Changes the node (e.g. to announce a served port or to mark draining) and re-sends it on
   * every type already requested on this stream; otherwise it goes out with the next request.
   */
  updateNode(partial: Partial<NodeObject>): void {
    this.nodeObject = { ...this.nodeObject, ...partial };
    const s = this.stream;
    if (!s || !s.nodeSent) return;
    if (s.protocol === 'delta') {
      // The node is per stream: one request (no subscription change) carries it.
      for (const state of this.states.values()) {
        if (state.deltaNames === undefined) continue;
        s.write({ type_url: state.typeUrl, node: this.nodeObject });
        break;
      }
      return;
    }
    for (const state of this.states.values()) if (state.sentNames !== undefined) this.send(s, state, undefined, true);
  }

  /** Half-closes the stream, waits briefly for the server to end it, and stops reconnecting. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.order.stopProbe();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const s = this.stream;
    this.stream = undefined;
    this.closing = s ? s.close(CLOSE_GRACE_MS) : Promise.resolve();
    return this.closing;
  }

  // --------------------------------------------------------------------------------------------

  private state(typeUrl: string): TypeState<AnyModel> {
    const state = this.states.get(typeUrl);
    if (!state) throw meshError('MESHLET_ERR_XDS_PROTOCOL', `unsupported resource type ${typeUrl}`);
    return state;
  }

  /** Runs a watcher/listener callback; user code throwing must not break the client. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log('watcher threw: %o', err);
    }
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.closed) return;
    const target = this.order.current;
    const protocol = this.protocolFor(target.server);
    log('ADS stream (%s) to %s opening', protocol, target.server);
    for (const state of this.states.values()) state.resetStream();
    const s: AdsStream = new AdsStream(target, {
      onConnected: () => {
        log('ADS stream to %s connected', target.server);
        this.events.emit('connected');
      },
      onResponse: (res) => this.onResponse(s, res),
      onEnd: (error) => this.onStreamEnd(s, error),
    }, protocol);
    this.stream = s;
    for (const state of this.states.values()) {
      if (!state.interested) continue;
      if (protocol === 'delta') this.subscribeDelta(s, state);
      else this.send(s, state);
    }
  }

  private protocolFor(server: string): AdsProtocol {
    return this.delta && !this.sotwOnly.has(server) ? 'delta' : 'sotw';
  }

  private onStreamEnd(s: AdsStream, error: MeshError): void {
    if (s !== this.stream || this.closed) return;
    this.stream = undefined;
    if (s.protocol === 'delta' && !s.received && s.status?.code === GRPC_STATUS.UNIMPLEMENTED) {
      // A control plane without incremental xDS (istiod with it off, grpc-go's example servers…):
      // the same server again at once, in SotW, and from then on.
      log('%s does not serve delta xDS (%s); falling back to SotW', this.server, s.status.details);
      this.sotwOnly.add(this.server);
      this.reconnectTimer = setTimeout(() => this.connect(), 0);
      return;
    }
    // Several servers: the next one at once; once every one failed since the last response, back
    // off and start over at the primary (A71: servers are tried in priority order).
    const delay = this.order.failed();
    log('%s; reconnecting to %s in %d ms', error.message, this.server, delay);
    this.events.emit('disconnected', error, delay);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private onResponse(s: AdsStream, response: DiscoveryResponseObject | DeltaResponseObject): void {
    if (s !== this.stream) return;
    // The server proved healthy: only now does the backoff start over (not on connect).
    this.backoff.reset();
    this.order.answered(() => this.returnToPrimary(s));
    if (s.protocol === 'delta') return this.onDeltaResponse(s, response as DeltaResponseObject);
    const res = response as DiscoveryResponseObject;
    const typeUrl = res.type_url ?? '';
    const state = this.states.get(typeUrl);
    if (!state) {
      log('ignoring response for unrequested type %s', typeUrl);
      return;
    }
    if (!state.interested) {
      // Unsubscribed meanwhile. The unsubscribe may have crossed this response and been dropped
      // by the server as stale (its nonce is older), so answer with the current, empty names:
      // without it the server keeps the old subscription pending forever (found by
      // test/fuzz/xds-model.test.ts, seed 7). Nothing of it is applied.
      state.nonce = res.nonce ?? '';
      if (state.sentNames !== undefined) this.send(s, state);
      return;
    }
    state.nonce = res.nonce ?? '';
    const version = res.version_info ?? '';
    const outcome = state.apply(res);
    if (outcome.errorDetail) {
      this.send(s, state, { code: INVALID_ARGUMENT, message: outcome.errorDetail });
      this.events.emit('nack', typeUrl, state.nonce, outcome.errorDetail);
    } else {
      state.versionInfo = version;
      this.send(s, state);
      this.events.emit('ack', typeUrl, version, state.nonce);
    }
    this.notify(state, version, outcome);
  }

  private onDeltaResponse(s: AdsStream, res: DeltaResponseObject): void {
    const typeUrl = res.type_url ?? '';
    const state = this.states.get(typeUrl);
    if (!state) {
      log('ignoring delta response for unrequested type %s', typeUrl);
      return;
    }
    state.nonce = res.nonce ?? '';
    if (!state.interested) {
      // Unsubscribed meanwhile (the unsubscribe crossed this response): ACK so the server does
      // not wait for an answer; nothing of it is applied.
      s.write({ type_url: typeUrl, response_nonce: state.nonce });
      return;
    }
    const version = res.system_version_info ?? '';
    const outcome = state.applyDelta(res);
    if (outcome.errorDetail) {
      s.write({ type_url: typeUrl, response_nonce: state.nonce, error_detail: { code: INVALID_ARGUMENT, message: outcome.errorDetail } });
      this.events.emit('nack', typeUrl, state.nonce, outcome.errorDetail);
    } else {
      state.versionInfo = version;
      s.write({ type_url: typeUrl, response_nonce: state.nonce });
      this.events.emit('ack', typeUrl, version, state.nonce);
    }
    this.notify(state, version, outcome);
  }

  /** Tells watchers and 'update' listeners what a response changed. */
  private notify(state: TypeState<AnyModel>, version: string, outcome: ReturnType<TypeState<AnyModel>['apply']>): void {
    const typeUrl = state.typeUrl;
    log('%s version=%s nonce=%s changed=%d removed=%d failed=%d%s', shortTypeName(typeUrl), version, state.nonce,
      outcome.changed.length, outcome.removed.length, outcome.failed.length, outcome.removed.length > 0 ? ` (removed ${outcome.removed.join(', ')})` : '');
    // Watchers run after the ACK/NACK so that the subscriptions they add go out afterwards.
    for (const [name, model] of outcome.changed) for (const w of state.watchersOf(name)) this.call(() => w.onChange(name, model));
    for (const name of outcome.removed) for (const w of state.watchersOf(name)) this.call(() => w.onRemove?.(name));
    for (const [name, err] of outcome.failed) for (const w of state.watchersOf(name)) this.call(() => w.onError?.(err));
    const names = [...outcome.changed.map(([n]) => n), ...outcome.removed];
    if (names.length > 0) this.events.emit('update', typeUrl, version, names);
  }

  /** The primary accepts connections again: move the stream back to it (A71), cache kept meanwhile. */
  private returnToPrimary(s: AdsStream): void {
    if (s !== this.stream || this.closed) return;
    log('the primary is back; leaving %s', this.server);
    this.order.toPrimary();
    this.stream = undefined;
    void s.close(CLOSE_GRACE_MS);
    this.connect();
  }

  private send(s: AdsStream, state: TypeState<AnyModel>, errorDetail?: { code: number; message: string }, withNode = false): void {
    const names = state.resourceNames();
    const req: DiscoveryRequestObject = {
      version_info: state.versionInfo,
      resource_names: names,
      type_url: state.typeUrl,
      response_nonce: state.nonce,
    };
    // Only the first request of a stream needs the node (xDS spec); updateNode forces it.
    if (!s.nodeSent || withNode) req.node = this.nodeObject;
    if (errorDetail) req.error_detail = errorDetail;
    // A failed write means the call is ending; its onEnd reconnects and resubscribes.
    if (s.write(req)) state.sentNames = names;
  }

  /**
   * An incremental subscription's first request on a stream: what it watches (`*` explicit for a
   * wildcard watch) and, so that the server sends nothing it already holds, the versions of its
   * cached resources. Only that first request of a type carries the node's versions (xDS spec).
   */
  private subscribeDelta(s: AdsStream, state: TypeState<AnyModel>): void {
    const names = state.deltaSubscription();
    const req: DeltaRequestObject = { type_url: state.typeUrl, resource_names_subscribe: [...names].sort() };
    const initial = state.initialVersions();
    if (Object.keys(initial).length > 0) req.initial_resource_versions = initial;
    if (!s.nodeSent) req.node = this.nodeObject;
    if (s.write(req)) state.deltaNames = names;
  }

  /** Sends what changed in an incremental subscription since the last request (no nonce: not an ACK). */
  private resubscribeDelta(s: AdsStream, state: TypeState<AnyModel>): void {
    if (state.deltaNames === undefined) {
      if (state.interested) this.subscribeDelta(s, state);
      return;
    }
    const want = state.deltaSubscription();
    const subscribe = [...want].filter((n) => !state.deltaNames!.has(n)).sort();
    const unsubscribe = [...state.deltaNames].filter((n) => !want.has(n)).sort();
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    const req: DeltaRequestObject = { type_url: state.typeUrl, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe };
    if (!s.nodeSent) req.node = this.nodeObject;
    if (s.write(req)) state.deltaNames = want;
  }

  private markDirty(state: TypeState<AnyModel>): void {
    if (this.dirty.size === 0) queueMicrotask(() => this.flush());
    this.dirty.add(state);
  }

  /** Sends subscription changes made in one tick as one request per type. */
  private flush(): void {
    const states = [...this.dirty];
    this.dirty.clear();
    const s = this.stream;
    if (!s || this.closed) return; // connect() subscribes everything on the next stream
    if (s.protocol === 'delta') {
      for (const state of states) this.resubscribeDelta(s, state);
      return;
    }
    for (const state of states) {
      const names = state.resourceNames();
      const sent = state.sentNames;
      if (sent !== undefined && sent.length === names.length && sent.every((n, i) => n === names[i])) continue;
      if (state.interested) this.send(s, state);
      // Nothing left: an empty list unsubscribes, unless the stream's first request was the
      // legacy wildcard (empty), which cannot be taken back on this stream.
      else if (sent !== undefined && sent.length > 0) this.send(s, state);
    }
  }
}
