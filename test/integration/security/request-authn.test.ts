// End to end through the control server: RequestAuthentication + AuthorizationPolicy YAML
// (Istio's "require a JWT" pattern) reach a serving mesh in its inbound listener as jwt_authn
// before RBAC: no token → 403 by the policy (requestPrincipals), a bad token → 401, a valid
// token → the app, which sees the claim header and never the token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { GrpcFixture, waitFor } from '../grpc/fixture.js';
import { makeIssuer, type Issuer } from '../../helpers/jwt.js';

function yaml(issuer: Issuer): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: web-jwt, namespace: default }
spec:
  selector: { matchLabels: { app: web } }
  jwtRules:
  - issuer: ${issuer.iss}
    jwks: '${issuer.jwks}'
    outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: web-require-jwt, namespace: default }
spec:
  selector: { matchLabels: { app: web } }
  rules: [{ from: [{ source: { requestPrincipals: ["${issuer.iss}/*"] } }] }]
`;
}

describe('RequestAuthentication through the control server', () => {
  let fx: GrpcFixture;
  let issuer: Issuer;
  before(async () => {
    issuer = await makeIssuer('https://issuer.example.com');
    fx = await GrpcFixture.start();
    await fx.apply(yaml(issuer));
  });
  after(async () => fx?.close());

  test('missing token → 403 (policy), bad token → 401, valid token → app with the claim header', async () => {
    const { mesh } = await fx.mesh({ service: 'web', labels: { app: 'web' } });
    const seen: Array<{ sub: unknown; auth: unknown }> = [];
    const handle = await mesh.listen((req, res) => {
      seen.push({ sub: req.headers['x-jwt-sub'], auth: req.headers.authorization });
      res.end('ok');
    }, { port: 0 });
    await waitFor(async () => mesh.inbound.mtlsMode(handle.port) !== undefined, 5000, 'inbound listener');
    const call = async (headers: Record<string, string> = {}) => {
      const r = await request(`http://127.0.0.1:${handle.port}/reviews`, { headers });
      return { status: r.statusCode, body: await r.body.text() };
    };
    // The stage compiles (jose loads) asynchronously after the listener arrives.
    await waitFor(async () => (await call({ authorization: 'Bearer x.y.z' })).status === 401, 5000, 'jwt_authn active');
    assert.deepEqual(await call(), { status: 403, body: 'RBAC: access denied' });
    const token = await issuer.sign({ sub: 'alice' });
    assert.deepEqual(await call({ authorization: `Bearer ${token}` }), { status: 200, body: 'ok' });
    const other = await makeIssuer('https://evil.example.com');
    assert.equal((await call({ authorization: `Bearer ${await other.sign({ iss: issuer.iss })}` })).status, 401, 'right issuer name, wrong key');
    assert.deepEqual(seen, [{ sub: 'alice', auth: undefined }]);
    await handle.close();
  });
});
