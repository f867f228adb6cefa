/**
 * Wire codec of the ADS stream: DiscoveryRequest encoding and DiscoveryResponse decoding with
 * the protobufjs root, plus the method path. Kept apart so the fake server in tests and the
 * control server can share it.
 */
import { fieldSize, int32Size, WireReader, writeBytesField, writeInt32, writeStringField, writeVarint } from './pb-wire.js';
import { messageType } from './protos.js';
import { decode } from './wire/decode.js';
import { encode } from './wire/encode.js';
import { TO_OBJECT_OPTIONS } from './resources/common.js';
import type { AnyProto } from './resources/proto-types.js';

/** The one gRPC method ADS uses. */
export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** envoy.service.discovery.v3.DiscoveryRequest in protobufjs object form. */
export interface DiscoveryRequestObject {
  version_info?: string;
  node?: object;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

/** envoy.service.discovery.v3.DiscoveryResponse in protobufjs object form. */
export interface DiscoveryResponseObject {
  version_info?: string;
  resources?: AnyProto[];
  type_url?: string;
  nonce?: string;
  control_plane?: { identifier?: string };
}

/** Resources may come wrapped in this (for TTLs); the client unwraps them. */
export const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

const nodeBytes = new WeakMap<object, Uint8Array>();

/** The node is the same object on every request of a client until updateNode(): encode it once. */
function encodeNode(node: object): Uint8Array {
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

/** Decodes a DiscoveryRequest (used by servers and tests). Throws on malformed bytes. */
export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequestObject {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as DiscoveryRequestObject;
}

/** Encodes a DiscoveryResponse (used by servers and tests). */
export function encodeDiscoveryResponse(res: DiscoveryResponseObject): Buffer {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return Buffer.from(type.encode(type.fromObject(res)).finish());
}

/** google.protobuf.Any { type_url = 1; value = 2 } from `r.pos` to `end`. */
function readAny(r: WireReader, end: number): AnyProto {
  const any: AnyProto = {};
  while (r.pos < end) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 2); any.type_url = r.string(); break;
      case 2: r.expect(tag, 2); any.value = r.bytes(); break;
      default: r.skipField(tag & 7);
    }
  }
  if (r.pos !== end) throw new RangeError('Any overruns its length');
  return any;
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

/** The protobufjs decoder {@link decodeDiscoveryResponse} replaces; tests compare the two. */
export function decodeDiscoveryResponseWithProtobufjs(bytes: Uint8Array): DiscoveryResponseObject {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as DiscoveryResponseObject;
}

/** Unwraps an envoy.service.discovery.v3.Resource; other Anys are returned as they are. */
export function unwrapResource(any: AnyProto): AnyProto {
  if (any.type_url !== RESOURCE_WRAPPER_TYPE_URL) return any;
  const wrapper = decode<{ resource?: AnyProto }>('envoy.service.discovery.v3.Resource', any.value ?? new Uint8Array());
  return wrapper.resource ?? {};
}

/**
 * Encodes a resource message (plain object) as an `Any` for a response.
 *
 * @example
 * ```ts
 * const any = encodeAny(TYPE_URL.cluster, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
 * ```
 */
export function encodeAny(typeUrl: string, message: Record<string, unknown>): { type_url: string; value: Buffer } {
  const type = messageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  return { type_url: typeUrl, value: Buffer.from(type.encode(type.fromObject(message)).finish()) };
}
