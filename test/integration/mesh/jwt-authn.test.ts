// RequestAuthentication end to end through the mesh's one inbound policy, for HTTP (mesh.listen)
// and gRPC (mesh.grpc.createServer): the filter config travels the real path (translation →
// protobuf Any → client validation) into the mesh's jwt stage; a valid token passes and the app
// sees its principal and claim headers (never the token), an invalid one is 401 /
// UNAUTHENTICATED with Envoy's text, a missing one passes authentication and is then denied by an
// authorization stage that requires a request principal (Istio's requestPrincipals: ["*"]).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, SVC, SvcClient, handlers, failure, unary } from '../grpc/fixture.js';
import { INBOUND_PHASE, type Mesh } from '../../../src/index.js';
import type { MeshGrpcServer } from '../../../src/grpc/index.js';
import type { JwtAuthnStage } from '../../../src/security/jwt/stage.js';
import { requestAuthnFilter } from '../../../src/control/translate/jwt-authn.js';
import { filterConfig } from '../../../src/xds/resources/filters.js';
import { makeIssuer, requestAuthn, type Issuer } from '../../helpers/jwt.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject);
  });
}

describe('RequestAuthentication through the inbound policy (HTTP and gRPC)', () => {
  let fx: GrpcFixture;
  let mesh: Mesh;
  let server: MeshGrpcServer;
  let issuer: Issuer;
  let httpPort = 0;
  let grpcPort = 0;
  const seen: Array<{ url: string; principal?: string; authorization?: string; sub?: string }> = [];

  before(async () => {
    issuer = await makeIssuer('https://issuer.example.com');
    fx = await GrpcFixture.start();
    ({ mesh } = await fx.mesh({ service: 'reviews', labels: { app: 'reviews' } }));
    const filter = requestAuthnFilter([requestAuthn([{ issuer: issuer.iss, jwks: issuer.jwks, outputClaimToHeaders: [{ header: 'x-jwt-sub', claim: 'sub' }] }])]);
    const errors: string[] = [];
    const config = filterConfig(filter?.typed_config, 'http_filters[0].typed_config', errors);
    assert.equal(config?.kind, 'extension', errors.join('; '));
    const jwt = (mesh as unknown as { jwt: JwtAuthnStage }).jwt;
    jwt.updateFromFilters([{ name: 'envoy.filters.http.jwt_authn', typeUrl: config!.typeUrl, config: config! }]);
    // An authorization stage standing in for RBAC: /private needs a request principal.
    mesh.inbound.policy.use({
      name: 'test-rbac',
      onRequest: ({ view }) => (view.path.startsWith('/private') || view.path.endsWith('/Slow')) && !view.auth ? { status: 403, body: 'RBAC: access denied' } : undefined,
    }, INBOUND_PHASE.authz);
    httpPort = (await mesh.listen((req, res) => {
      const principal = mesh.inbound.context(req)?.view?.auth?.principal;
      seen.push({ url: req.url ?? '', ...(principal ? { principal } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(req.headers['x-jwt-sub'] ? { sub: String(req.headers['x-jwt-sub']) } : {}) });
      res.end('app');
    }, { port: 0, servicePort: 9080 })).port;
    server = mesh.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
    server.server.addService(SVC, handlers({ name: 'reviews', behaviour: { slowMs: 1 }, calls: 0 }));
    grpcPort = await server.bind('127.0.0.1:0');
  });

  after(async () => {
    await server?.close();
    await fx?.close();
  });

  test('HTTP: a valid token passes; the app sees the principal and the claim header, not the token', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const r = await get(httpPort, '/private/x', { authorization: `Bearer ${token}`, 'x-jwt-sub': 'mallory' });
    assert.deepEqual([r.status, r.body], [200, 'app']);
    assert.deepEqual(seen.at(-1), { url: '/private/x', principal: 'https://issuer.example.com/alice', sub: 'alice' });
    const q = await get(httpPort, `/reviews/1?a=1&access_token=${token}`);
    assert.equal(q.status, 200);
    assert.equal(seen.at(-1)?.url, '/reviews/1?a=1', 'the token parameter is removed');
  });

  test('HTTP: an invalid token is 401 with Envoy\'s body and WWW-Authenticate; the app never runs', async () => {
    const before = seen.length;
    const forged = await (await makeIssuer(issuer.iss, 'ES256', issuer.kid)).sign();
    const r = await get(httpPort, '/reviews/1', { authorization: `Bearer ${forged}` });
    assert.deepEqual([r.status, r.body], [401, 'Jwt verification fails']);
    assert.equal(r.headers['www-authenticate'], `Bearer realm="http://127.0.0.1:${httpPort}/reviews/1", error="invalid_token"`);
    const expired = await get(httpPort, '/reviews/1', { authorization: `Bearer ${await issuer.sign({ exp: Math.floor(Date.now() / 1000) - 3600 })}` });
    assert.deepEqual([expired.status, expired.body], [401, 'Jwt is expired']);
    const none = await get(httpPort, '/reviews/1', { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.' });
    assert.equal(none.status, 401);
    assert.equal(seen.length, before);
  });

  test('HTTP: a missing token passes authentication; a policy requiring a principal then denies', async () => {
    const open = await get(httpPort, '/reviews/1', { 'x-jwt-sub': 'mallory' });
    assert.equal(open.status, 200);
    assert.deepEqual(seen.at(-1), { url: '/reviews/1' }, 'no principal, and the spoofed claim header is gone');
    assert.deepEqual(await get(httpPort, '/private/x').then((r) => [r.status, r.body]), [403, 'RBAC: access denied']);
  });

  test('gRPC: valid passes with the claim in metadata and no token; invalid is UNAUTHENTICATED; missing passes authn', async () => {
    const client = new SvcClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      const ok = await unary(client, { authorization: `Bearer ${await issuer.sign({ sub: 'bob' })}`, 'x-jwt-sub': 'mallory' });
      assert.equal(ok.metadata?.['x-jwt-sub'], 'bob');
      assert.equal(ok.metadata?.['authorization'], undefined);
      const bad = await failure(unary(client, { authorization: 'Bearer not.a.jwt' }));
      assert.equal(bad.code, grpc.status.UNAUTHENTICATED);
      assert.equal(bad.details, 'Jwt header is an invalid Base64url input or an invalid JSON');
      const missing = await unary(client, {});
      assert.equal(missing.from, 'reviews');
      assert.equal(missing.metadata?.['x-jwt-sub'], undefined);
      const denied = await failure(unary(client, {}, {}, 'Slow'));
      assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
      assert.equal((await unary(client, { authorization: `Bearer ${await issuer.sign()}` }, {}, 'Slow')).from, 'reviews');
    } finally {
      client.close();
    }
  });

  test('removing the config takes the stage out of the policy', async () => {
    const jwt = (mesh as unknown as { jwt: JwtAuthnStage }).jwt;
    jwt.updateFromFilters([]);
    assert.equal(jwt.current(9080), undefined);
    const r = await get(httpPort, '/reviews/1', { authorization: 'Bearer garbage' });
    assert.equal(r.status, 200);
  });
});
