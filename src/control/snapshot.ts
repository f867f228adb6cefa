import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { messageType } from '../xds/protos.js';
import { messageNameOf, RESOURCE_TYPE_URLS } from '../xds/type-urls.js';
import type { TranslateOutput } from './translate/index.js';
import { encodeAny } from './wire.js';

/** One resource, encoded once per version and shared by every subscriber. */
export interface ResourceEntry {
  /** The resource wrapped in `google.protobuf.Any` (type_url + value), ready to splice into a response. */
  readonly bytes: Uint8Array;
  /** Just the message bytes (Any.value), for decoding in the admin API. */
  readonly value: Uint8Array;
  /** Content hash of `bytes`: unchanged content keeps its version across snapshots. */
  readonly version: string;
}

/** A resource the snapshot could not encode (a translator bug); the type keeps the others. */
export interface EncodeError {
  typeUrl: string;
  name: string;
  message: string;
}

const EMPTY: ReadonlyMap<string, ResourceEntry> = new Map();

function shortHash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
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
   * the same objects, so memory and identity stay stable across rebuilds.
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
          type ??= messageType(messageNameOf(typeUrl));
          const value = type.encode(type.fromObject(message)).finish();
          const bytes = encodeAny(typeUrl, value);
          const version = shortHash(bytes);
          const old = prev?.get(name);
          entries.set(name, old && old.version === version ? old : { bytes, value, version });
        } catch (err) {
          errors.push({ typeUrl, name, message: (err as Error).message });
        }
      }
      types.set(typeUrl, entries);
    }
    const versions = new Map<string, string>();
    for (const [typeUrl, entries] of types) {
      versions.set(typeUrl, shortHash([...entries].map(([name, e]) => `${name}\0${e.version}`).join('\n')));
    }
    return new Snapshot(types, versions, errors);
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
