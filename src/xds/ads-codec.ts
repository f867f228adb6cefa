/**
 * Wire codec of the ADS stream: DiscoveryRequest encoding and DiscoveryResponse decoding with
 * the protobufjs root, plus the method path. Kept apart so the fake server in tests and the
 * control server can share it.
 */
import { messageType } from './protos.js';
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

/** Encodes a DiscoveryRequest. Throws on a malformed object (a programming error). */
export function encodeDiscoveryRequest(req: DiscoveryRequestObject): Buffer {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  return Buffer.from(type.encode(type.fromObject(req)).finish());
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

/** Decodes a DiscoveryResponse; resources stay `Any`s. Throws on malformed bytes. */
export function decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponseObject {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as DiscoveryResponseObject;
}

/** Unwraps an envoy.service.discovery.v3.Resource; other Anys are returned as they are. */
export function unwrapResource(any: AnyProto): AnyProto {
  if (any.type_url !== RESOURCE_WRAPPER_TYPE_URL) return any;
  const type = messageType('envoy.service.discovery.v3.Resource');
  const wrapper = type.toObject(type.decode(any.value ?? new Uint8Array()), TO_OBJECT_OPTIONS) as { resource?: AnyProto };
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
