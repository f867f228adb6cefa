import type protobuf from 'protobufjs';
import { fieldSize, WireReader, writeBytesField as writeField, writeStringField, writeVarint } from '../xds/pb-wire.js';
import { messageType } from '../xds/protos.js';
import { structToJson } from '../xds/struct.js';

/**
 * Hand-rolled protobuf writer for the two messages the ADS server sends on every push: resources
 * are encoded ONCE per version as `google.protobuf.Any` bytes and a DiscoveryResponse is just
 * those bytes concatenated behind a few small fields, so a push to N subscribers costs N small
 * copies instead of N protobufjs encodes. test/unit/control/wire.test.ts checks the output
 * against protobufjs' own decoder.
 */

const encoder = new TextEncoder();

// Tags: (field number << 3) | wire type 2 (length-delimited).
const TAG = { f1: 0x0a, f2: 0x12, f4: 0x22, f5: 0x2a, f6: 0x32 } as const;

/**
 * Encodes `google.protobuf.Any { type_url = 1; value = 2 }`.
 *
 * @example
 * ```ts
 * const any = encodeAny(TYPE_URL.listener, Listener.encode(msg).finish());
 * ```
 */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  const url = encoder.encode(typeUrl);
  const out = new Uint8Array(fieldSize(url.length) + fieldSize(value.length));
  writeField(out, writeField(out, 0, TAG.f1, url), TAG.f2, value);
  return out;
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

let cpCache: { id: string; field: Buffer } | undefined;

/** `control_plane { identifier }` as field 6, memoized: a server has one identifier. */
function controlPlaneField(id: string): Buffer {
  if (cpCache?.id !== id) {
    const idLen = Buffer.byteLength(id);
    const inner = fieldSize(idLen);
    const field = Buffer.allocUnsafe(fieldSize(inner));
    field[0] = TAG.f6;
    writeStringField(field, writeVarint(field, 1, inner), TAG.f1, id, idLen);
    cpCache = { id, field };
  }
  return cpCache.field;
}

/** A full DiscoveryResponse: a head from {@link encodeResponseHead}, then nonce (5) and control plane (6). */
export function finishDiscoveryResponse(head: Uint8Array, nonce: string, controlPlane?: string): Buffer {
  const nonceLen = Buffer.byteLength(nonce);
  const cp = controlPlane ? controlPlaneField(controlPlane) : undefined;
  const out = Buffer.allocUnsafe(head.length + (nonceLen > 0 ? fieldSize(nonceLen) : 0) + (cp ? cp.length : 0));
  out.set(head, 0);
  let pos = head.length;
  if (nonceLen > 0) pos = writeStringField(out, pos, TAG.f5, nonce, nonceLen);
  if (cp) out.set(cp, pos);
  return out;
}

/** A decoded DiscoveryRequest, reduced to what the server uses. */
export interface DiscoveryRequest {
  versionInfo: string;
  /** `Node` as a plain object (snake_case keys; `metadata` converted from Struct to JSON). */
  node?: Record<string, unknown>;
  resourceNames: string[];
  typeUrl: string;
  responseNonce: string;
  /** Present on a NACK. */
  errorDetail?: { code: number; message: string };
}

let nodeType: protobuf.Type | undefined;

/**
 * Decodes DiscoveryRequest bytes: hand-written for the fields the server reads, because every
 * ACK of every client passes through here; only the node (first request of a stream) goes
 * through protobufjs. Unknown fields are skipped. Throws on malformed input; grpc-js then fails
 * the call, never the process.
 */
export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const r = WireReader.of(bytes);
  const req: DiscoveryRequest = { versionInfo: '', resourceNames: [], typeUrl: '', responseNonce: '' };
  while (!r.done()) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 2); req.versionInfo = r.string(); break;
      case 2: {
        r.expect(tag, 2);
        nodeType ??= messageType('envoy.config.core.v3.Node');
        const node = nodeType.toObject(nodeType.decode(r.bytes()), { longs: Number, enums: String, defaults: false }) as Record<string, unknown>;
        if (node.metadata) node.metadata = structToJson(node.metadata);
        req.node = node;
        break;
      }
      case 3: r.expect(tag, 2); req.resourceNames.push(r.string()); break;
      case 4: r.expect(tag, 2); req.typeUrl = r.string(); break;
      case 5: r.expect(tag, 2); req.responseNonce = r.string(); break;
      case 6: {
        r.expect(tag, 2);
        const [start, end] = r.span();
        r.pos = start;
        req.errorDetail = readStatus(r, end);
        break;
      }
      default: r.skipField(tag & 7);
    }
  }
  return req;
}

/** google.rpc.Status { int32 code = 1; string message = 2; repeated Any details = 3 (skipped) }. */
function readStatus(r: WireReader, end: number): { code: number; message: string } {
  const status = { code: 0, message: '' };
  while (r.pos < end) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 0); status.code = r.varint32() | 0; break;
      case 2: r.expect(tag, 2); status.message = r.string(); break;
      default: r.skipField(tag & 7);
    }
  }
  if (r.pos !== end) throw new RangeError('error_detail overruns its length');
  return status;
}
