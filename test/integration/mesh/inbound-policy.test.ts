// One inbound policy for both protocols: a single stage added to mesh.inbound.policy refuses an
// HTTP request (403, Istio's body) and a gRPC call (PERMISSION_DENIED) from the same view shape;
// the app sees the normalized path the stage matched; malformed paths and two Host headers are
// 400 before any stage; every request's end (status, gRPC status, messages) reaches the stage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, SVC, SvcClient, handlers, failure, unary } from '../grpc/fixture.js';
import { INBOUND_PHASE, type InboundOutcome, type InboundRequestView, type Mesh } from '../../../src/index.js';
import type { MeshGrpcServer } from '../../../src/grpc/index.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A raw request (node's client would refuse to send two Host headers). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.setEncoding('utf8').on('data', (c: string) => (out += c)).on('end', () => resolve(out)).on('error', reject);
  });
}

describe('one inbound policy for HTTP and gRPC', () => {
  let fx: GrpcFixture;
  let mesh: Mesh;
  let server: MeshGrpcServer;
  let httpPort = 0;
  let grpcPort = 0;
  const views: InboundRequestView[] = [];
  const outcomes: Array<{ protocol: string; outcome: InboundOutcome }> = [];
  const appPaths: string[] = [];

  before(async () => {
    fx = await GrpcFixture.start();
    ({ mesh } = await fx.mesh({ service: 'reviews', labels: { app: 'reviews' } }));
    mesh.inbound.policy.use(
      {
        name: 'test-rbac',
        onRequest: ({ view }) => {
          views.push(view);
          if (view.path.startsWith('/admin') || view.path === '/meshlet.test.Svc/Slow') return { status: 403, body: 'RBAC: access denied' };
          return undefined;
        },
        onEnd: ({ view }, outcome) => void outcomes.push({ protocol: view.protocol, outcome }),
      },
      INBOUND_PHASE.authz,
    );
    httpPort = (await mesh.listen((req, res) => { appPaths.push(req.url ?? ''); res.end('app'); }, { port: 0, servicePort: 9080 })).port;
    server = mesh.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
    server.server.addService(SVC, handlers({ name: 'reviews', behaviour: {}, calls: 0 }));
    grpcPort = await server.bind('127.0.0.1:0');
  });

  after(async () => {
    await server?.close();
    await fx?.close();
  });

  test('HTTP: the stage refuses with 403 and its body; the app sees the normalized path', async () => {
    assert.deepEqual(await get(httpPort, '/public/../admin/users'), { status: 403, body: 'RBAC: access denied' });
    assert.deepEqual(await get(httpPort, '//reviews/./1/%7Eme?x=1'), { status: 200, body: 'app' });
    assert.deepEqual(appPaths, ['/reviews/1/~me?x=1']);
    const v = views.at(-1) as InboundRequestView;
    assert.equal(v.protocol, 'http');
    assert.equal(v.path, '/reviews/1/~me');
    assert.equal(v.query, 'x=1');
    assert.equal(v.localPort, 9080, 'the announced service port, not the socket port');
    assert.equal(v.peer.address, '127.0.0.1');
    assert.equal(v.peer.principal, undefined, 'plaintext: no identity');
    assert.equal(v.header(':path'), '/reviews/1/~me?x=1');
  });

  test('HTTP: a malformed path or two Host headers is 400 and never reaches a stage or the app', async () => {
    const before = views.length;
    assert.equal((await get(httpPort, '/a%zz')).status, 400);
    assert.equal((await get(httpPort, '/a%00b')).status, 400);
    const twoHosts = await raw(httpPort, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
    assert.match(twoHosts, /^HTTP\/1\.1 400/);
    assert.equal(views.length, before);
    assert.equal(appPaths.length, 1);
  });

  test('gRPC: the same stage refuses with PERMISSION_DENIED and sees the same view shape', async () => {
    const client = new SvcClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      assert.equal((await unary(client, { 'x-user': 'a' })).from, 'reviews');
      const v = views.at(-1) as InboundRequestView;
      assert.equal(v.protocol, 'grpc');
      assert.equal(v.path, '/meshlet.test.Svc/Unary');
      assert.equal(v.method, 'POST');
      assert.equal(v.localPort, 9090);
      assert.equal(v.header('x-user'), 'a');
      assert.equal(v.peer.address, '127.0.0.1');
      const denied = await failure(unary(client, {}, {}, 'Slow'));
      assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
      assert.equal(denied.details, 'RBAC: access denied');
    } finally {
      client.close();
    }
  });

  test('every request ends at the stage: HTTP status, gRPC status and message counts, the refusal', () => {
    const httpDenied = outcomes.find((o) => o.protocol === 'http' && o.outcome.status === 403);
    assert.equal(httpDenied?.outcome.denied?.stage, 'test-rbac');
    const grpcOk = outcomes.find((o) => o.protocol === 'grpc' && o.outcome.grpcStatus === grpc.status.OK);
    assert.equal(grpcOk?.outcome.requestMessages, 1);
    assert.equal(grpcOk?.outcome.responseMessages, 1);
    const grpcDenied = outcomes.find((o) => o.protocol === 'grpc' && o.outcome.grpcStatus === grpc.status.PERMISSION_DENIED);
    assert.equal(grpcDenied?.outcome.denied?.status, 403);
  });
});
