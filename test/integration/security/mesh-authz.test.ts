// End to end: AuthorizationPolicy YAML applied to the control server reaches a serving mesh as
// its inbound listener, and the one inbound policy enforces it for HTTP (mesh.listen: 403
// `RBAC: access denied`) and gRPC (mesh.grpc.createServer: PERMISSION_DENIED); DENY wins over
// ALLOW; the app receives the normalized path the policy matched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import diagnostics_channel from 'node:diagnostics_channel';
import { request } from 'undici';
import { AUTHZ_AUDIT_CHANNEL, type AuthzAuditMessage } from '../../../src/security/authz/stage.js';
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
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: dst-deny, namespace: default }
spec:
  selector: { matchLabels: { app: dstip } }
  action: DENY
  rules:
  - to: [{ operation: { paths: [/local/*, /meshlet.test.Svc/Slow] } }]
    when: [{ key: destination.ip, values: [127.0.0.0/8] }]
  - to: [{ operation: { paths: [/far/*, /meshlet.test.Svc/Unary] } }]
    when: [{ key: destination.ip, values: [10.0.0.0/8, "fd00::/8"] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: audit-writes, namespace: default }
spec:
  selector: { matchLabels: { app: audited } }
  action: AUDIT
  rules: [{ to: [{ operation: { methods: [POST] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-secret, namespace: default }
spec:
  selector: { matchLabels: { app: audited } }
  action: DENY
  rules: [{ to: [{ operation: { paths: [/secret] } }] }]
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

  test('destination.ip is the server\'s own address on the connection, for HTTP and gRPC', async () => {
    const { mesh, grpc: serving } = await fx.mesh({ service: 'dstip', labels: { app: 'dstip' } });
    const handle = await mesh.listen((_req, res) => res.end('ok'), { port: 0 });
    const server = serving.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
    server.server.addService(SVC, handlers({ name: 'dstip', behaviour: { slowMs: 1 }, calls: 0 }));
    const port = await server.bind('127.0.0.1:0');
    await until(mesh, handle.port);
    await until(mesh, 9090);
    const status = async (path: string) => (await request(`http://127.0.0.1:${handle.port}${path}`)).statusCode;
    assert.equal(await status('/local/x'), 403, 'a DENY on 127.0.0.0/8 fires for a connection to 127.0.0.1');
    assert.equal(await status('/far/x'), 200, 'a DENY on 10.0.0.0/8 does not');
    const client = new SvcClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      assert.equal((await unary(client)).from, 'dstip');
      const slow = await failure(new Promise((resolve, reject) => client.makeUnaryRequest('/meshlet.test.Svc/Slow', (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()), {}, (err: unknown, v: unknown) => (err ? reject(err) : resolve(v)))));
      assert.equal(slow.code, grpc.status.PERMISSION_DENIED);
    } finally {
      client.close();
      await server.close();
      await handle.close();
    }
  });

  test('AUDIT: a matching request is published on meshlet:authz:audit, allowed or then denied; others are not', async () => {
    const { mesh } = await fx.mesh({ service: 'audited', labels: { app: 'audited' } });
    const handle = await mesh.listen((_req, res) => res.end('ok'), { port: 0 });
    await until(mesh, handle.port);
    const seen: AuthzAuditMessage[] = [];
    const onAudit = (m: unknown) => void seen.push(m as AuthzAuditMessage);
    diagnostics_channel.subscribe(AUTHZ_AUDIT_CHANNEL, onAudit);
    try {
      const status = async (path: string, method: string) => (await request(`http://127.0.0.1:${handle.port}${path}`, { method, body: method === 'POST' ? 'x' : null })).statusCode;
      assert.equal(await status('/items', 'GET'), 200);
      assert.equal(await status('/items', 'POST'), 200);
      assert.equal(await status('/secret', 'POST'), 403);
    } finally {
      diagnostics_channel.unsubscribe(AUTHZ_AUDIT_CHANNEL, onAudit);
      await handle.close();
    }
    assert.deepEqual(seen.map((m) => [m.policy, m.allowed, m.method, m.path, m.protocol, m.sourceAddress]), [
      ['ns[default]-policy[audit-writes]-rule[0]', true, 'POST', '/items', 'http', '127.0.0.1'],
      ['ns[default]-policy[audit-writes]-rule[0]', false, 'POST', '/secret', 'http', '127.0.0.1'],
    ]);
  });
});
