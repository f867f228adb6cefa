import type protobuf from 'protobufjs';
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

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of a length-delimited field (1-byte tag: field numbers < 16). */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

function writeField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

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
  const version = encoder.encode(parts.versionInfo);
  const typeUrl = encoder.encode(parts.typeUrl);
  const nonce = encoder.encode(parts.nonce);
  const cp = parts.controlPlane ? encoder.encode(parts.controlPlane) : undefined;
  let size = 0;
  if (version.length > 0) size += fieldSize(version.length);
  for (const r of parts.resources) size += fieldSize(r.length);
  if (typeUrl.length > 0) size += fieldSize(typeUrl.length);
  if (nonce.length > 0) size += fieldSize(nonce.length);
  const cpInner = cp ? fieldSize(cp.length) : 0;
  if (cp) size += fieldSize(cpInner);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (version.length > 0) pos = writeField(out, pos, TAG.f1, version);
  for (const r of parts.resources) pos = writeField(out, pos, TAG.f2, r);
  if (typeUrl.length > 0) pos = writeField(out, pos, TAG.f4, typeUrl);
  if (nonce.length > 0) pos = writeField(out, pos, TAG.f5, nonce);
  if (cp) {
    out[pos++] = TAG.f6;
    pos = writeVarint(out, pos, cpInner);
    pos = writeField(out, pos, TAG.f1, cp);
  }
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

let requestType: protobuf.Type | undefined;

/**
 * Decodes DiscoveryRequest bytes with protobufjs (throws on malformed input; grpc-js then fails
 * the call, never the process).
 */
export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  requestType ??= messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const msg = requestType.decode(bytes);
  const obj = requestType.toObject(msg, { longs: Number, enums: String, defaults: false }) as {
    version_info?: string;
    node?: Record<string, unknown>;
    resource_names?: string[];
    type_url?: string;
    response_nonce?: string;
    error_detail?: { code?: number; message?: string };
  };
  const req: DiscoveryRequest = {
    versionInfo: obj.version_info ?? '',
    resourceNames: obj.resource_names ?? [],
    typeUrl: obj.type_url ?? '',
    responseNonce: obj.response_nonce ?? '',
  };
  if (obj.node) {
    const node = { ...obj.node };
    if (node.metadata) node.metadata = structToJson(node.metadata);
    req.node = node;
  }
  if (obj.error_detail) req.errorDetail = { code: obj.error_detail.code ?? 0, message: obj.error_detail.message ?? '' };
  return req;
}
