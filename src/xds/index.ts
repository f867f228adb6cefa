/**
 * meshlet's xDS layer: proto loading, type URLs, node metadata, resource decode + validation
 * into an immutable model, and the ADS client.
 */
export { XdsClient } from './ads-client.js';
export type { XdsClientOptions, XdsClientEvents } from './ads-client.js';
export type { ResourceWatcher } from './ads-state.js';
export {
  ADS_METHOD, encodeAny, packAny, encodeDiscoveryRequest, decodeDiscoveryRequest, encodeDiscoveryResponse, decodeDiscoveryResponse,
} from './wire/index.js';
export type { DiscoveryRequest, DiscoveryRequestObject, DiscoveryResponseObject, ResponseParts } from './wire/index.js';
export { Backoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { EventSet as Emitter } from '../internal/events.js';
export type { Disposable } from '../internal/events.js';
export { buildNode, parseAnnouncement, NODE_METADATA, MESHLET_VERSION } from './node.js';
export type { BuildNodeOptions, NodeObject, NodePort } from './node.js';
export { structToJson, jsonToStruct } from './struct.js';
export type { JsonObject, JsonValue, StructProto, ValueProto } from './struct.js';
export { xdsRoot, messageType } from './protos.js';
export { TYPE_URL, RESOURCE_TYPE_URLS, messageNameOf, shortTypeName } from './type-urls.js';
export type { ResourceTypeUrl } from './type-urls.js';
export {
  RESOURCE_CODECS, codecFor, ENVOY_CIRCUIT_BREAKER_DEFAULTS,
  decodeListener, validateListener, decodeRouteConfig, validateRouteConfig,
  decodeCluster, validateCluster, decodeEndpoints, validateEndpoints,
} from './resources/index.js';
export type { ResourceCodec } from './resources/index.js';
export { ENVOY_DEFAULT_ROUTE_TIMEOUT_MS } from '../core/model/index.js';
export type * from '../core/model/index.js';
