// Where tokens come from and what a verified token changes in the request (Envoy's extractor and
// AuthenticatorImpl::handleGoodJwt), plus Istio's multi-provider requirement.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { bearer, filterFor, makeIssuer, requestAuthn, view, type Issuer, type ViewInit } from '../../helpers/jwt.js';
import { JWT_STATUS } from '../../../src/security/jwt/index.js';

let a: Issuer;
let b: Issuer;

before(async () => {
  a = await makeIssuer('https://a.example.com');
  b = await makeIssuer('https://b.example.com', 'RS256');
});

describe('jwt_authn token locations', () => {
  it('fromHeaders with a prefix, fromParams, fromCookies replace the defaults', async () => {
    const f = filterFor([requestAuthn([{ issuer: a.iss, jwks: a.jwks, fromHeaders: [{ name: 'X-Jwt', prefix: 'Token ' }], fromParams: ['jwt'], fromCookies: ['session'] }])]);
    const t = await a.sign();
    const inits: ViewInit[] = [{ headers: { 'x-jwt': `Token ${t}` } }, { query: `jwt=${t}` }, { headers: { cookie: `theme=dark; session=${t}` } }, { headers: { cookie: `session="${t}"` } }];
    for (const init of inits) {
      const r = await f.authenticate(view(init));
      assert.equal(r.ok && r.auth?.principal, 'https://a.example.com/alice', JSON.stringify(init));
    }
    // The defaults are gone: Authorization and access_token are not looked at.
    const r = await f.authenticate(view({ ...bearer('garbage'), query: 'access_token=garbage' }));
    assert.equal(r.ok && r.auth, undefined);
    assert.equal(r.ok, true);
    // A header without its prefix is not this location's token; a wrong one in place is refused.
    assert.equal((await f.authenticate(view({ headers: { 'x-jwt': t } }))).ok, true);
    const bad = await f.authenticate(view({ headers: { 'x-jwt': 'Token abc' } }));
    assert.equal(!bad.ok && bad.verdict.body, JWT_STATUS.JwtBadFormat);
  });

  it('a header location without a prefix takes the whole value', async () => {
    const f = filterFor([requestAuthn([{ issuer: a.iss, jwks: a.jwks, fromHeaders: [{ name: 'x-token' }] }])]);
    const r = await f.authenticate(view({ headers: { 'x-token': await a.sign() } }));
    assert.equal(r.ok && r.auth?.principal, 'https://a.example.com/alice');
    assert.deepEqual(r.ok && r.removeHeaders, ['x-token']);
  });

  it('a token is removed after verification unless forwardOriginalToken; cookies stay', async () => {
    const keep = filterFor([requestAuthn([{ issuer: a.iss, jwks: a.jwks, forwardOriginalToken: true }])]);
    const r = await keep.authenticate(view(bearer(await a.sign())));
    assert.deepEqual(r.ok && [r.removeHeaders, r.removeQueryParams], [[], []]);
    const cookie = filterFor([requestAuthn([{ issuer: a.iss, jwks: a.jwks, fromCookies: ['s'] }])]);
    const c = await cookie.authenticate(view({ headers: { cookie: `s=${await a.sign()}` } }));
    assert.deepEqual(c.ok && c.removeHeaders, []);
  });

  it('outputClaimToHeaders and outputPayloadToHeader; client-sent copies are always stripped', async () => {
    const f = filterFor([requestAuthn([{
      issuer: a.iss, jwks: a.jwks, outputPayloadToHeader: 'x-jwt-payload',
      outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }, { header: 'x-n', claim: 'n' }, { header: 'x-admin', claim: 'admin' },
        { header: 'x-team', claim: 'org.team' }, { header: 'x-evil', claim: 'evil' }, { header: 'x-list', claim: 'groups' }],
    }])]);
    const token = await a.sign({ n: 42, admin: false, org: { team: 'core' }, evil: 'a\r\nx-injected: 1', groups: ['g'] });
    const r = await f.authenticate(view(bearer(token)));
    assert.equal(r.ok, true);
    if (!r.ok) return;
    const set = Object.fromEntries(r.setHeaders);
    assert.deepEqual(set, { 'x-jwt-payload': token.split('.')[1], 'x-sub': 'alice', 'x-n': '42', 'x-admin': 'false', 'x-team': 'core' });
    for (const h of ['x-jwt-payload', 'x-sub', 'x-n', 'x-admin', 'x-team', 'x-evil', 'x-list', 'authorization']) assert.ok(r.removeHeaders.includes(h), h);
    // Without a token the spoofable headers are still removed and nothing is set.
    const none = await f.authenticate(view({ headers: { 'x-sub': 'admin' } }));
    assert.ok(none.ok && none.removeHeaders.includes('x-sub') && none.setHeaders.length === 0);
  });
});

describe('jwt_authn with several issuers (Istio: P1 OR P2 OR AND{P1|missing, P2|missing})', () => {
  it('either issuer passes on the shared default location; a bad token of either is refused', async () => {
    const f = filterFor([requestAuthn([{ issuer: b.iss, jwks: b.jwks }]), requestAuthn([{ issuer: a.iss, jwks: a.jwks }], 'second')]);
    assert.equal((await f.authenticate(view(bearer(await a.sign({ sub: 'x' }))))).ok, true);
    const rb = await f.authenticate(view(bearer(await b.sign({ sub: 'y' }))));
    assert.equal(rb.ok && rb.auth?.principal, 'https://b.example.com/y');
    const forged = await makeIssuer(a.iss, 'ES256', a.kid);
    const r = await f.authenticate(view(bearer(await forged.sign())));
    assert.equal(!r.ok && r.verdict.body, JWT_STATUS.JwtVerificationFail);
    assert.equal((await f.authenticate(view())).ok, true);
  });

  it('a token at one issuer\'s own header cannot claim the other issuer', async () => {
    const f = filterFor([requestAuthn([
      { issuer: a.iss, jwks: a.jwks, fromHeaders: [{ name: 'x-a' }] },
      { issuer: b.iss, jwks: b.jwks, fromHeaders: [{ name: 'x-b' }] },
    ])]);
    const r = await f.authenticate(view({ headers: { 'x-a': await b.sign() } }));
    assert.equal(!r.ok && r.verdict.body, JWT_STATUS.JwtUnknownIssuer);
    const ok = await f.authenticate(view({ headers: { 'x-a': await a.sign(), 'x-b': await b.sign({ sub: 'bob' }) } }));
    assert.equal(ok.ok, true);
  });

  it('an inline JWKS that is not JSON, or has no keys, fails its tokens closed', async () => {
    for (const jwks of ['not json', '{"keys":"x"}', '{"keys":[]}', '{"keys":[{"kty":"EC"}]}']) {
      const f = filterFor([requestAuthn([{ issuer: a.iss, jwks }])]);
      const r = await f.authenticate(view(bearer(await a.sign())));
      assert.equal(r.ok, false, jwks);
      assert.equal((await f.authenticate(view())).ok, true);
    }
  });
});

describe('jwt_authn verified-token cache (Envoy jwt_cache_config)', () => {
  it('a repeated token hits the cache but is still checked for time and location', async () => {
    let clock = Date.now();
    const f = filterFor([requestAuthn([
      { issuer: a.iss, jwks: a.jwks, fromHeaders: [{ name: 'x-a' }] },
      { issuer: b.iss, jwks: b.jwks, fromHeaders: [{ name: 'x-b' }] },
    ])], undefined, () => clock);
    const token = await a.sign({ sub: 'carol', exp: Math.floor(clock / 1000) + 120 });
    for (let i = 0; i < 3; i++) {
      const r = await f.authenticate(view({ headers: { 'x-a': token } }));
      assert.equal(r.ok && r.auth?.principal, 'https://a.example.com/carol');
      assert.deepEqual(r.ok && r.removeHeaders, ['x-a']);
    }
    // The same (cached) token at the other issuer's location is not accepted there.
    const elsewhere = await f.authenticate(view({ headers: { 'x-b': token } }));
    assert.equal(!elsewhere.ok && elsewhere.verdict.body, JWT_STATUS.JwtUnknownIssuer);
    clock += 200_000; // past exp + 60 s skew
    const late = await f.authenticate(view({ headers: { 'x-a': token } }));
    assert.equal(!late.ok && late.verdict.body, JWT_STATUS.JwtExpired);
  });
});

describe('jwt_authn requirements beyond Istio\'s (raw Envoy configs)', () => {
  it('a required provider refuses a missing token with "Jwt is missing" and no invalid_token; rules pick by path', async () => {
    const { packAny: encodeAny } = await import('../../../src/xds/wire/any.js');
    const { TYPE_URL } = await import('../../../src/xds/type-urls.js');
    const { filterConfig } = await import('../../../src/xds/resources/filters.js');
    const { JwtAuthnFilter } = await import('../../../src/security/jwt/filter.js');
    const errors: string[] = [];
    const config = filterConfig(encodeAny(TYPE_URL.jwtAuthn, {
      providers: { a: { issuer: a.iss, local_jwks: { inline_string: a.jwks } } },
      rules: [
        { match: { prefix: '/public' } },
        { match: { path: '/both' }, requires: { requires_all: { requirements: [{ provider_name: 'a' }, { allow_missing: {} }] } } },
        { match: { prefix: '/' }, requires: { provider_and_audiences: { provider_name: 'a', audiences: ['api'] } } },
      ],
    }), 'f', errors);
    const { jwtOf } = await import('../../../src/security/jwt/stage.js');
    const model = config && jwtOf([{ name: 'jwt', typeUrl: config.typeUrl, config }]);
    assert.ok(model, errors.join('; '));
    const f = new JwtAuthnFilter(model);
    const missing = f.authenticate(view());
    assert.ok(!(missing instanceof Promise), 'no token: answered synchronously');
    assert.equal(!missing.ok && missing.verdict.body, JWT_STATUS.JwtMissed);
    assert.equal(!missing.ok && missing.verdict.headers?.['www-authenticate'], 'Bearer realm="http://reviews.default.svc.cluster.local:9080/reviews/1"');
    assert.equal((await f.authenticate(view({ path: '/public/x' }))).ok, true);
    const both = await f.authenticate(view({ path: '/both' }));
    assert.equal(!both.ok && both.verdict.body, JWT_STATUS.JwtMissed);
    assert.equal((await f.authenticate(view({ ...bearer(await a.sign({ aud: 'api' })) }))).ok, true);
    const wrongAud = await f.authenticate(view({ ...bearer(await a.sign({ aud: 'reviews' })) }));
    assert.equal(!wrongAud.ok && wrongAud.verdict.status, 403);
  });
});
