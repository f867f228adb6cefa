// Shared pieces of the gRPC data-plane tests: a JSON test service with all four call types and
// switchable misbehaviour, a control server fed Istio YAML, and meshes with their gRPC adapter.
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { applyYaml, waitFor } from '../../helpers/wait.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import type { MeshGrpc } from '../../../src/grpc/index.js';

export const HOST = 'reviews.default.svc.cluster.local';

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? null)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString('utf8') || 'null') as unknown,
};

function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/meshlet.test.Svc/${name}`,
    requestStream,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export const SVC: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  Slow: method('Slow', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
};

export const SvcClient = grpc.makeGenericClientConstructor(SVC, 'meshlet.test.Svc');
export type SvcClient = InstanceType<typeof SvcClient>;

export interface Reply {
  from: string;
  n?: number;
  metadata?: Record<string, string>;
}

/** Misbehaviour of a backend; mutable while it runs. */
export interface Behaviour {
  /** Fraction of Unary calls failing with `failCode` (alternating, deterministic). */
  failEvery?: number;
  failCode?: grpc.status;
  /** Delay of Slow, ms. */
  slowMs?: number;
}

export interface Backend {
  name: string;
  port: number;
  behaviour: Behaviour;
  calls: number;
  close(): Promise<void>;
  server: grpc.Server;
}

/** A backend's handlers (also used by the standalone server in the examples). */
export function handlers(b: { name: string; behaviour: Behaviour; calls: number }): grpc.UntypedServiceImplementation {
  const md = (m: grpc.Metadata): Record<string, string> => Object.fromEntries(Object.entries(m.getMap()).map(([k, v]) => [k, String(v)]));
  return {
    Unary: (call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      b.calls++;
      const every = b.behaviour.failEvery ?? 0;
      if (every > 0 && b.calls % every === 0) return cb({ code: b.behaviour.failCode ?? grpc.status.UNAVAILABLE, details: `${b.name} failing` });
      cb(null, { from: b.name, metadata: md(call.metadata) });
    },
    Slow: (_call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      b.calls++;
      setTimeout(() => cb(null, { from: b.name }), b.behaviour.slowMs ?? 500);
    },
    ServerStream: (call: grpc.ServerWritableStream<{ count: number }, Reply>) => {
      b.calls++;
      for (let i = 0; i < (call.request?.count ?? 3); i++) call.write({ from: b.name, n: i });
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      b.calls++;
      let n = 0;
      call.on('data', () => n++);
      call.on('end', () => cb(null, { from: b.name, n }));
    },
    Bidi: (call: grpc.ServerDuplexStream<{ n: number }, Reply>) => {
      b.calls++;
      call.on('data', (m: { n: number }) => call.write({ from: b.name, n: m.n }));
      call.on('end', () => call.end());
    },
  };
}

export async function startBackend(name: string, behaviour: Behaviour = {}): Promise<Backend> {
  const server = new grpc.Server();
  const b = { name, behaviour, calls: 0 };
  server.addService(SVC, handlers(b));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return Object.assign(b, {
    port,
    server,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  });
}

/** ServiceEntry with static endpoints (subset label `version`) + DestinationRule subsets. */
export function serviceEntry(backends: Record<string, Backend[]>, trafficPolicy = ''): string {
  const endpoints = Object.entries(backends)
    .flatMap(([version, list]) => list.map((b) => `  - address: 127.0.0.1\n    ports: { grpc: ${b.port} }\n    labels: { app: reviews, version: ${version} }`))
    .join('\n');
  const subsets = Object.keys(backends).map((v) => `  - { name: ${v}, labels: { version: ${v} } }`).join('\n');
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9080, name: grpc, protocol: GRPC }
  endpoints:
${endpoints}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
${trafficPolicy}  subsets:
${subsets}
`;
}

export class GrpcFixture {
  readonly meshes: Mesh[] = [];
  readonly clients: grpc.Client[] = [];
  private constructor(readonly control: ControlServer) {}

  static async start(): Promise<GrpcFixture> {
    return new GrpcFixture(await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5, withdrawGraceMs: 100 }));
  }

  /** Applies `yaml`; resolves once every connected mesh has ACKed (or NACKed) what it produced. */
  apply(yaml: string): Promise<void> {
    return applyYaml(this.control, yaml);
  }

  async mesh(options: Parameters<typeof createMesh>[0] = {}): Promise<{ mesh: Mesh; grpc: MeshGrpc }> {
    const mesh = await createMesh({
      controlPlane: `127.0.0.1:${this.control.xdsPort}`,
      initialFetchTimeoutMs: 2000,
      drainTimeoutMs: 1000,
      xdsBackoff: { initialMs: 50, maxMs: 200 },
      ...options,
    });
    this.meshes.push(mesh);
    return { mesh, grpc: mesh.grpc };
  }

  client(g: MeshGrpc, target = `${HOST}:9080`): SvcClient {
    const c = g.client(SvcClient, target);
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.meshes.map((m) => m.close()));
    await this.control.close();
  }
}

/**
 * Points this process's stock grpc-js-xds at the fixture's control server and returns an
 * `xds:///` client of the test service (grpc-js-xds reads its bootstrap once per process).
 */
export function stockXdsClient(fx: GrpcFixture, nodeId: string): grpc.Client {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${fx.control.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, cluster: 'interop', locality: {} },
  });
  grpcXds.register();
  return new SvcClient(`xds:///${HOST}:9080`, grpc.credentials.createInsecure());
}

/** A stock client and a meshlet client of the fixture, each after its first routed call. */
export async function bothClients(fx: GrpcFixture, nodeId: string): Promise<{ xdsClient: grpc.Client; meshClient: grpc.Client }> {
  const xdsClient = stockXdsClient(fx, nodeId);
  const { grpc: g } = await fx.mesh({ service: 'productpage' });
  const meshClient = fx.client(g);
  await waitFor(async () => (await unary(xdsClient)).from !== undefined, 10_000, 'grpc-js-xds first call');
  await waitFor(async () => (await unary(meshClient)).from !== undefined, 5_000, 'meshlet first call');
  return { xdsClient, meshClient };
}

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Reply) => void) => grpc.ClientUnaryCall;

/** One unary call (Unary or Slow) as a promise. */
export function unary(client: grpc.Client, headers: Record<string, string> = {}, opts: grpc.CallOptions = {}, name = 'Unary'): Promise<Reply> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  const fn = (client as unknown as Record<string, Unary>)[name] as Unary;
  return new Promise((resolve, reject) => {
    fn.call(client, {}, md, { deadline: Date.now() + 5000, ...opts }, (err, reply) => (err ? reject(err) : resolve(reply as Reply)));
  });
}

/** Resolves the status code of a call expected to fail. */
export async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('call succeeded');
}

export { waitFor } from '../../helpers/wait.js';

/** Counts replies by backend over n sequential calls. */
export async function tally(client: grpc.Client, n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await unary(client, headers);
    counts[r.from] = (counts[r.from] ?? 0) + 1;
  }
  return counts;
}
