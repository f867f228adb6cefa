/**
 * `meshlet-node/testing`: unit tests of a service inside a real mesh. `createTestMesh()` runs a
 * control server in the test's process and hands out meshes, backends, config and seeded faults
 * that each resolve once every mesh has answered; `t.records()` says what each call did. Also a
 * JSON-over-gRPC echo service that needs no .proto file.
 *
 * @example
 * ```ts
 * import { createTestMesh } from 'meshlet-node/testing';
 * const t = await createTestMesh({ seed: 42 });
 * const pp = await t.mesh('productpage');
 * await t.backend('ratings', { port: 9080 }, (req, res) => res.end('5'));
 * await t.fault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
 * const res = await pp.fetch('http://ratings:9080/');
 * await t.close();
 * ```
 */
export { ECHO_SERVICE, EchoClient, echoCall, startEchoServer } from './echo.js';
export type { EchoReply, EchoServer } from './echo.js';
export { createTestMesh } from './test-mesh.js';
export type { TestMesh, TestMeshOptions, TestMeshClientOptions, ActiveFault, PendingFault } from './test-mesh.js';
export type { BackendOptions, TestBackend } from './backend.js';
export type { FaultSpec, FaultPercentage } from './fault.js';
export type { TestRecord, RecordFilter } from './records.js';
export type { ApplyInput } from './config-sync.js';
export { ManualClock } from './clock.js';
export { seededRandom } from '../internal/prng.js';
export type { SeededRandom } from '../internal/prng.js';
