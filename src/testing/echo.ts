import * as grpc from '@grpc/grpc-js';

/**
 * A tiny JSON-over-gRPC unary service (`/meshlet.demo.Echo/Call`) for tests, the demo and
 * benchmarks: no .proto needed, and any grpc-js client (plain, meshlet or grpc-js-xds) can call it.
 */
export interface EchoReply {
  /** Who answered: the backend's name, e.g. `reviews-v2`. */
  from: string;
  /** The metadata keys the backend saw (lower case), to check header routing and propagation. */
  metadata: Record<string, string>;
  body?: unknown;
}

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? null)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString('utf8') || 'null') as unknown,
};

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Call: {
    path: '/meshlet.demo.Echo/Call',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** Client constructor for {@link ECHO_SERVICE}. */
export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'meshlet.demo.Echo');

export interface EchoServer {
  port: number;
  server: grpc.Server;
  /** Number of calls served so far. */
  calls(): number;
  close(): Promise<void>;
}

/**
 * Starts an Echo server on 127.0.0.1 (port 0 = any free port) that answers with its name.
 *
 * @example
 * ```ts
 * const v1 = await startEchoServer('reviews-v1');
 * // ... dial 127.0.0.1:v1.port ...
 * await v1.close();
 * ```
 */
export async function startEchoServer(name: string, port = 0, host = '127.0.0.1'): Promise<EchoServer> {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(ECHO_SERVICE, {
    Call: (call: grpc.ServerUnaryCall<unknown, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      calls++;
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
      callback(null, { from: name, metadata, body: call.request });
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    server,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** Promise wrapper over one unary Echo call. */
export function echoCall(client: grpc.Client, metadata?: Record<string, string>, deadlineMs = 5000): Promise<EchoReply> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata ?? {})) md.set(k, v);
  return new Promise((resolve, reject) => {
    (client as unknown as { Call: (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void) => void })
      .Call({}, md, { deadline: Date.now() + deadlineMs }, (err, reply) => (err ? reject(err) : resolve(reply as EchoReply)));
  });
}
