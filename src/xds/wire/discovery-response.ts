/**
 * envoy.service.discovery.v3.DiscoveryResponse in both directions: a server writes resources
 * encoded ONCE per version as `Any` bytes behind a few small fields, so a push to N subscribers
 * costs N small copies instead of N protobufjs encodes; a client decodes every push, leaving
 * resources as `Any`s for the per-type decoders.
 */
import type { AnyProto } from '../resources/proto-types.js';
import { readAny } from './any.js';
import { fieldSize, WireReader, writeBytesField as writeField, writeStringField, writeVarint } from './primitives.js';

// Tags: (field number << 3) | wire type 2 (length-delimited).
const TAG = { f1: 0x0a, f2: 0x12, f4: 0x22, f5: 0x2a, f6: 0x32 } as const;

/** envoy.service.discovery.v3.DiscoveryResponse in protobufjs object form. */
export interface DiscoveryResponseObject {
  version_info?: string;
  resources?: AnyProto[];
  type_url?: string;
  nonce?: string;
  control_plane?: { identifier?: string };
}

/** What goes into one DiscoveryResponse. */
export interface ResponseParts {
  versionInfo: string;
  /** Pre-encoded `google.protobuf.Any` messages (see {@link encodeAny}). */
  resources: readonly Uint8Array[];
  typeUrl: string;
  nonce: string;
  /** `control_plane.identifier`, omitted when empty. */
  controlPlane?: string;
}

/**
 * Encodes an `envoy.service.discovery.v3.DiscoveryResponse` around pre-encoded resources:
 * version_info (1), resources (2, repeated Any), type_url (4), nonce (5), control_plane (6).
 * Empty strings are omitted as proto3 does.
 *
 * @example
 * ```ts
 * call.write(encodeDiscoveryResponse({ versionInfo: 'v1', resources: [anyBytes], typeUrl, nonce: '7' }));
 * ```
 */
export function encodeDiscoveryResponse(parts: ResponseParts): Buffer {
  return finishDiscoveryResponse(encodeResponseHead(parts.versionInfo, parts.resources, parts.typeUrl), parts.nonce, parts.controlPlane);
}

/**
 * The part of a DiscoveryResponse every subscriber of the same (version, resources) gets
 * byte for byte: fields 1, 2 and 4. Only the nonce and control plane follow it, so a push
 * encodes the head once per snapshot and content (see `Snapshot.responseHead`), not once per
 * stream.
 */
export function encodeResponseHead(versionInfo: string, resources: readonly Uint8Array[], typeUrl: string): Buffer {
  const versionLen = Buffer.byteLength(versionInfo);
  const typeUrlLen = Buffer.byteLength(typeUrl);
  let size = 0;
  if (versionLen > 0) size += fieldSize(versionLen);
  for (const r of resources) size += fieldSize(r.length);
  if (typeUrlLen > 0) size += fieldSize(typeUrlLen);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (versionLen > 0) pos = writeStringField(out, pos, TAG.f1, versionInfo, versionLen);
  for (const r of resources) pos = writeField(out, pos, TAG.f2, r);
  if (typeUrlLen > 0) writeStringField(out, pos, TAG.f4, typeUrl, typeUrlLen);
  return out;
}

const cpCache = new Map<number, { id: string; field: Buffer }>();

/**
 * `control_plane { identifier }` as the field with `tag` (6 in DiscoveryResponse, 7 in
 * DeltaDiscoveryResponse), memoized per tag: a server has one identifier.
 */
export function controlPlaneField(id: string, tag: number): Buffer {
  let c = cpCache.get(tag);
  if (c?.id !== id) {
    const idLen = Buffer.byteLength(id);
    const inner = fieldSize(idLen);
    const field = Buffer.allocUnsafe(fieldSize(inner));
    field[0] = tag;
    writeStringField(field, writeVarint(field, 1, inner), TAG.f1, id, idLen);
    c = { id, field };
    cpCache.set(tag, c);
  }
  return c.field;
}

/** A pre-built head followed by the nonce (field 5) and a control-plane field: the tail both response kinds share. */
export function finishResponse(head: Uint8Array, nonce: string, cp: Buffer | undefined): Buffer {
  const nonceLen = Buffer.byteLength(nonce);
  const out = Buffer.allocUnsafe(head.length + (nonceLen > 0 ? fieldSize(nonceLen) : 0) + (cp ? cp.length : 0));
  out.set(head, 0);
  let pos = head.length;
  if (nonceLen > 0) pos = writeStringField(out, pos, TAG.f5, nonce, nonceLen);
  if (cp) out.set(cp, pos);
  return out;
}

/** A full DiscoveryResponse: a head from {@link encodeResponseHead}, then nonce (5) and control plane (6). */
export function finishDiscoveryResponse(head: Uint8Array, nonce: string, controlPlane?: string): Buffer {
  return finishResponse(head, nonce, controlPlane ? controlPlaneField(controlPlane, TAG.f6) : undefined);
}

/**
 * Decodes a DiscoveryResponse; resources stay `Any`s whose `value` is a view on `bytes` (as with
 * protobufjs). Hand-written because every client decodes every push: the result has the shape
 * protobufjs `toObject(…, TO_OBJECT_OPTIONS)` gives for the declared fields (absent fields stay
 * unset, `resources` only when present); other fields (canary, resource_errors) are skipped.
 * Throws on malformed bytes.
 */
export function decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponseObject {
  const r = WireReader.of(bytes);
  const res: DiscoveryResponseObject = {};
  while (!r.done()) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 2); res.version_info = r.string(); break;
      case 2: {
        r.expect(tag, 2);
        const [start, end] = r.span();
        r.pos = start;
        (res.resources ??= []).push(readAny(r, end));
        break;
      }
      case 4: r.expect(tag, 2); res.type_url = r.string(); break;
      case 5: r.expect(tag, 2); res.nonce = r.string(); break;
      case 6: {
        r.expect(tag, 2);
        const [start, end] = r.span();
        r.pos = start;
        const cp: { identifier?: string } = {};
        while (r.pos < end) {
          const t = r.varint32();
          if (t >>> 3 === 1) { r.expect(t, 2); cp.identifier = r.string(); } else r.skipField(t & 7);
        }
        if (r.pos !== end) throw new RangeError('control_plane overruns its length');
        res.control_plane = cp;
        break;
      }
      default: r.skipField(tag & 7);
    }
  }
  return res;
}

