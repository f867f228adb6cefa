/** `t.backend()`: a real server on port 0 in its own mesh, announced at the service port callers dial. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import { meshError } from '../errors.js';
import type { Mesh, MeshOptions } from '../mesh/types.js';
import type { SeededRandom } from '../internal/prng.js';

/**
 * Options of `t.backend()`.
 *
 * @example
 * ```ts
 * await t.backend('reviews', { labels: { version: 'v2' }, port: 9080 }, (req, res) => res.end('ok'));
 * await t.backend('reviews', { port: 9090, grpc: { service: ECHO_SERVICE, impl: { Call: (call, cb) => cb(null, { from: 'v2' }) } } });
 * ```
 */
export interface BackendOptions {
  /** The service port callers dial (`http://reviews:9080/`, `reviews:9090` for gRPC). */
  port: number;
  /** Workload labels (`{ version: 'v2' }`); `app` defaults to the service name. */
  labels?: Record<string, string>;
  /** A gRPC server instead of HTTP: the service definition and its implementation. */
  grpc?: { service: grpc.ServiceDefinition; impl: grpc.UntypedServiceImplementation };
  /** More options of the backend's own mesh. */
  mesh?: Omit<MeshOptions, 'controlPlane' | 'service' | 'random' | 'signal' | 'labels'>;
}

/**
 * A running backend.
 *
 * @example
 * ```ts
 * const b: TestBackend = await t.backend('ratings', { port: 9080 }, (req, res) => res.end('5'));
 * b.calls(); // requests its handler got
 * ```
 */
export interface TestBackend {
  readonly service: string;
  /** The port the server really listens on (127.0.0.1). */
  readonly port: number;
  /** The backend's own mesh (its outbound calls are recorded too). */
  readonly mesh: Mesh;
  /** Requests (HTTP) or calls (gRPC) the handler got. */
  calls(): number;
  /** Connections reset by a `reset` fault. */
  resets(): number;
  /** @internal Restarts the reset dice at a known state. */
  reseed(seed: string): void;
  /** Withdraws and closes the server (`t.close()` does it for every backend). */
  close(): Promise<void>;
}

/**
 * Starts the server of a backend in `mesh` and announces it.
 *
 * @example
 * ```ts
 * const b = await startBackend(mesh, 'ratings', { port: 9080 }, handler, () => 0, seededRandom(1));
 * ```
 */
export async function startBackend(
  mesh: Mesh,
  service: string,
  options: BackendOptions,
  handler: RequestListener | undefined,
  resetShare: () => number,
  random: SeededRandom,
): Promise<TestBackend> {
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw meshError('MESHLET_ERR_CONFIG', `t.backend(${service}): port must be a service port from 1 to 65535`);
  let calls = 0;
  let resets = 0;
  if (options.grpc) {
    const server = mesh.grpc.createServer({ servicePort: port, drainTimeoutMs: 500 });
    const counted: grpc.UntypedServiceImplementation = {};
    for (const [name, fn] of Object.entries(options.grpc.impl)) {
      counted[name] = ((call: unknown, cb: unknown) => {
        calls++;
        return (fn as (c: unknown, cb: unknown) => unknown)(call, cb);
      }) as grpc.UntypedHandleCall;
    }
    server.server.addService(options.grpc.service, counted);
    const bound = await server.bind('127.0.0.1:0');
    return { service, port: bound, mesh, calls: () => calls, resets: () => resets, reseed: (s) => random.reseed(s), close: () => server.close() };
  }
  if (typeof handler !== 'function') throw meshError('MESHLET_ERR_CONFIG', `t.backend(${service}): give an HTTP handler (req, res) => … or options.grpc`);
  const serve: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const share = resetShare();
    // Rolled per request, like the fault filter: floor(random × 100) < percentage.
    if (share > 0 && (share >= 100 || Math.floor(random() * 100) < share)) {
      resets++;
      req.socket.resetAndDestroy();
      return;
    }
    calls++;
    handler(req, res);
  };
  const listening = await mesh.listen(serve, { port: 0, servicePort: port });
  return { service, port: listening.port, mesh, calls: () => calls, resets: () => resets, reseed: (s) => random.reseed(s), close: () => listening.close() };
}
