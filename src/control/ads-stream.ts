import { AdsPeer, inboundOf, isoNow, type TypeAck } from './ads-peer.js';
import type { DiscoveryRequest } from '../xds/wire/discovery-request.js';
import { finishDiscoveryResponse } from '../xds/wire/discovery-response.js';
import { shortTypeName, TYPE_URL } from '../xds/type-urls.js';
import { trace } from '../internal/debug.js';

const log = trace('ads');

export type { ClientStatus, NackEvent, PushEvent, SentConfig, StreamContext, TypeConfigView, TypeStatus } from './ads-peer.js';

interface TypeState extends TypeAck {
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
}

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
export class AdsStream extends AdsPeer<TypeState> {
  readonly protocol = 'sotw';

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
    if (req.responseNonce && state.lastNonce === req.responseNonce) this.answer(req.typeUrl, state, req.responseNonce, req.errorDetail, req.versionInfo);
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

  protected subscribed(state: TypeState): string[] | '*' {
    return state.wildcard ? '*' : [...state.names].sort();
  }

  protected maybeSend(typeUrl: string, state: TypeState, first: boolean): void {
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
    const release = this.released(state, first);
    if (release === undefined) return;
    first = release;
    if (!first && key === state.sentKey) return;
    // Nothing subscribed and nothing ever sent for this type: no answer is needed.
    if (!first && !state.wildcard && state.names.size === 0 && state.sentKey === undefined) return;
    const { head, count } = snapshot.responseHead(typeUrl, key, () => this.selected(all, state));
    const nonce = this.ctx.nextNonce();
    state.sentKey = key;
    this.sent(typeUrl, state, finishDiscoveryResponse(head, nonce, this.ctx.controlPlaneId), nonce, version, count,
      { resources: all, names: state.wildcard ? '*' : (state.sorted ??= [...state.names].sort()), version, at: isoNow() });
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
}

/** The subscription's inbound listener names, sorted; undefined when there are none. */
function inboundNames(state: TypeState): string[] | undefined {
  if (state.names.size === 0) return undefined;
  state.inbound ??= inboundOf(state.names);
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
