// gRPC and HTTP/2 through the gateway: a stock @grpc/grpc-js client → the gateway (h2c with prior
// knowledge on a plain port, ALPN h2 on an HTTPS port) → a mesh grpc-js server, over mesh mTLS
// with the gateway's own identity (and plaintext h2c from a gateway without one). Unary,
// server/client/bidi streaming, a status with details and trailing metadata, a deadline that
// reaches the backend as grpc-timeout and cancels it there; HTTP/1.1 still served on both ports;
// HTTP/2 limits and slow starts; GOAWAY on close while a stream in flight finishes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request, Agent } from 'undici';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import type { MeshGrpcServer } from '../../../src/grpc/index.js';
import { tempDir } from '../../helpers/ca.js';
import { testPki, type TestPki } from '../../helpers/tls-certs.js';
import { applyYaml, waitFor } from '../../helpers/wait.js';

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? null)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString('utf8') || 'null') as unknown,
};
function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> {
  return { path: `/meshlet.gw.Svc/${name}`, requestStream, responseStream, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize };
}
const SVC: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  Fail: method('Fail', false, false),
  Hold: method('Hold', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
};
const Client = grpc.makeGenericClientConstructor(SVC, 'meshlet.gw.Svc');
type Client = InstanceType<typeof Client>;
interface Reply { from?: string; n?: number; metadata?: Record<string, string>; deadline?: boolean; principal?: string | null }

let control: ControlServer;
let backend: Mesh;
let server: MeshGrpcServer;
let pki: TestPki;
let removeDir: () => Promise<void>;
const clients: grpc.Client[] = [];
const gateways: Gateway[] = [];
/** Resolves when a held call is cancelled at the backend; set per test. */
let onHoldCancelled: (() => void) | undefined;
/** Answers the held call; set while one is held. */
let releaseHold: (() => void) | undefined;
let holdStarted: (() => void) | undefined;

const CONFIG = (cert: { cert: string; key: string }): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9090, name: grpc, protocol: GRPC }
  workloadSelector: { labels: { app: ratings } }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: grpc, protocol: GRPC }
    hosts: ['*']
  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [grpc.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${cert.cert}, privateKey: ${cert.key} }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: ['*']
  gateways: [edge]
  http:
  - route: [{ destination: { host: ratings, port: { number: 9090 } } }]
`;

before(async () => {
  pki = await testPki();
  const cert = await pki.writeFiles('grpc', await pki.leaf('grpc.example.com', { dns: ['grpc.example.com'] }));
  const t = await tempDir();
  removeDir = t.remove;
  control = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  const token = await control.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'ratings' });
  backend = await createMesh({ controlPlane: `127.0.0.1:${control.securePort}`, token, service: 'ratings', labels: { app: 'ratings' }, initialFetchTimeoutMs: 5000, drainTimeoutMs: 500 });
  server = backend.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
  const md = (m: grpc.Metadata): Record<string, string> => Object.fromEntries(Object.entries(m.getMap()).map(([k, v]) => [k, String(v)]));
  server.server.addService(SVC, {
    Unary: (call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      cb(null, { from: 'ratings', metadata: md(call.metadata), deadline: Number.isFinite(Number(call.getDeadline())) });
    },
    Fail: (_call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-why', 'because');
      cb({ code: grpc.status.NOT_FOUND, details: 'no such rating', metadata: trailer });
    },
    Hold: (call: grpc.ServerUnaryCall<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      call.on('cancelled', () => onHoldCancelled?.());
      releaseHold = () => cb(null, { from: 'held' });
      holdStarted?.();
    },
    ServerStream: (call: grpc.ServerWritableStream<{ count: number }, Reply>) => {
      for (let i = 0; i < (call.request?.count ?? 3); i++) call.write({ n: i });
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<unknown, Reply>, cb: grpc.sendUnaryData<Reply>) => {
      let n = 0;
      call.on('data', () => n++);
      call.on('end', () => cb(null, { n }));
    },
    Bidi: (call: grpc.ServerDuplexStream<{ n: number }, Reply>) => {
      call.on('data', (m: { n: number }) => call.write({ n: m.n * 10 }));
      call.on('end', () => call.end());
    },
  });
  await server.bind('127.0.0.1:0');
  await applyYaml(control, CONFIG(cert));
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(gateways.map((g) => g.close()));
  await server?.close();
  await backend?.close();
  await control?.close();
  await pki?.remove();
  await removeDir?.();
});

async function gateway(withToken: boolean, limits?: Parameters<typeof createGateway>[0] extends infer O ? O extends { limits?: infer L } ? L : never : never): Promise<Gateway> {
  const token = withToken ? await control.ca!.createJoinToken({ namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' }) : undefined;
  const gw = await createGateway({
    controlPlane: `127.0.0.1:${withToken ? control.securePort : control.xdsPort}`,
    ...(token ? { token } : {}),
    host: '127.0.0.1', ports: { 80: 0, 443: 0 }, initialFetchTimeoutMs: 5000, drainTimeoutMs: 2000,
    ...(limits ? { limits } : {}),
  });
  gateways.push(gw);
  await waitFor(() => gw.ports[80] && gw.ports[443], 5000, 'ports bound');
  return gw;
}

function plainClient(gw: Gateway): Client {
  const c = new Client(`127.0.0.1:${gw.ports[80]}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

function unary(c: Client, name = 'Unary', md: Record<string, string> = {}, options: grpc.CallOptions = {}): Promise<Reply> {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) m.set(k, v);
  return new Promise((resolve, reject) => {
    (c as unknown as Record<string, (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Reply) => void) => void>)[name]!({}, m, options, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  return p.then(() => assert.fail('expected the call to fail'), (err: grpc.ServiceError) => err);
}

describe('gRPC through the gateway over mesh mTLS', () => {
  let gw: Gateway;
  let c: Client;

  before(async () => {
    gw = await gateway(true);
    c = plainClient(gw);
    await waitFor(async () => (await unary(c).catch(() => undefined))?.from === 'ratings', 10_000, 'first call through the gateway');
  });

  test('unary over h2c: metadata reaches the backend with the edge headers, the answer comes back', async () => {
    const r = await unary(c, 'Unary', { 'x-user': 'alice' });
    assert.equal(r.from, 'ratings');
    assert.equal(r.metadata?.['x-user'], 'alice');
    assert.equal(r.metadata?.['x-forwarded-for'], '127.0.0.1');
    assert.equal(r.metadata?.['x-forwarded-proto'], 'http');
    assert.ok(r.metadata?.['x-request-id']);
  });

  test('a status with details and trailing metadata comes back as the backend sent it (trailers)', async () => {
    const err = await failure(unary(c, 'Fail'));
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(err.details, 'no such rating');
    assert.deepEqual(err.metadata.get('x-why'), ['because']);
  });

  test('server, client and bidi streaming', async () => {
    const got = await new Promise<number[]>((resolve, reject) => {
      const out: number[] = [];
      const s = c.makeServerStreamRequest('/meshlet.gw.Svc/ServerStream', json.serialize, json.deserialize, { count: 5 });
      s.on('data', (m: Reply) => out.push(m.n!));
      s.on('error', reject);
      s.on('end', () => resolve(out));
    });
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    const counted = await new Promise<Reply>((resolve, reject) => {
      const s = c.makeClientStreamRequest('/meshlet.gw.Svc/ClientStream', json.serialize, json.deserialize, (err, r) => (err ? reject(err) : resolve(r as Reply)));
      for (let i = 0; i < 7; i++) s.write({ i });
      s.end();
    });
    assert.equal(counted.n, 7);
    // Bidi, one message at a time: each answer arrives before the next request is written, so
    // nothing waits for the request body to end (the body is streamed both ways).
    const echoed = await new Promise<number[]>((resolve, reject) => {
      const out: number[] = [];
      const s = c.makeBidiStreamRequest('/meshlet.gw.Svc/Bidi', json.serialize, json.deserialize);
      s.on('data', (m: Reply) => {
        out.push(m.n!);
        if (out.length < 4) s.write({ n: out.length + 1 });
        else s.end();
      });
      s.on('error', reject);
      s.on('end', () => resolve(out));
      s.write({ n: 1 });
    });
    assert.deepEqual(echoed, [10, 20, 30, 40]);
  });

  test('a deadline reaches the backend as grpc-timeout; when it passes, the backend call is cancelled', async () => {
    const r = await unary(c, 'Unary', {}, { deadline: Date.now() + 30_000 });
    assert.equal(r.deadline, true, 'the backend saw a deadline (grpc-timeout)');
    const cancelled = new Promise<void>((resolve) => (onHoldCancelled = resolve));
    const err = await failure(unary(c, 'Hold', {}, { deadline: Date.now() + 300 }));
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    await cancelled;
  });

  test('the same port still serves HTTP/1.1 (Envoy codec AUTO); gRPC over TLS with ALPN h2, HTTP/1.1 there too', async () => {
    // HTTP/1.1 to a gRPC backend: the gateway speaks HTTP/2 upstream; grpc-js answers a non-gRPC request with 415.
    const res = await request(`http://127.0.0.1:${gw.ports[80]}/meshlet.gw.Svc/Unary`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    await res.body.dump();
    assert.equal(res.statusCode, 415);
    const tlsClient = new Client(`127.0.0.1:${gw.ports[443]}`, grpc.credentials.createSsl(Buffer.from(pki.caPem)), {
      'grpc.ssl_target_name_override': 'grpc.example.com', 'grpc.default_authority': 'grpc.example.com',
    });
    clients.push(tlsClient);
    const r = await unary(tlsClient, 'Unary', { 'x-user': 'bob' });
    assert.equal(r.metadata?.['x-user'], 'bob');
    assert.equal(r.metadata?.['x-forwarded-proto'], 'https');
    const session = http2.connect(`https://127.0.0.1:${gw.ports[443]}`, { ca: pki.caPem, servername: 'grpc.example.com' });
    try {
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      assert.equal((session.socket as import('node:tls').TLSSocket).alpnProtocol, 'h2');
    } finally {
      session.close();
    }
    const h1 = new Agent({ connect: { ca: pki.caPem, servername: 'grpc.example.com' } });
    try {
      const res1 = await request(`https://127.0.0.1:${gw.ports[443]}/meshlet.gw.Svc/Unary`, { dispatcher: h1, method: 'POST', body: 'x', headers: { host: 'grpc.example.com', 'content-type': 'text/plain' } });
      await res1.body.dump();
      assert.equal(res1.statusCode, 415, 'HTTP/1.1 over TLS reaches the backend too');
    } finally {
      await h1.close();
    }
  });

  test('a path no route serves is a gRPC answer, not an HTML page: UNIMPLEMENTED from the backend', async () => {
    const err = await failure(new Promise((resolve, reject) => {
      c.makeUnaryRequest('/meshlet.gw.Svc/Missing', json.serialize, json.deserialize, {}, (e, r) => (e ? reject(e) : resolve(r)));
    }));
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  });
});

describe('HTTP/2 at the edge', () => {
  test('without an identity the gateway talks h2c to a PERMISSIVE backend', async () => {
    const gw = await gateway(false);
    const c = plainClient(gw);
    const r = await waitFor(async () => unary(c).catch(() => undefined), 10_000, 'a call through a tokenless gateway');
    assert.equal(r.from, 'ratings');
  });

  test('limits: SETTINGS carry maxConcurrentStreams; too many or too large headers are 431', async () => {
    const gw = await gateway(false, { maxConcurrentStreams: 7, maxHeadersCount: 20, maxHeaderBytes: 4096 });
    const session = http2.connect(`http://127.0.0.1:${gw.ports[80]}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => session.once('remoteSettings', resolve).once('error', reject));
      assert.equal(settings.maxConcurrentStreams, 7);
      const status = (headers: http2.OutgoingHttpHeaders): Promise<number> => new Promise((resolve, reject) => {
        const s = session.request({ ':path': '/x', ...headers });
        s.on('response', (h) => resolve(Number(h[':status'])));
        // A reset (node past its header pair limit, as Envoy on HTTP/2): the negated code.
        s.on('error', () => resolve(-s.rstCode));
        s.on('close', () => resolve(-s.rstCode));
        s.end();
        s.resume();
      });
      const headers = (n: number): http2.OutgoingHttpHeaders => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));
      assert.equal(await status(headers(21)), 431, 'one over maxHeadersCount: 431, as on HTTP/1.1');
      assert.equal(await status(headers(60)), -http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'far over: the stream is reset');
      const big = await status({ 'x-big': 'v'.repeat(5000) });
      assert.ok(big === 431 || big < 0, `refused (431 or a reset), got ${big}`);
      assert.equal(await status(headers(3)), 415, 'the session still serves (the backend refuses a non-gRPC request: 415)');
    } finally {
      session.close();
    }
  });

  test('slow starts: a half-sent preface is closed after the headers timeout; an HTTP/2 session that goes quiet gets GOAWAY', async () => {
    const gw = await gateway(false, { headersTimeoutMs: 300, keepAliveTimeoutMs: 300 });
    const raw = connect(gw.ports[80]!, '127.0.0.1');
    raw.on('error', () => {});
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.write('PRI * HTTP/2'); // neither the whole preface nor anything else
    await closed;
    const session = http2.connect(`http://127.0.0.1:${gw.ports[80]}`);
    session.on('error', () => {});
    const goaway = await new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    assert.equal(goaway, http2.constants.NGHTTP2_NO_ERROR);
    session.destroy();
  });

  test('close() sends GOAWAY (NO_ERROR), and the stream in flight still finishes with its trailers', async () => {
    const gw = await gateway(false);
    const c = plainClient(gw);
    await waitFor(async () => unary(c).catch(() => undefined), 10_000, 'routed');
    const session = http2.connect(`http://127.0.0.1:${gw.ports[80]}`);
    await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
    const started = new Promise<void>((resolve) => (holdStarted = resolve));
    // A raw gRPC frame of `{}` (uncompressed, length 2) held at the backend.
    const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from('{}')]);
    const stream = session.request({ ':method': 'POST', ':path': '/meshlet.gw.Svc/Hold', 'content-type': 'application/grpc', te: 'trailers' });
    stream.end(body);
    const answer = new Promise<{ status: string | undefined; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
      let status: string | undefined;
      stream.on('response', (h) => (status = String(h[':status'])));
      stream.on('trailers', (t) => resolve({ status, trailers: t }));
      stream.on('error', reject);
      stream.resume();
    });
    await started;
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const closing = gw.close();
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
    releaseHold?.();
    const { status, trailers } = await answer;
    assert.equal(status, '200');
    assert.equal(trailers['grpc-status'], '0');
    await closing;
    session.destroy();
  });
});
