/**
 * envoy.service.discovery.v3.DiscoveryRequest in both directions: a client encodes one with every
 * subscription change, ACK and NACK; a server decodes every one of them. Both hand-written for
 * the fields meshlet uses (the node, sent once per stream, goes through the generic codecs).
 */
import type protobuf from 'protobufjs';
import { messageType } from '../protos.js';
import { structToJson } from '../struct.js';
import { encode } from './encode.js';
import { fieldSize, int32Size, WireReader, writeBytesField, writeInt32, writeStringField, writeVarint } from './primitives.js';

/** envoy.service.discovery.v3.DiscoveryRequest in protobufjs object form. */
export interface DiscoveryRequestObject {
  version_info?: string;
  node?: object;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

const nodeBytes = new WeakMap<object, Uint8Array>();

/** The node is the same object on every request of a client until updateNode(): encode it once. */
export function encodeNode(node: object): Uint8Array {
  let bytes = nodeBytes.get(node);
  if (!bytes) {
    bytes = encode('envoy.config.core.v3.Node', node as Record<string, unknown>);
    nodeBytes.set(node, bytes);
  }
  return bytes;
}

/**
 * Encodes a DiscoveryRequest (every ACK/NACK a client sends, so hand-written rather than
 * protobufjs fromObject + encode). Byte-identical to protobufjs: fields in number order, and a
 * field that is set is written even when empty (protobufjs writes what `fromObject` set, and
 * `fromObject` sets every non-null member). Throws on a malformed object (a programming error).
 */
export function encodeDiscoveryRequest(req: DiscoveryRequestObject): Buffer {
  const version = req.version_info != null ? String(req.version_info) : undefined;
  const node = req.node != null ? encodeNode(req.node) : undefined;
  if (req.resource_names != null && !Array.isArray(req.resource_names)) throw new TypeError('.envoy.service.discovery.v3.DiscoveryRequest.resource_names: array expected');
  const names = req.resource_names ? req.resource_names.map(String) : [];
  const typeUrl = req.type_url != null ? String(req.type_url) : undefined;
  const nonce = req.response_nonce != null ? String(req.response_nonce) : undefined;
  if (req.error_detail != null && typeof req.error_detail !== 'object') throw new TypeError('.envoy.service.discovery.v3.DiscoveryRequest.error_detail: object expected');
  const code = req.error_detail?.code != null ? req.error_detail.code | 0 : undefined;
  const message = req.error_detail?.message != null ? String(req.error_detail.message) : undefined;

  const versionLen = version !== undefined ? Buffer.byteLength(version) : 0;
  const nameLens = names.map((n) => Buffer.byteLength(n));
  const typeUrlLen = typeUrl !== undefined ? Buffer.byteLength(typeUrl) : 0;
  const nonceLen = nonce !== undefined ? Buffer.byteLength(nonce) : 0;
  const messageLen = message !== undefined ? Buffer.byteLength(message) : 0;
  let statusLen = 0;
  if (code !== undefined) statusLen += 1 + int32Size(code);
  if (message !== undefined) statusLen += fieldSize(messageLen);

  let size = 0;
  if (version !== undefined) size += fieldSize(versionLen);
  if (node) size += fieldSize(node.length);
  for (const len of nameLens) size += fieldSize(len);
  if (typeUrl !== undefined) size += fieldSize(typeUrlLen);
  if (nonce !== undefined) size += fieldSize(nonceLen);
  if (req.error_detail != null) size += fieldSize(statusLen);

  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (version !== undefined) pos = writeStringField(out, pos, 0x0a, version, versionLen);
  if (node) pos = writeBytesField(out, pos, 0x12, node);
  for (let i = 0; i < names.length; i++) pos = writeStringField(out, pos, 0x1a, names[i]!, nameLens[i]!);
  if (typeUrl !== undefined) pos = writeStringField(out, pos, 0x22, typeUrl, typeUrlLen);
  if (nonce !== undefined) pos = writeStringField(out, pos, 0x2a, nonce, nonceLen);
  if (req.error_detail != null) {
    out[pos++] = 0x32;
    pos = writeVarint(out, pos, statusLen);
    if (code !== undefined) {
      out[pos++] = 0x08;
      pos = writeInt32(out, pos, code);
    }
    if (message !== undefined) pos = writeStringField(out, pos, 0x12, message, messageLen);
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
      case 2: r.expect(tag, 2); req.node = decodeNode(r.bytes()); break;
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

/** `Node` bytes as a plain object (snake_case keys; `metadata` converted from Struct to JSON), for both request kinds. */
export function decodeNode(bytes: Uint8Array): Record<string, unknown> {
  nodeType ??= messageType('envoy.config.core.v3.Node');
  const node = nodeType.toObject(nodeType.decode(bytes), { longs: Number, enums: String, defaults: false }) as Record<string, unknown>;
  if (node.metadata) node.metadata = structToJson(node.metadata);
  return node;
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
