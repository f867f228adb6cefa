/**
 * `@grpc/grpc-js`, loaded on first use. The mesh client's bundle holds the gRPC adapters, but a
 * process that never touches `mesh.grpc` should not pay grpc-js' ~5 MB of RSS and its load time
 * (bench/cold-start.ts). Modules here import grpc-js types only (`import type`), take classes
 * and functions from {@link grpcLib} inside their functions, and use the status and
 * connectivity codes below, which are grpc's wire-level numbers and need no grpc-js at all.
 */
import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import { GRPC_STATUS } from '../internal/grpc-codes.js';

let lib: typeof grpc | undefined;

/**
 * The grpc-js module (one copy per process, as `require` resolves it).
 *
 * @example
 * ```ts
 * const md = new (grpcLib().Metadata)();
 * ```
 */
export function grpcLib(): typeof grpc {
  return (lib ??= createRequire(import.meta.url)('@grpc/grpc-js') as typeof grpc);
}

/** grpc status codes (doc/statuscodes.md), typed as grpc-js's enum. */
export const Status = GRPC_STATUS as unknown as typeof grpc.status;
export type Status = grpc.status;

/** grpc connectivity states, typed as grpc-js's enum. */
export const State = Object.freeze({ IDLE: 0, CONNECTING: 1, READY: 2, TRANSIENT_FAILURE: 3, SHUTDOWN: 4 }) as unknown as typeof grpc.connectivityState;
export type State = grpc.connectivityState;

/** `new Metadata()`. */
export function newMetadata(): grpc.Metadata {
  return new (grpcLib().Metadata)();
}
