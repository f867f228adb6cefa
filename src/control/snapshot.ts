import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { messageType } from '../xds/protos.js';
import { messageNameOf, RESOURCE_TYPE_URLS } from '../xds/type-urls.js';
import type { TranslateOutput } from './translate/index.js';
import { deepEqual } from './translate/deep-equal.js';
import { LayeredMap } from './layered-map.js';
import { encodeAny } from '../xds/wire/any.js';
import { encodeResponseHead } from '../xds/wire/discovery-response.js';

/** One resource, encoded once per version and shared by every subscriber. */
export interface ResourceEntry {
  /** The resource wrapped in `google.protobuf.Any` (type_url + value), ready to splice into a response. */
  readonly bytes: Uint8Array;
  /** Just the message bytes (Any.value), for decoding in the admin API. */
  readonly value: Uint8Array;
  /** Content hash of `bytes`: unchanged content keeps its version across snapshots. */
  readonly version: string;
  /**
   * The translator output these bytes were encoded from; the next build compares against it
   * and skips encoding and hashing when nothing changed. Treat as frozen.
   */
  readonly message?: Readonly<Record<string, unknown>>;
}

/** A resource the snapshot could not encode (a translator bug); the type keeps the others. */
export interface EncodeError {
  typeUrl: string;
  name: string;
  message: string;
}

const EMPTY: ReadonlyMap<string, ResourceEntry> = new Map();
const MAX_HEADS_PER_TYPE = 256;

function shortHash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/**
 * A type's (name, version) multiset: its size and two sums mod 2^32 of per-entry mixes, which a
 * patch updates in O(changes) (a hash over the sorted list would cost O(size) per change).
 */
interface TypeSum {
  count: number;
  hi: number;
  lo: number;
}

const mixes = new WeakMap<ResourceEntry, readonly [number, number]>();

/** FNV-1a over a string's UTF-16 code units, from a given offset basis. */
function fnv1a(s: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * An entry's share of its type's version: its content hash (`version`, 64 bits of sha256) with
 * its name folded in. Entries are reused across snapshots under the same name, so each is
 * mixed once.
 */
function mixOf(name: string, e: ResourceEntry): readonly [number, number] {
  let m = mixes.get(e);
  if (m === undefined) {
    const v = e.version.padEnd(16, '0');
    m = [(parseInt(v.slice(0, 8), 16) ^ fnv1a(name, 0x811c9dc5)) >>> 0, (parseInt(v.slice(8, 16), 16) ^ fnv1a(name, 0x050c5d1f)) >>> 0];
    mixes.set(e, m);
  }
  return m;
}

function versionOf(s: TypeSum): string {
  return s.count === 0 ? shortHash('') : shortHash(`${s.count}\0${s.hi}\0${s.lo}`);
}

/** Resources to add or replace and names to remove, for one type (see {@link Snapshot.patch}). */
export interface SnapshotTypeDelta {
  upsert: ReadonlyArray<{ name: string; message: Record<string, unknown> }>;
  remove: readonly string[];
}

/**
 * An immutable set of xDS resources per type URL with content-derived versions. `typeVersion()`
 * hashes the (name, version) multiset of the type (a count and a sum of per-entry hashes, so a
 * patch updates it in O(changes)), so a rebuild that changes nothing in a type keeps its version
 * and nobody gets pushed, and equal content has equal versions however it was built.
 *
 * @example
 * ```ts
 * const snap = Snapshot.build(translate(input), previous);
 * for (const [name, { bytes, version }] of snap.resources(TYPE_URL.listener)) …
 * ```
 */
export class Snapshot {
  /** Hash over every type version: changes iff any resource changed. */
  readonly version: string;
  readonly builtAt = new Date();

  private constructor(
    private readonly types: ReadonlyMap<string, LayeredMap<ResourceEntry>>,
    private readonly typeVersions: ReadonlyMap<string, string>,
    private readonly sums: ReadonlyMap<string, TypeSum>,
    /** Resources dropped because they could not be encoded. */
    readonly errors: readonly EncodeError[],
  ) {
    this.version = shortHash([...typeVersions.entries()].map(([t, v]) => `${t}=${v}`).join('\n'));
  }

  /** An empty snapshot (what a server serves before its first build). */
  static empty(): Snapshot {
    return Snapshot.build(new Map());
  }

  /**
   * Encodes translator output. Entries whose bytes equal the previous snapshot's are reused as
   * the same objects, so memory and identity stay stable across rebuilds. A resource whose
   * generated message is deep-equal to the previous build's is not encoded or hashed again
   * (most of a rebuild: one change touches a resource or two), so translator output must not be
   * mutated after it was handed to a build.
   */
  static build(output: TranslateOutput | ReadonlyMap<string, ReadonlyArray<{ name: string; message: Record<string, unknown> }>>, previous?: Snapshot): Snapshot {
    const types = new Map<string, Map<string, ResourceEntry>>();
    const errors: EncodeError[] = [];
    const typeUrls = new Set<string>([...RESOURCE_TYPE_URLS, ...output.keys()]);
    for (const typeUrl of typeUrls) {
      const generated = [...(output.get(typeUrl as never) ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const prev = previous?.types.get(typeUrl);
      const entries = new Map<string, ResourceEntry>();
      let type: protobuf.Type | undefined;
      for (const { name, message } of generated) {
        if (entries.has(name)) {
          errors.push({ typeUrl, name, message: 'duplicate resource name; the first one is kept' });
          continue;
        }
        try {
          const old = prev?.get(name);
          // Unchanged generated message: same bytes, so the previous entry (and its hash) stands.
          // The same object again proves nothing (it may have been mutated since), a fresh equal one does.
          if (old?.message !== undefined && old.message !== message && deepEqual(old.message, message)) {
            entries.set(name, old);
            continue;
          }
          type ??= messageType(messageNameOf(typeUrl));
          const value = type.encode(type.fromObject(message)).finish();
          const bytes = encodeAny(typeUrl, value);
          const version = shortHash(bytes);
          entries.set(name, old && old.version === version ? old : { bytes, value, version, message });
        } catch (err) {
          errors.push({ typeUrl, name, message: (err as Error).message });
        }
      }
      types.set(typeUrl, entries);
    }
    const versions = new Map<string, string>();
    const sums = new Map<string, TypeSum>();
    const layered = new Map<string, LayeredMap<ResourceEntry>>();
    for (const [typeUrl, entries] of types) {
      layered.set(typeUrl, LayeredMap.of(entries));
      let hi = 0;
      let lo = 0;
      for (const [name, e] of entries) {
        const [h, l] = mixOf(name, e);
        hi = (hi + h) >>> 0;
        lo = (lo + l) >>> 0;
      }
      const s = { count: entries.size, hi, lo };
      sums.set(typeUrl, s);
      versions.set(typeUrl, versionOf(s));
    }
    return new Snapshot(layered, versions, sums, errors);
  }

  /**
   * The snapshot `previous` with `delta` applied: untouched resources are carried over without
   * being looked at, so the cost follows the size of the change, not of the snapshot. Removals
   * apply first, then upserts, with the rules of {@link build} (a deep-equal message keeps its
   * entry, the first of a repeated name is kept, an unencodable one is left out and reported).
   * Equal content gives the same resources, versions and errors as a build from scratch.
   *
   * @example
   * ```ts
   * const next = Snapshot.patch(snap, new Map([[TYPE_URL.cluster, { upsert: [{ name, message }], remove: [] }]]));
   * ```
   */
  static patch(previous: Snapshot, delta: ReadonlyMap<string, SnapshotTypeDelta>): Snapshot {
    const types = new Map(previous.types);
    const versions = new Map(previous.typeVersions);
    const sums = new Map(previous.sums);
    const touched = new Set<string>();
    const newErrors: EncodeError[] = [];
    for (const [typeUrl, d] of delta) {
      const prev: ReadonlyMap<string, ResourceEntry> = previous.types.get(typeUrl) ?? EMPTY;
      const changes = new Map<string, ResourceEntry | undefined>();
      for (const name of d.remove) {
        touched.add(`${typeUrl}\0${name}`);
        if (prev.has(name)) changes.set(name, undefined);
      }
      const kept = new Set<string>();
      let type: protobuf.Type | undefined;
      for (const { name, message } of d.upsert) {
        touched.add(`${typeUrl}\0${name}`);
        if (kept.has(name)) {
          newErrors.push({ typeUrl, name, message: 'duplicate resource name; the first one is kept' });
          continue;
        }
        const old = prev.get(name);
        try {
          let entry: ResourceEntry;
          if (old?.message !== undefined && old.message !== message && deepEqual(old.message, message)) entry = old;
          else {
            type ??= messageType(messageNameOf(typeUrl));
            const value = type.encode(type.fromObject(message)).finish();
            const bytes = encodeAny(typeUrl, value);
            const version = shortHash(bytes);
            entry = old && old.version === version ? old : { bytes, value, version, message };
          }
          kept.add(name);
          if (entry === old) changes.delete(name);
          else changes.set(name, entry);
        } catch (err) {
          newErrors.push({ typeUrl, name, message: (err as Error).message });
          if (old) changes.set(name, undefined);
        }
      }
      if (changes.size === 0) continue;
      let { count, hi, lo } = previous.sums.get(typeUrl) ?? { count: 0, hi: 0, lo: 0 };
      for (const [name, e] of changes) {
        const old = prev.get(name);
        if (old) {
          const [h, l] = mixOf(name, old);
          hi = (hi - h) >>> 0;
          lo = (lo - l) >>> 0;
          count--;
        }
        if (e) {
          const [h, l] = mixOf(name, e);
          hi = (hi + h) >>> 0;
          lo = (lo + l) >>> 0;
          count++;
        }
      }
      const s = { count, hi, lo };
      sums.set(typeUrl, s);
      versions.set(typeUrl, versionOf(s));
      types.set(typeUrl, (previous.types.get(typeUrl) ?? LayeredMap.of(new Map())).patch(changes));
    }
    let errors = previous.errors;
    if (touched.size > 0 && (errors.length > 0 || newErrors.length > 0)) {
      const order = [...types.keys()];
      const rank = (e: EncodeError) => (order.indexOf(e.typeUrl) + 1 || order.length + 1);
      errors = [...errors.filter((e) => !touched.has(`${e.typeUrl}\0${e.name}`)), ...newErrors]
        .sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    return new Snapshot(types, versions, sums, errors);
  }

  /** Encoded response heads by type URL, then by the stream's content key (see {@link responseHead}). */
  private readonly heads = new Map<string, Map<string, { head: Buffer; count: number }>>();

  /**
   * The nonce-independent part of a DiscoveryResponse (version_info, resources, type_url),
   * encoded once per snapshot and content key and shared by every stream that sends the same
   * content: a push to N wildcard subscribers costs one encode plus N nonce appends. `key`
   * must identify the content within this snapshot (ads-stream's sentKey does: the wildcard
   * marker, or the subscribed names with their versions). Distinct keys per type are capped so
   * a fleet of clients with unique subscriptions cannot grow a snapshot without bound; past
   * the cap heads are encoded per stream as before.
   */
  responseHead(typeUrl: string, key: string, resources: () => Uint8Array[]): { head: Buffer; count: number } {
    return this.cachedHead(typeUrl, key, () => {
      const bytes = resources();
      return { head: encodeResponseHead(this.typeVersion(typeUrl), bytes, typeUrl), count: bytes.length };
    });
  }

  /**
   * The cache under {@link responseHead}, for any response shape: `build()` runs once per
   * (type, key) in this snapshot, up to the same cap. The incremental stream keys its heads with
   * a `\0delta:` prefix (the changed and removed names), so the two protocols never share an entry.
   */
  cachedHead<T extends { head: Buffer; count: number }>(typeUrl: string, key: string, build: () => T): T {
    let byKey = this.heads.get(typeUrl);
    let hit = byKey?.get(key);
    if (hit) return hit as T;
    const built = build();
    if (!byKey) this.heads.set(typeUrl, (byKey = new Map()));
    if (byKey.size < MAX_HEADS_PER_TYPE) byKey.set(key, built);
    return built;
  }

  /** Resources of one type, sorted by name. Unknown types are empty. */
  resources(typeUrl: string): ReadonlyMap<string, ResourceEntry> {
    return this.types.get(typeUrl) ?? EMPTY;
  }

  /** version_info for a type: a hash of its (name, version) list. */
  typeVersion(typeUrl: string): string {
    return this.typeVersions.get(typeUrl) ?? this.emptyVersion();
  }

  /** Type URLs with at least one resource or a known xDS type. */
  typeUrls(): string[] {
    return [...this.types.keys()];
  }

  /**
   * Decodes a type's resources back to JSON (protobuf JSON mapping, nested Any expanded with
   * `@type`) for the admin API and `meshlet get`. Not for the hot path.
   */
  decode(typeUrl: string, names?: readonly string[]): Array<{ name: string; version: string; resource: Record<string, unknown> }> {
    const type = messageType(messageNameOf(typeUrl));
    const out: Array<{ name: string; version: string; resource: Record<string, unknown> }> = [];
    for (const [name, e] of this.resources(typeUrl)) {
      if (names && !names.includes(name)) continue;
      const resource = type.toObject(type.decode(e.value), { json: true, enums: String, longs: String, defaults: false }) as Record<string, unknown>;
      out.push({ name, version: e.version, resource });
    }
    return out;
  }

  private emptyVersion(): string {
    return shortHash('');
  }
}
