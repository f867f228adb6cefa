import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { messageType } from '../xds/protos.js';
import { messageNameOf, RESOURCE_TYPE_URLS } from '../xds/type-urls.js';
import type { TranslateOutput } from './translate/index.js';
import { deepEqual } from './translate/deep-equal.js';
import { encodeAny, encodeResponseHead } from './wire.js';

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

/** Same names in the same order with the very same entries: the type's version is unchanged. */
function sameEntries(a: ReadonlyMap<string, ResourceEntry>, b: ReadonlyMap<string, ResourceEntry>): boolean {
  if (a.size !== b.size) return false;
  const it = a.entries();
  for (const [name, e] of b) {
    const [n, old] = it.next().value as [string, ResourceEntry];
    if (n !== name || old !== e) return false;
  }
  return true;
}

/**
 * An immutable set of xDS resources per type URL with content-derived versions. `typeVersion()`
 * hashes the sorted (name, version) list, so a rebuild that changes nothing in a type keeps its
 * version and nobody gets pushed.
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
    private readonly types: ReadonlyMap<string, ReadonlyMap<string, ResourceEntry>>,
    private readonly typeVersions: ReadonlyMap<string, string>,
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
    for (const [typeUrl, entries] of types) {
      const prev = previous?.types.get(typeUrl);
      versions.set(typeUrl, prev && sameEntries(prev, entries) ? previous!.typeVersion(typeUrl) : shortHash([...entries].map(([name, e]) => `${name}\0${e.version}`).join('\n')));
    }
    return new Snapshot(types, versions, errors);
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
    let byKey = this.heads.get(typeUrl);
    let hit = byKey?.get(key);
    if (hit) return hit;
    const bytes = resources();
    hit = { head: encodeResponseHead(this.typeVersion(typeUrl), bytes, typeUrl), count: bytes.length };
    if (!byKey) this.heads.set(typeUrl, (byKey = new Map()));
    if (byKey.size < MAX_HEADS_PER_TYPE) byKey.set(key, hit);
    return hit;
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
