/**
 * Incremental xDS (envoy.service.discovery.v3.DeltaDiscoveryRequest / DeltaDiscoveryResponse,
 * the messages of `DeltaAggregatedResources`) in both directions, hand-written like the SotW
 * codecs in discovery-request.ts / discovery-response.ts: every push and ACK of a delta stream
 * passes through here. A server wraps each resource once per version in an
 * `envoy.service.discovery.v3.Resource` (name, version, Any) and splices those bytes into every
 * response that carries it; only nonce and control plane are per stream.
 */
import type { AnyProto } from '../resources/proto-types.js';
import { readAny } from './any.js';
import { decodeNode, encodeNode } from './discovery-request.js';
import { controlPlaneField, finishResponse } from './discovery-response.js';
import { fieldSize, int32Size, WireReader, writeBytesField, writeInt32, writeStringField } from './primitives.js';

/** gRPC method path of incremental ADS. */
export const DELTA_ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** A DeltaDiscoveryRequest as a client builds it (snake_case, as protobufjs `fromObject` takes it). */
export interface DeltaRequestObject {
  node?: object;
  type_url: string;
  resource_names_subscribe?: readonly string[];
  resource_names_unsubscribe?: readonly string[];
  /** Only on a stream's first request of a type: what the client already holds (name → version). */
  initial_resource_versions?: Readonly<Record<string, string>>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

/** A decoded DeltaDiscoveryRequest, reduced to what the server uses. */
export interface DeltaRequest {
  node?: Record<string, unknown>;
  typeUrl: string;
  subscribe: string[];
  unsubscribe: string[];
  initialVersions: Map<string, string>;
  responseNonce: string;
  errorDetail?: { code: number; message: string };
}

/** One resource of a DeltaDiscoveryResponse as a client decodes it. */
export interface DeltaResource {
  name: string;
  version: string;
  /** Absent: the server sent the wrapper without a body (not valid for a resource being added). */
  resource?: AnyProto;
}

/** A decoded DeltaDiscoveryResponse. */
export interface DeltaResponseObject {
  system_version_info?: string;
  resources?: DeltaResource[];
  type_url?: string;
  removed_resources?: string[];
  nonce?: string;
}

const TAG = { f1: 0x0a, f2: 0x12, f3: 0x1a, f4: 0x22, f5: 0x2a, f6: 0x32, f7: 0x3a } as const;

/** Length-delimited parts written in order: [tag, bytes]. */
type Part = readonly [number, Uint8Array];

function concatParts(parts: readonly Part[]): Buffer {
  let size = 0;
  for (const [, b] of parts) size += fieldSize(b.length);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [tag, b] of parts) pos = writeBytesField(out, pos, tag, b);
  return out;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** google.rpc.Status { code = 1; message = 2 }. */
function statusBytes(code: number | undefined, message: string | undefined): Buffer {
  const msg = message !== undefined ? utf8(message) : undefined;
  const size = (code !== undefined ? 1 + int32Size(code) : 0) + (msg ? fieldSize(msg.length) : 0);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (code !== undefined) {
    out[pos++] = 0x08;
    pos = writeInt32(out, pos, code);
  }
  if (msg) writeBytesField(out, pos, 0x12, msg);
  return out;
}

/**
 * Encodes a DeltaDiscoveryRequest (fields in number order, as protobufjs writes them).
 *
 * @example
 * ```ts
 * call.write(encodeDeltaRequest({ type_url: TYPE_URL.cluster, resource_names_subscribe: ['*'], node }));
 * ```
 */
export function encodeDeltaRequest(req: DeltaRequestObject): Buffer {
  const parts: Part[] = [];
  if (req.node != null) parts.push([TAG.f1, encodeNode(req.node)]);
  parts.push([TAG.f2, utf8(String(req.type_url))]);
  for (const n of req.resource_names_subscribe ?? []) parts.push([TAG.f3, utf8(String(n))]);
  for (const n of req.resource_names_unsubscribe ?? []) parts.push([TAG.f4, utf8(String(n))]);
  for (const [k, v] of Object.entries(req.initial_resource_versions ?? {})) parts.push([TAG.f5, concatParts([[TAG.f1, utf8(k)], [TAG.f2, utf8(String(v))]])]);
  if (req.response_nonce) parts.push([TAG.f6, utf8(req.response_nonce)]);
  if (req.error_detail != null) parts.push([TAG.f7, statusBytes(req.error_detail.code != null ? req.error_detail.code | 0 : undefined, req.error_detail.message != null ? String(req.error_detail.message) : undefined)]);
  return concatParts(parts);
}

/**
 * Decodes DeltaDiscoveryRequest bytes (the node through the generic codec, as for SotW).
 * Unknown fields (resource locators) are skipped. Throws on malformed input; grpc-js then fails
 * the call, never the process.
 */
export function decodeDeltaRequest(bytes: Uint8Array): DeltaRequest {
  const r = WireReader.of(bytes);
  const req: DeltaRequest = { typeUrl: '', subscribe: [], unsubscribe: [], initialVersions: new Map(), responseNonce: '' };
  while (!r.done()) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 2); req.node = decodeNode(r.bytes()); break;
      case 2: r.expect(tag, 2); req.typeUrl = r.string(); break;
      case 3: r.expect(tag, 2); req.subscribe.push(r.string()); break;
      case 4: r.expect(tag, 2); req.unsubscribe.push(r.string()); break;
      case 5: {
        r.expect(tag, 2);
        const [start, end] = r.span();
        r.pos = start;
        let key = '';
        let value = '';
        while (r.pos < end) {
          const t = r.varint32();
          if (t >>> 3 === 1) { r.expect(t, 2); key = r.string(); } else if (t >>> 3 === 2) { r.expect(t, 2); value = r.string(); } else r.skipField(t & 7);
        }
        if (r.pos !== end) throw new RangeError('initial_resource_versions entry overruns its length');
        req.initialVersions.set(key, value);
        break;
      }
      case 6: r.expect(tag, 2); req.responseNonce = r.string(); break;
      case 7: {
        r.expect(tag, 2);
        const [start, end] = r.span();
        r.pos = start;
        const status = { code: 0, message: '' };
        while (r.pos < end) {
          const t = r.varint32();
          if (t >>> 3 === 1) { r.expect(t, 0); status.code = r.varint32() | 0; } else if (t >>> 3 === 2) { r.expect(t, 2); status.message = r.string(); } else r.skipField(t & 7);
        }
        if (r.pos !== end) throw new RangeError('error_detail overruns its length');
        req.errorDetail = status;
        break;
      }
      default: r.skipField(tag & 7);
    }
  }
  return req;
}

/**
 * `envoy.service.discovery.v3.Resource { version = 1; resource = 2 (Any); name = 3 }` around an
 * already encoded Any: what a server encodes once per resource version.
 */
export function encodeDeltaResource(name: string, version: string, any: Uint8Array): Uint8Array {
  return concatParts([[TAG.f1, utf8(version)], [TAG.f2, any], [TAG.f3, utf8(name)]]);
}

/**
 * The nonce-independent part of a DeltaDiscoveryResponse: system_version_info (1), resources (2,
 * pre-encoded Resource wrappers), type_url (4), removed_resources (6). Streams sending the same
 * change share it (see `Snapshot.responseHead`).
 */
export function encodeDeltaResponseHead(systemVersion: string, resources: readonly Uint8Array[], typeUrl: string, removed: readonly string[]): Buffer {
  const parts: Part[] = [];
  if (systemVersion) parts.push([TAG.f1, utf8(systemVersion)]);
  for (const r of resources) parts.push([TAG.f2, r]);
  parts.push([TAG.f4, utf8(typeUrl)]);
  for (const n of removed) parts.push([TAG.f6, utf8(n)]);
  return concatParts(parts);
}

/** A whole DeltaDiscoveryResponse: a head, then nonce (5) and control_plane (7). */
export function finishDeltaResponse(head: Uint8Array, nonce: string, controlPlane?: string): Buffer {
  return finishResponse(head, nonce, controlPlane ? controlPlaneField(controlPlane, TAG.f7) : undefined);
}

/** Decodes a DeltaDiscoveryResponse (client side); resources stay Anys viewing `bytes`. Throws on malformed bytes. */
export function decodeDeltaResponse(bytes: Uint8Array): DeltaResponseObject {
  const r = WireReader.of(bytes);
  const res: DeltaResponseObject = {};
  while (!r.done()) {
    const tag = r.varint32();
    switch (tag >>> 3) {
      case 1: r.expect(tag, 2); res.system_version_info = r.string(); break;
      case 2: {
        r.expect(tag, 2);
        const [start, end] = r.span();
        r.pos = start;
        const resource: DeltaResource = { name: '', version: '' };
        while (r.pos < end) {
          const t = r.varint32();
          switch (t >>> 3) {
            case 1: r.expect(t, 2); resource.version = r.string(); break;
            case 2: {
              r.expect(t, 2);
              const [s, e] = r.span();
              r.pos = s;
              resource.resource = readAny(r, e);
              break;
            }
            case 3: r.expect(t, 2); resource.name = r.string(); break;
            default: r.skipField(t & 7);
          }
        }
        if (r.pos !== end) throw new RangeError('Resource overruns its length');
        (res.resources ??= []).push(resource);
        break;
      }
      case 4: r.expect(tag, 2); res.type_url = r.string(); break;
      case 5: r.expect(tag, 2); res.nonce = r.string(); break;
      case 6: r.expect(tag, 2); (res.removed_resources ??= []).push(r.string()); break;
      default: r.skipField(tag & 7);
    }
  }
  return res;
}
