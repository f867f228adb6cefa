/**
 * `meshlet-node/testing`: helpers for tests and examples. Today: a JSON-over-gRPC echo service
 * that needs no .proto file, so any grpc-js client (plain, `mesh:///` or stock grpc-js-xds) can
 * call it and see which backend answered.
 *
 * @example
 * ```ts
 * import { startEchoServer, EchoClient, echoCall } from 'meshlet-node/testing';
 * const v1 = await startEchoServer('reviews-v1');
 * const reply = await echoCall(new EchoClient(`127.0.0.1:${v1.port}`, grpc.credentials.createInsecure()));
 * reply.from; // 'reviews-v1'
 * await v1.close();
 * ```
 */
export { ECHO_SERVICE, EchoClient, echoCall, startEchoServer } from './echo.js';
export type { EchoReply, EchoServer } from './echo.js';
