import { AdsPeer, inboundOf, isoNow, type TypeAck } from './ads-peer.js';
import { StreamRefusal } from './ads-limits.js';
import type { ResourceEntry } from './snapshot.js';
import { encodeDeltaResource, encodeDeltaResponseHead, finishDeltaResponse, type DeltaRequest } from '../xds/wire/delta.js';
import { shortTypeName, TYPE_URL } from '../xds/type-urls.js';
import { trace } from '../internal/debug.js';
import * as grpc from '@grpc/grpc-js';

const log = trace('ads');

interface DeltaTypeState extends TypeAck {
  /** Subscribed to every resource of the type ('*', or the legacy empty first request of LDS/CDS). */
  wildcard: boolean;
  /** Names subscribed explicitly ('*' excluded). */
  names: Set<string>;
  /** What the client holds, name → version, as far as the server knows: what it was sent, or its initial_resource_versions. */
  held: Map<string, string>;
  /** Explicitly subscribed names the client was told do not exist (in removed_resources), not told again. */
  toldAbsent: Set<string>;
  /** The type version `held` was last reconciled with, for this subscription; unset after a subscription change. */
  syncedVersion?: string;
  /**
   * `held` is exactly the type's resources at `syncedVersion` (a wildcard-only subscription after
   * a reconcile): the next change is then the same for every such stream, computed once.
   */
  exact: boolean;
  inbound?: string[];
}

/** Types whose first request with no names is a (legacy) wildcard subscription (xDS protocol, "wildcard"). */
const LEGACY_WILDCARD_TYPES = new Set<string>([TYPE_URL.listener, TYPE_URL.cluster]);

const wrapped = new WeakMap<ResourceEntry, Uint8Array>();

/** An entry as an `envoy.service.discovery.v3.Resource`, encoded once per entry (entries are shared across snapshots and streams). */
function resourceBytes(name: string, e: ResourceEntry): Uint8Array {
  let bytes = wrapped.get(e);
  if (!bytes) {
    bytes = encodeDeltaResource(name, e.version, e.bytes);
    wrapped.set(e, bytes);
  }
  return bytes;
}

interface Change {
  changed: Array<[string, ResourceEntry]>;
  removed: string[];
}

/**
 * Incremental xDS (`DeltaAggregatedResources`) protocol state of one stream (envoy
 * xds_protocol.rst "Incremental xDS"; Istio pilot/pkg/xds/delta.go). Per type: the
 * subscription (wildcard and/or names, changed by resource_names_subscribe/unsubscribe), the
 * version of each resource the client holds, and nonces. A response carries only resources whose
 * version differs from what the client holds and, in removed_resources, the ones it holds that
 * are gone (or a named one that does not exist). Versions are the snapshot's content hashes, so
 * a client reconnecting with initial_resource_versions, to this or another server of the same
 * config, is sent nothing it already has.
 *
 * - Subscription changes apply whatever the nonce (they are deltas: dropping one would lose it);
 *   a stale nonce only means the request does not answer the latest response.
 * - error_detail marks a NACK: recorded as for SotW; the rejected versions count as held, so
 *   they are not re-sent; the next change of a resource is.
 */
export class DeltaAdsStream extends AdsPeer<DeltaTypeState> {
  readonly protocol = 'delta';

  /** Handles one decoded DeltaDiscoveryRequest; throws {@link StreamRefusal} past a bound. */
  onRequest(req: DeltaRequest, maxSubscribed: number): void {
    if (this.closed) return;
    if (req.node) this.onNode(req.node);
    if (!req.typeUrl) {
      log('%s: delta request without type_url ignored', this.label());
      return;
    }
    let state = this.types.get(req.typeUrl);
    const first = state === undefined;
    if (!state) {
      state = { wildcard: req.subscribe.length === 0 && LEGACY_WILDCARD_TYPES.has(req.typeUrl), names: new Set(), held: new Map(), toldAbsent: new Set(), pending: false, exact: false };
      for (const [n, v] of req.initialVersions) state.held.set(n, v);
      // A client holding config from a previous stream (this server or another one).
      if (req.initialVersions.size > 0) this.ctx.onReconnect?.();
      this.types.set(req.typeUrl, state);
    }
    if (req.responseNonce) {
      if (req.responseNonce === state.lastNonce) this.answer(req.typeUrl, state, req.responseNonce, req.errorDetail, req.errorDetail ? '' : (state.sentVersion ?? ''));
      else if (log.enabled) log('%s %s: stale nonce %s (latest %s)', this.label(), shortTypeName(req.typeUrl), req.responseNonce, state.lastNonce);
    }
    if (req.subscribe.length > 0 || req.unsubscribe.length > 0) {
      for (const n of req.subscribe) {
        if (n === '*') state.wildcard = true;
        else {
          state.names.add(n);
          // Asked again: tell again if it still does not exist.
          state.toldAbsent.delete(n);
        }
      }
      for (const n of req.unsubscribe) {
        if (n === '*') {
          state.wildcard = false;
          // The client drops what only the wildcard gave it.
          for (const h of [...state.held.keys()]) if (!state.names.has(h)) state.held.delete(h);
        } else {
          state.names.delete(n);
          state.toldAbsent.delete(n);
          if (!state.wildcard) state.held.delete(n);
        }
      }
      if (state.names.size > maxSubscribed) {
        throw new StreamRefusal(grpc.status.RESOURCE_EXHAUSTED, 'MESHLET_ERR_XDS_LIMIT', `${shortTypeName(req.typeUrl)}: ${state.names.size} names subscribed, the limit is ${maxSubscribed} per type`);
      }
      state.syncedVersion = undefined;
      state.exact = false;
      state.inbound = undefined;
    }
    this.maybeSend(req.typeUrl, state, first);
  }

  protected subscribed(state: DeltaTypeState): string[] | '*' {
    return state.wildcard ? '*' : [...state.names].sort();
  }

  protected maybeSend(typeUrl: string, state: DeltaTypeState, first: boolean): void {
    if (typeUrl === TYPE_URL.listener && state.inbound === undefined) state.inbound = inboundOf(state.names);
    const snapshot = this.ctx.snapshot(this.proxy, state.inbound && state.inbound.length > 0 ? state.inbound : undefined);
    const all = snapshot.resources(typeUrl);
    const version = snapshot.typeVersion(typeUrl);
    const release = this.released(state, first);
    if (release === undefined) return;
    first = release;
    // The type's version hashes every (name, version) of it: unchanged, nothing the stream holds changed.
    if (!first && state.syncedVersion === version) return;
    const pureWildcard = state.wildcard && state.names.size === 0;
    let change: Change;
    let head: Buffer | undefined;
    if (pureWildcard && state.exact && state.syncedVersion !== undefined) {
      // Every wildcard stream synced at the same version gets the same change: computed and encoded once.
      const memo = snapshot.cachedHead(typeUrl, `\0delta:${state.syncedVersion}>${version}`, () => {
        const c = diff(all, state);
        return { head: encodeHead(version, typeUrl, c), count: c.changed.length, change: c };
      });
      change = memo.change;
      head = memo.head;
    } else {
      change = diff(all, state);
    }
    if (!first && change.changed.length === 0 && change.removed.length === 0) {
      state.syncedVersion = version;
      state.exact = pureWildcard;
      return;
    }
    for (const [n, e] of change.changed) {
      state.held.set(n, e.version);
      state.toldAbsent.delete(n);
    }
    for (const n of change.removed) {
      state.held.delete(n);
      if (state.names.has(n)) state.toldAbsent.add(n);
    }
    state.syncedVersion = version;
    state.exact = pureWildcard;
    head ??= snapshot.cachedHead(typeUrl, `\0delta:${changeKey(change)}`, () => ({ head: encodeHead(version, typeUrl, change), count: change.changed.length })).head;
    const nonce = this.ctx.nextNonce();
    this.sent(typeUrl, state, finishDeltaResponse(head, nonce, this.ctx.controlPlaneId), nonce, version, change.changed.length,
      { resources: all, names: state.wildcard ? '*' : [...state.names].sort(), version, at: isoNow() });
  }
}

/** What `state`'s client lacks of `all` (or holds in an older version), and what it holds that is gone. */
function diff(all: ReadonlyMap<string, ResourceEntry>, state: DeltaTypeState): Change {
  const changed: Array<[string, ResourceEntry]> = [];
  const removed: string[] = [];
  if (state.wildcard) {
    for (const [n, e] of all) if (state.held.get(n) !== e.version) changed.push([n, e]);
  }
  for (const n of state.names) {
    const e = all.get(n);
    if (e) {
      if (!state.wildcard && state.held.get(n) !== e.version) changed.push([n, e]);
    } else if (!state.held.has(n) && !state.toldAbsent.has(n)) {
      removed.push(n);
    }
  }
  for (const n of state.held.keys()) if (!all.has(n)) removed.push(n);
  changed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  removed.sort();
  return { changed, removed };
}

function changeKey(c: Change): string {
  let key = '';
  for (const [n, e] of c.changed) key += `${n}\0${e.version}\n`;
  key += '-';
  for (const n of c.removed) key += `\n${n}`;
  return key;
}

function encodeHead(version: string, typeUrl: string, c: Change): Buffer {
  return encodeDeltaResponseHead(version, c.changed.map(([n, e]) => resourceBytes(n, e)), typeUrl, c.removed);
}
