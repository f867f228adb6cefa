/**
 * gRPC's status codes (doc/statuscodes.md) and its HTTP → status mapping
 * (doc/http-grpc-status-mapping.md) as plain numbers: one table for the gRPC adapters (typed as
 * grpc-js's enum in grpc/lib.ts) and the xDS client's own HTTP/2 transport, neither of which
 * may load grpc-js to know them.
 */

/** Status code numbers by name. */
export const GRPC_STATUS = Object.freeze({
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
});

const NAMES = Object.keys(GRPC_STATUS);

/**
 * A status code's name, for messages (the number itself when unknown).
 *
 * @example
 * ```ts
 * grpcStatusName(14); // 'UNAVAILABLE'
 * ```
 */
export function grpcStatusName(code: number): string {
  return NAMES[code] ?? String(code);
}

/**
 * The gRPC status for an HTTP status that is not a gRPC response (or a fault/direct response
 * configured with an HTTP status).
 *
 * @example
 * ```ts
 * httpToGrpcCode(503); // 14 (UNAVAILABLE)
 * ```
 */
export function httpToGrpcCode(http: number): number {
  switch (http) {
    case 400: return GRPC_STATUS.INTERNAL;
    case 401: return GRPC_STATUS.UNAUTHENTICATED;
    case 403: return GRPC_STATUS.PERMISSION_DENIED;
    case 404: return GRPC_STATUS.UNIMPLEMENTED;
    case 429: case 502: case 503: case 504: return GRPC_STATUS.UNAVAILABLE;
    default: return GRPC_STATUS.UNKNOWN;
  }
}
