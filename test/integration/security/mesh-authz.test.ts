// End to end: AuthorizationPolicy YAML applied to the control server reaches a serving mesh as
// its inbound listener, and the one inbound policy enforces it for HTTP (mesh.listen: 403
// `RBAC: access denied`) and gRPC (mesh.grpc.createServer: PERMISSION_DENIED); DENY wins over
// ALLOW; the app receives the normalized path the policy matched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { GrpcFixture, SVC, SvcClient, handlers, failure, unary, waitFor } from '../grpc/fixture.js';
import type { Mesh } from '../../../src/mesh/types.js';

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-allow, namespace: default }
spec:
  selector: { matchLabels: { app: web } }
  rules:
  - to: [{ operation: { methods: [GET], paths: [/public/*, /admin/*] } }]
  - to: [{ operation: { methods: [POST], paths: [/public/form] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: web } }
  action: DENY
  rules: [{ to: [{ operation: { paths: [/admin/*] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: grpc-deny-slow, namespace: default }
spec:
  selector: { matchLabels: { app: ratings } }
  action: DENY
  rules: [{ to: [{ operation: { paths: [/meshlet.test.Svc/Slow] } }] }]
`;

async function until(mesh: Mesh, port: number): Promise<void> {
  await waitFor(async () => mesh.inbound.mtlsMode(port) !== undefined, 5000, `inbound listener for port ${port}`);
}

describe('authorization through the inbound policy', () => {
  let fx: GrpcFixture;
  before(async () => {
    fx = await GrpcFixture.start();
    await fx.apply(POLICIES);
  });
  after(async () => {
    await fx?.close();
  });

  test('HTTP: DENY before ALLOW, ALLOW with no match denies, 403 body as Istio, app sees the normalized path', async () => {
    const { mesh } = await fx.mesh({ service: 'web', labels: { app: 'web' } });
    const seen: string[] = [];
    const handle = await mesh.listen((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('ok');
    }, { port: 0 });
    await until(mesh, handle.port);
    assert.equal(mesh.inbound.mtlsMode(handle.port), 'PERMISSIVE');
    const call = async (path: string, method = 'GET') => {
      const r = await request(`http://127.0.0.1:${handle.port}${path}`, { method });
      return { status: r.statusCode, body: await r.body.text() };
    };
    assert.deepEqual(await call('/public/a'), { status: 200, body: 'ok' });
    assert.deepEqual(await call('/admin/users'), { status: 403, body: 'RBAC: access denied' });
    assert.deepEqual(await call('/public/..%2Fadmin/users'), { status: 403, body: 'RBAC: access denied' });
    assert.deepEqual(await call('/other'), { status: 403, body: 'RBAC: access denied' });
    assert.deepEqual(await call('/public/a', 'DELETE'), { status: 403, body: 'RBAC: access denied' });
    assert.deepEqual(await call('/public/form', 'POST'), { status: 200, body: 'ok' });
    assert.deepEqual(await call('/public//x/./y/%7Ez?q=1'), { status: 200, body: 'ok' });
    assert.equal((await call('/public/%00')).status, 400);
    assert.deepEqual(seen, ['GET /public/a', 'POST /public/form', 'GET /public/x/y/~z?q=1']);
    await handle.close();
  });

  test('gRPC: a DENY policy on a method → PERMISSION_DENIED; other methods pass', async () => {
    const { mesh, grpc: serving } = await fx.mesh({ service: 'ratings', labels: { app: 'ratings' } });
    const server = serving.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
    server.server.addService(SVC, handlers({ name: 'ratings', behaviour: { slowMs: 1 }, calls: 0 }));
    const port = await server.bind('127.0.0.1:0');
    await until(mesh, 9090);
    const client = new SvcClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      assert.equal((await unary(client)).from, 'ratings');
      const slow = await failure(new Promise((resolve, reject) => client.makeUnaryRequest('/meshlet.test.Svc/Slow', (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()), {}, (err: unknown, v: unknown) => (err ? reject(err) : resolve(v)))));
      assert.equal(slow.code, grpc.status.PERMISSION_DENIED);
      assert.equal(slow.details, 'RBAC: access denied');
    } finally {
      client.close();
      await server.close();
    }
  });
});
