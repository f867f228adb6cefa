/**
 * The one protobuf wire codec, for the client and the server: generic table-driven `decode` /
 * `encode` of any message in the descriptor (schema.ts), hand-written DiscoveryRequest and
 * DiscoveryResponse codecs for both directions (every push and ACK goes through them), `Any`
 * helpers, and the primitives they share.
 */
export { decode } from './decode.js';
export { encode } from './encode.js';
export { messageSchema, Kind, wireTypeOf } from './schema.js';
export type { FieldSchema, MessageSchema } from './schema.js';
export { encodeAny, packAny, readAny, unwrapResource, RESOURCE_WRAPPER_TYPE_URL } from './any.js';
export { encodeDiscoveryRequest, decodeDiscoveryRequest } from './discovery-request.js';
export type { DiscoveryRequest, DiscoveryRequestObject } from './discovery-request.js';
export { encodeDiscoveryResponse, encodeResponseHead, finishDiscoveryResponse, decodeDiscoveryResponse } from './discovery-response.js';
export type { DiscoveryResponseObject, ResponseParts } from './discovery-response.js';
export { DELTA_ADS_METHOD, decodeDeltaRequest, decodeDeltaResponse, encodeDeltaRequest, encodeDeltaResource, encodeDeltaResponseHead, finishDeltaResponse } from './delta.js';
export type { DeltaRequest, DeltaRequestObject, DeltaResource, DeltaResponseObject } from './delta.js';

/** The one gRPC method ADS uses. */
export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
