// jwksUri against a real HTTP server on port 0: keys fetched once and cached, a JWKS endpoint
// that is down, slow, or answers garbage fails every token closed (401 "Jwks remote fetch is
// failed" or a JWKS status), and a token with no token still passes authentication.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bearer, filterFor, makeIssuer, requestAuthn, view, type Issuer } from '../../helpers/jwt.js';
import { JWT_STATUS, JwksCache, MAX_JWKS_RESPONSE_BYTES } from '../../../src/security/jwt/index.js';

let issuer: Issuer;
let server: Server;
let base = '';
const hits = new Map<string, number>();
const hanging: Array<() => void> = [];

before(async () => {
  issuer = await makeIssuer('https://remote.example.com', 'RS256');
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    switch (path.split('?')[0]) {
      case '/jwks': res.setHeader('content-type', 'application/json').end(issuer.jwks); break;
      case '/garbage': res.end('<html>not json</html>'); break;
      case '/no-keys': res.setHeader('content-type', 'application/json').end('{"issuer":"x"}'); break;
      case '/bad-keys': res.end('{"keys":[{"kty":"RSA","n":"!!","e":"AQAB","kid":"RS256-1"}]}'); break;
      case '/error': res.statusCode = 500; res.end(issuer.jwks); break;
      case '/redirect': res.statusCode = 302; res.setHeader('location', `${base}/jwks`); res.end(); break;
      case '/huge': {
        res.write('{"keys":[');
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent <= MAX_JWKS_RESPONSE_BYTES * 2) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end(']}');
        };
        pump();
        break;
      }
      case '/hang': hanging.push(() => res.destroy()); break;
      default: res.statusCode = 404; res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  for (const h of hanging) h();
  server.closeAllConnections();
  server.close();
});

const rule = (path: string, timeout?: string) => requestAuthn([{ issuer: issuer.iss, jwksUri: `${base}${path}`, ...(timeout ? { timeout } : {}) }]);

describe('jwt_authn remote JWKS', () => {
  it('fetches the JWKS once and verifies from the cache after (also across recompiles)', async () => {
    const cache = new JwksCache();
    const f = filterFor([rule('/jwks')], cache);
    for (let i = 0; i < 5; i++) {
      const r = await f.authenticate(view(bearer(await issuer.sign({ sub: `u${i}` }))));
      assert.equal(r.ok && r.auth?.principal, `https://remote.example.com/u${i}`);
    }
    const again = filterFor([rule('/jwks')], cache);
    assert.equal((await again.authenticate(view(bearer(await issuer.sign())))).ok, true);
    assert.equal(hits.get('/jwks'), 1);
  });

  it('unknown kids are refused without refetching inside the 30 s cooldown (no kid flood)', async () => {
    const f = filterFor([requestAuthn([{ issuer: issuer.iss, jwksUri: `${base}/jwks?kid` }])]);
    assert.equal((await f.authenticate(view(bearer(await issuer.sign())))).ok, true);
    for (let i = 0; i < 20; i++) {
      const r = await f.authenticate(view(bearer(await issuer.sign({}, { kid: `rotated-${i}` }))));
      assert.deepEqual(!r.ok && [r.verdict.status, r.verdict.body], [401, JWT_STATUS.JwksKidAlgMismatch]);
    }
    assert.equal(hits.get('/jwks?kid'), 1);
  });

  it('concurrent first requests share one fetch', async () => {
    const f = filterFor([requestAuthn([{ issuer: issuer.iss, jwksUri: `${base}/jwks?c` }])]);
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => issuer.sign({ sub: `c${i}` })));
    const results = await Promise.all(tokens.map((t) => f.authenticate(view(bearer(t)))));
    assert.ok(results.every((r) => r.ok && r.auth));
    assert.equal(hits.get('/jwks?c'), 1);
  });

  it('an endpoint that is down fails closed; no token still passes', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const port = (dead.address() as AddressInfo).port;
    dead.close();
    await once(dead, 'close');
    const f = filterFor([requestAuthn([{ issuer: issuer.iss, jwksUri: `http://127.0.0.1:${port}/jwks` }])]);
    const r = await f.authenticate(view(bearer(await issuer.sign())));
    assert.deepEqual(!r.ok && [r.verdict.status, r.verdict.body], [401, JWT_STATUS.JwksFetchFail]);
    assert.equal((await f.authenticate(view())).ok, true);
  });

  it('garbage, no keys, bad keys, a 500, a redirect, an oversized body: all fail closed', async () => {
    for (const path of ['/garbage', '/no-keys', '/bad-keys', '/error', '/redirect', '/huge', '/missing']) {
      const f = filterFor([rule(path)]);
      const r = await f.authenticate(view(bearer(await issuer.sign())));
      assert.equal(r.ok, false, path);
      if (!r.ok) assert.equal(r.verdict.status, 401, path);
    }
  });

  it('a JWKS endpoint that never answers is cut off at the rule timeout', async () => {
    const f = filterFor([rule('/hang', '0.2s')]);
    const r = await f.authenticate(view(bearer(await issuer.sign())));
    assert.deepEqual(!r.ok && [r.verdict.status, r.verdict.body], [401, JWT_STATUS.JwksFetchFail]);
  });
});
