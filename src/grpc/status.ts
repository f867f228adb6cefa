/**
 * Status code mappings between gRPC and HTTP, and how a finished gRPC attempt is reported to the
 * engine as an {@link AttemptOutcome} (so outlier detection and retries see gRPC failures the
 * way they see HTTP ones).
 */
import type { Metadata } from '@grpc/grpc-js';
import { httpToGrpcCode } from '../internal/grpc-codes.js';
import { Status } from './lib.js';
import type { AttemptOutcome } from '../core/types.js';

/**
 * gRPC's HTTP → gRPC status mapping (grpc/doc/http-grpc-status-mapping.md), used for fault
 * aborts configured with an HTTP status and for direct responses.
 *
 * @example
 * ```ts
 * httpToGrpcStatus(503); // status.UNAVAILABLE
 * ```
 */
export function httpToGrpcStatus(http: number): Status {
  return httpToGrpcCode(http) as Status;
}

/**
 * The HTTP status an Envoy-style engine sees for a gRPC status (the inverse mapping used by
 * grpc-gateway): UNAVAILABLE 503, INTERNAL/UNKNOWN/DATA_LOSS 500, DEADLINE_EXCEEDED 504, …
 *
 * @example
 * ```ts
 * grpcToHttpStatus(status.INTERNAL); // 500
 * ```
 */
export function grpcToHttpStatus(code: Status): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.CANCELLED:
      return 499;
    case Status.INVALID_ARGUMENT:
    case Status.FAILED_PRECONDITION:
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
    case Status.ABORTED:
      return 409;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.UNAVAILABLE:
      return 503;
    default:
      return 500; // UNKNOWN, INTERNAL, DATA_LOSS
  }
}

function hasEntries(metadata: Metadata | undefined): boolean {
  if (!metadata) return false;
  for (const _ in metadata.getMap()) return true;
  return false;
}

/**
 * Classifies how an attempt ended. An upstream that answered (response headers seen, or a
 * trailers-only response, which carries headers) gives a `response` with the HTTP equivalent;
 * an UNAVAILABLE without any answer is a connection reset; a local DEADLINE_EXCEEDED is a
 * timeout; a CANCELLED without answer is the caller's doing (reported as 499, which outlier
 * detection ignores).
 *
 * @example
 * ```ts
 * attemptOutcome(status.UNAVAILABLE, new Metadata(), false); // { kind: 'reset', beforeRequestSent: false }
 * ```
 */
export function attemptOutcome(code: Status, trailers: Metadata | undefined, sawHeaders: boolean): AttemptOutcome {
  if (code === Status.OK || sawHeaders || hasEntries(trailers)) return { kind: 'response', status: grpcToHttpStatus(code) };
  switch (code) {
    case Status.UNAVAILABLE:
      return { kind: 'reset', beforeRequestSent: false };
    case Status.DEADLINE_EXCEEDED:
      return { kind: 'timeout' };
    default:
      return { kind: 'response', status: grpcToHttpStatus(code) };
  }
}
