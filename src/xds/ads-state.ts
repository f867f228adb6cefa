/**
 * Per-type state of the ADS client: who watches what, the last good resources, the last
 * accepted version, and how a state-of-the-world response is applied (gRFC A46: valid siblings
 * of a bad resource are applied; the bad one keeps its last good value).
 */
import { trace } from '../internal/debug.js';
import { meshError, type MeshError } from '../errors.js';
import type { ValidationResult } from '../core/model/index.js';
import type { ResourceCodec } from './resources/index.js';
import { unwrapResource } from './wire/any.js';
import type { DiscoveryResponseObject } from './wire/discovery-response.js';
import type { DeltaResponseObject } from './wire/delta.js';
import type { AnyProto } from './resources/proto-types.js';
import { shortTypeName } from './type-urls.js';

const log = trace('xds');

/** Receives changes of one resource name (or of every name, for a `'*'` watch). */
export interface ResourceWatcher<M> {
  onChange(name: string, model: M): void;
  /** The resource no longer exists (LDS/CDS: absent from a state-of-the-world response). */
  onRemove?(name: string): void;
  /** A new version was rejected (the last good one stays in use), or could not be decoded. */
  onError?(err: MeshError): void;
}

interface CacheEntry<M> {
  model: M;
  bytes: Uint8Array;
  version: string;
  /** The resource's own version (incremental xDS): sent back in initial_resource_versions on reconnect. */
  resourceVersion?: string;
}

/** What applying one response did; the client notifies watchers and ACKs/NACKs from it. */
export interface ApplyOutcome<M> {
  changed: Array<[string, M]>;
  removed: string[];
  /** Per resource (name, or `resources[i]` when the name is unknown) → MeshError for watchers. */
  failed: Array<[string | undefined, MeshError]>;
  /** NACK error_detail message, empty when everything was valid. */
  errorDetail: string;
}

export const WILDCARD = '*';

/** Failures collected while applying one response. */
interface Failures<M> {
  invalidNames: Set<string>;
  messages: string[];
  out: ApplyOutcome<M>;
  /** Some resource could not even be named. */
  unnamed: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Subscription and cache of one resource type. */
export class TypeState<M> {
  readonly watchers = new Map<string, Set<ResourceWatcher<M>>>();
  readonly cache = new Map<string, CacheEntry<M>>();
  /** Last version ACKed; sent with every request and on reconnect. */
  versionInfo = '';
  /** Nonce of the last response on the current stream. */
  nonce = '';
  /** Resource names in the last request sent on the current stream; undefined: none sent. */
  sentNames: string[] | undefined;
  /** Incremental stream: the names (and `*`) subscribed on the current stream so far; undefined: nothing sent. */
  deltaNames: Set<string> | undefined;
  /** Named LDS/CDS resources the server said do not exist (reported once). */
  private readonly absent = new Set<string>();

  constructor(readonly typeUrl: string, private readonly codec: ResourceCodec<M>) {}

  get wildcard(): boolean {
    return (this.watchers.get(WILDCARD)?.size ?? 0) > 0;
  }

  /** Whether any watcher is interested in anything of this type. */
  get interested(): boolean {
    return this.watchers.size > 0;
  }

  isSubscribed(name: string): boolean {
    return this.wildcard || (this.watchers.get(name)?.size ?? 0) > 0;
  }

  /**
   * resource_names for the next request. Wildcard alone is the legacy empty list (every server
   * understands it); wildcard plus names needs the explicit `*` (xDS spec, "wildcard").
   */
  resourceNames(): string[] {
    const names = [...this.watchers.keys()].filter((n) => n !== WILDCARD).sort();
    if (!this.wildcard) return names;
    return names.length === 0 ? [] : [WILDCARD, ...names];
  }

  /** Forget per-stream state; the accepted version and the cache survive reconnects. */
  resetStream(): void {
    this.nonce = '';
    this.sentNames = undefined;
    this.deltaNames = undefined;
  }

  /** What an incremental subscription names: `*` for a wildcard watch (always explicit), then the names. */
  deltaSubscription(): Set<string> {
    return new Set(this.watchers.keys());
  }

  /** initial_resource_versions for a new incremental stream: the subscribed cached resources that carry their own version. */
  initialVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, e] of this.cache) if (e.resourceVersion !== undefined && this.isSubscribed(name)) out[name] = e.resourceVersion;
    return out;
  }

  /** Drops cached entries nobody watches any more. */
  prune(): void {
    for (const name of [...this.cache.keys()]) if (!this.isSubscribed(name)) this.cache.delete(name);
    for (const name of [...this.absent]) if (!this.isSubscribed(name)) this.absent.delete(name);
  }

  /** Watchers to tell about `name`: its own plus the wildcard ones. */
  watchersOf(name: string | undefined): ResourceWatcher<M>[] {
    const own = name === undefined ? [] : [...(this.watchers.get(name) ?? [])];
    return name === WILDCARD ? own : [...own, ...(this.watchers.get(WILDCARD) ?? [])];
  }

  private error(name: string | undefined, code: 'MESHLET_ERR_XDS_INVALID' | 'MESHLET_ERR_XDS_DECODE', errors: readonly string[]): MeshError {
    const what = `${shortTypeName(this.typeUrl)} resource ${name ?? '(unnamed)'}`;
    const verb = code === 'MESHLET_ERR_XDS_DECODE' ? 'could not be decoded' : 'was rejected; keeping the last good version';
    return meshError(code, `${what} ${verb}: ${errors.join('; ')}`, { detail: { typeUrl: this.typeUrl, name, errors: [...errors] } });
  }

  private fail(acc: Failures<M>, name: string | undefined, key: string, code: 'MESHLET_ERR_XDS_INVALID' | 'MESHLET_ERR_XDS_DECODE', errors: readonly string[]): void {
    if (name === undefined) acc.unnamed = true;
    else acc.invalidNames.add(name);
    for (const e of errors) acc.messages.push(`${key}: ${e}`);
    acc.out.failed.push([name, this.error(name, code, errors)]);
  }

  /** Decodes and validates one resource into `valid` or the failures. */
  private check(acc: Failures<M>, valid: Map<string, { model: M; bytes: Uint8Array; resourceVersion?: string }>, raw: AnyProto | undefined, key: string, wrapper?: { name: string; version: string }): void {
    const { invalidNames } = acc;
    let result: ValidationResult<M>;
    let bytes: Uint8Array;
    try {
      if (raw === undefined) {
        this.fail(acc, wrapper?.name || undefined, key, 'MESHLET_ERR_XDS_DECODE', ['the Resource carries no resource']);
        return;
      }
      const any = unwrapResource(raw);
      if (any.type_url !== this.typeUrl) {
        this.fail(acc, undefined, key, 'MESHLET_ERR_XDS_DECODE', [`type_url ${String(any.type_url)} does not match the response type ${this.typeUrl}`]);
        return;
      }
      bytes = any.value ?? new Uint8Array();
      result = this.unchanged(bytes) ?? this.codec.validate(this.codec.decode(bytes));
    } catch (err) {
      this.fail(acc, wrapper?.name || undefined, key, 'MESHLET_ERR_XDS_DECODE', [`cannot decode: ${(err as Error).message}`]);
      return;
    }
    if (!result.ok) {
      this.fail(acc, result.name ?? (wrapper?.name || undefined), result.name ?? key, 'MESHLET_ERR_XDS_INVALID', result.errors);
    } else if (wrapper && wrapper.name !== '' && wrapper.name !== result.name) {
      this.fail(acc, wrapper.name, wrapper.name, 'MESHLET_ERR_XDS_INVALID', [`the Resource is named "${wrapper.name}" but holds "${result.name}"`]);
    } else if (valid.has(result.name) || invalidNames.has(result.name)) {
      valid.delete(result.name);
      this.fail(acc, result.name, result.name, 'MESHLET_ERR_XDS_INVALID', ['listed more than once in one response']);
    } else {
      valid.set(result.name, wrapper ? { model: result.model, bytes, resourceVersion: wrapper.version } : { model: result.model, bytes });
    }
  }

  /** Puts valid resources the client subscribes to into the cache; collects the changed ones. */
  private store(valid: Map<string, { model: M; bytes: Uint8Array; resourceVersion?: string }>, version: string, out: ApplyOutcome<M>): void {
    for (const [name, { model, bytes, resourceVersion }] of valid) {
      // Servers send every subscribed resource in each response; unwatched ones are ignored.
      if (!this.isSubscribed(name)) continue;
      this.absent.delete(name);
      const prev = this.cache.get(name);
      this.cache.set(name, resourceVersion !== undefined ? { model, bytes, version, resourceVersion } : { model, bytes, version });
      if (!prev || !sameBytes(prev.bytes, bytes)) out.changed.push([name, model]);
    }
  }

  /**
   * A resource is gone (LDS/CDS): dropped from the cache and reported once to its watchers. The
   * one removal path: SotW infers it from what a response leaves out, incremental xDS names it in
   * removed_resources.
   */
  private remove(name: string, out: ApplyOutcome<M>): void {
    if (this.absent.has(name) && !this.cache.has(name)) return;
    this.cache.delete(name);
    this.absent.add(name);
    out.removed.push(name);
  }

  /** Decodes, validates and applies a state-of-the-world response to the cache. Never throws. */
  apply(res: DiscoveryResponseObject): ApplyOutcome<M> {
    const version = res.version_info ?? '';
    const valid = new Map<string, { model: M; bytes: Uint8Array }>();
    const invalidNames = new Set<string>();
    const out: ApplyOutcome<M> = { changed: [], removed: [], failed: [], errorDetail: '' };
    const messages: string[] = [];
    // No closures here: apply runs for every response, and tsx's keepNames turns each closure
    // creation into a defineProperty call on top of the allocation.
    const acc: Failures<M> = { invalidNames, messages, out, unnamed: false };
    const resources = res.resources ?? [];
    for (let i = 0; i < resources.length; i++) this.check(acc, valid, resources[i], `resources[${i}]`);
    this.store(valid, version, out);
    for (const name of invalidNames) this.absent.delete(name);
    // State of the world (LDS, CDS): what the response does not mention is gone — unless some
    // resource in it could not even be named, in which case any name might be that one.
    if (this.codec.allRequiredInSotW && !acc.unnamed) {
      for (const name of [...this.cache.keys()]) {
        if (valid.has(name) || invalidNames.has(name)) continue;
        this.remove(name, out);
      }
      for (const name of this.watchers.keys()) {
        if (name === WILDCARD || valid.has(name) || invalidNames.has(name) || this.absent.has(name)) continue;
        this.remove(name, out);
      }
    }
    out.errorDetail = messages.join('; ');
    if (messages.length > 0) log('%s NACK nonce=%s: %s', shortTypeName(this.typeUrl), res.nonce ?? '', out.errorDetail);
    return out;
  }

  /**
   * Applies an incremental response: its resources as {@link apply} does (the same validation,
   * gRFC A46 partial acceptance, unchanged-bytes shortcut), and removed_resources through the
   * same removal as SotW. SotW only ever removes LDS/CDS resources (RDS/EDS responses need not
   * name everything), so a removed RDS/EDS name keeps its last value until unsubscribed, as it
   * would under SotW: both protocols leave a client holding the same config. Never throws.
   */
  applyDelta(res: DeltaResponseObject): ApplyOutcome<M> {
    const version = res.system_version_info ?? '';
    const valid = new Map<string, { model: M; bytes: Uint8Array; resourceVersion?: string }>();
    const invalidNames = new Set<string>();
    const out: ApplyOutcome<M> = { changed: [], removed: [], failed: [], errorDetail: '' };
    const messages: string[] = [];
    const acc: Failures<M> = { invalidNames, messages, out, unnamed: false };
    const resources = res.resources ?? [];
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i]!;
      this.check(acc, valid, r.resource, r.name ? `resources[${i}] (${r.name})` : `resources[${i}]`, { name: r.name, version: r.version });
    }
    this.store(valid, version, out);
    for (const name of invalidNames) this.absent.delete(name);
    if (this.codec.allRequiredInSotW) {
      for (const name of res.removed_resources ?? []) {
        if (valid.has(name) || invalidNames.has(name)) continue;
        if (this.cache.has(name) || (this.watchers.has(name) && !this.absent.has(name))) this.remove(name, out);
      }
    } else if ((res.removed_resources?.length ?? 0) > 0) {
      log('%s: server removed %s; the last value stays until unsubscribed (as under SotW)', shortTypeName(this.typeUrl), res.removed_resources!.join(', '));
      // Kept in use, but no longer held in the server's sense: a reconnect must not claim it in
      // initial_resource_versions, so whatever the server has for it then is sent (Envoy's
      // delta_subscription_state.cc: a removed resource still subscribed is "waiting for server").
      for (const name of res.removed_resources!) {
        const e = this.cache.get(name);
        if (e?.resourceVersion !== undefined && !valid.has(name)) this.cache.set(name, { model: e.model, bytes: e.bytes, version: e.version });
      }
    }
    out.errorDetail = messages.join('; ');
    if (messages.length > 0) log('%s NACK nonce=%s: %s', shortTypeName(this.typeUrl), res.nonce ?? '', out.errorDetail);
    return out;
  }

  /**
   * The cached result for bytes identical to a cached resource's. SotW resends every resource of
   * a type on each change (all clusters when one is added), and decode + validate is a pure
   * function of the bytes, so an identical resource needs neither. The name is only a lookup
   * hint, read from field 1 when it comes first (the name of Listener, RouteConfiguration,
   * Cluster and ClusterLoadAssignment, as every encoder writes it); full byte equality with the
   * entry cached under that name is what proves the result.
   */
  private unchanged(bytes: Uint8Array): ValidationResult<M> | undefined {
    if (this.cache.size === 0 || bytes.length < 2 || bytes[0] !== 0x0a) return undefined;
    let len = 0;
    let pos = 1;
    for (let shift = 0; pos < bytes.length && shift < 28; shift += 7) {
      const b = bytes[pos++]!;
      len |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (len > bytes.length - pos) return undefined;
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + pos, len).toString('utf8');
    const entry = this.cache.get(name);
    return entry && sameBytes(entry.bytes, bytes) ? { ok: true, name, model: entry.model } : undefined;
  }

  get(name: string): M | undefined {
    return this.cache.get(name)?.model;
  }
}
