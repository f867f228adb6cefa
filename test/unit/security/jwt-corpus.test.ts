// Bad-token corpus against the jwt_authn runtime built the real way (RequestAuthentication →
// translation → protobuf → client validation → runtime). Every case must be refused with the
// status text Envoy answers with; 0 bypasses, 0 throws.
import assert from 'node:assert/strict';
import { createHmac, createPublicKey } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { exportSPKI, SignJWT } from 'jose';
import { bearer, filterFor, makeIssuer, requestAuthn, view, type Issuer } from '../../helpers/jwt.js';
import type { JwtAuthnFilter, JwtAuthnResult } from '../../../src/security/jwt/filter.js';
import { JWT_STATUS, MAX_TOKEN_BYTES } from '../../../src/security/jwt/index.js';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

let es: Issuer;
let rs: Issuer;
let other: Issuer;
let filter: JwtAuthnFilter;

function refused(r: JwtAuthnResult, text: string, status = 401): void {
  assert.equal(r.ok, false, `expected a refusal (${text}), got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.verdict.status, status);
  assert.equal(r.verdict.body, text);
  assert.match(r.verdict.headers?.['www-authenticate'] ?? '', /^Bearer realm="http:\/\/reviews\.default\.svc\.cluster\.local:9080\/reviews\/1", error="invalid_token"$/);
}

before(async () => {
  es = await makeIssuer('https://es.example.com', 'ES256');
  rs = await makeIssuer('https://rs.example.com', 'RS256');
  other = await makeIssuer('https://es.example.com', 'ES256'); // same issuer and kid, another key
  filter = filterFor([requestAuthn([
    { issuer: es.iss, jwks: es.jwks, audiences: ['reviews'] },
    { issuer: rs.iss, jwks: rs.jwks },
  ])]);
});

describe('jwt_authn: valid and missing tokens', () => {
  it('an ES256 token passes: principal <iss>/<sub>, claims, and the Authorization header is removed', async () => {
    const r = await filter.authenticate(view(bearer(await es.sign({ sub: 'alice', groups: ['dev'] }))));
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.auth?.principal, 'https://es.example.com/alice');
    assert.deepEqual(r.auth?.claims['groups'], ['dev']);
    assert.ok(r.removeHeaders.includes('authorization'));
  });

  it('an RS256 token of the second provider passes', async () => {
    const r = await filter.authenticate(view(bearer(await rs.sign({ sub: 'bob', aud: 'anything' }))));
    assert.equal(r.ok && r.auth?.principal, 'https://rs.example.com/bob');
  });

  it('a token in the access_token query parameter passes; the parameter is removed', async () => {
    const r = await filter.authenticate(view({ query: `x=1&access_token=${await es.sign()}` }));
    assert.equal(r.ok && r.auth?.principal, 'https://es.example.com/alice');
    assert.deepEqual(r.ok && r.removeQueryParams, ['access_token']);
  });

  it('no token passes authentication with no principal (allow_missing)', async () => {
    const r = await filter.authenticate(view());
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.auth, undefined);
  });

  it('an Authorization header without the Bearer prefix is not a token (missing)', async () => {
    const r = await filter.authenticate(view({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }));
    assert.equal(r.ok && r.auth, undefined);
    assert.equal(r.ok, true);
  });

  it('exp within the 60 s clock skew still passes; a CORS preflight bypasses', async () => {
    const r = await filter.authenticate(view(bearer(await es.sign({ exp: now() - 30 }))));
    assert.equal(r.ok, true);
    const pre = await filter.authenticate(view({ method: 'OPTIONS', headers: { authorization: 'Bearer junk', origin: 'https://x', 'access-control-request-method': 'GET' } }));
    assert.equal(pre.ok, true);
  });
});

describe('jwt_authn: the bad-token corpus (every case refused)', () => {
  it('alg none, in any spelling, with or without a signature', async () => {
    const payload = b64({ iss: es.iss, sub: 'mallory', aud: 'reviews', exp: now() + 3600 });
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      refused(await filter.authenticate(view(bearer(`${b64({ alg, typ: 'JWT' })}.${payload}.`))), JWT_STATUS.JwtHeaderNotImplementedAlg);
      refused(await filter.authenticate(view(bearer(`${b64({ alg, kid: es.kid })}.${payload}.c2ln`))), JWT_STATUS.JwtHeaderNotImplementedAlg);
    }
  });

  it('HS256 signed with the RSA public key (PEM, DER and JWK modulus as the HMAC secret)', async () => {
    const pem = await exportSPKI(createPublicKey({ key: rs.publicJwk as never, format: 'jwk' }));
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    const secrets = [Buffer.from(pem), der, Buffer.from(String(rs.publicJwk.n)), Buffer.from(rs.jwks)];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        const token = await new SignJWT({ sub: 'mallory', aud: 'reviews' }).setProtectedHeader({ alg, kid: rs.kid })
          .setIssuer(rs.iss).setExpirationTime('1h').sign(new Uint8Array(secret));
        refused(await filter.authenticate(view(bearer(token))), JWT_STATUS.JwksKidAlgMismatch);
      }
    }
    // Hand-rolled too, so the test does not depend on jose's signer accepting such a key.
    const signingInput = `${b64({ alg: 'HS256', kid: rs.kid })}.${b64({ iss: rs.iss, sub: 'mallory', exp: now() + 60 })}`;
    const sig = createHmac('sha256', pem).update(signingInput).digest('base64url');
    refused(await filter.authenticate(view(bearer(`${signingInput}.${sig}`))), JWT_STATUS.JwksKidAlgMismatch);
  });

  it('an unknown kid', async () => {
    refused(await filter.authenticate(view(bearer(await es.sign({}, { kid: 'not-in-jwks' })))), JWT_STATUS.JwksKidAlgMismatch);
  });

  it('expired beyond the skew, and nbf in the future', async () => {
    refused(await filter.authenticate(view(bearer(await es.sign({ exp: now() - 3600 })))), JWT_STATUS.JwtExpired);
    refused(await filter.authenticate(view(bearer(await es.sign({ nbf: now() + 3600 })))), JWT_STATUS.JwtNotYetValid);
  });

  it('a wrong audience is 403 (Envoy answers JwtAudienceNotAllowed with Forbidden)', async () => {
    const r = await filter.authenticate(view(bearer(await es.sign({ aud: 'ratings' }))));
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual([r.verdict.status, r.verdict.body], [403, JWT_STATUS.JwtAudienceNotAllowed]);
    const noAud = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'ES256', kid: es.kid }).setIssuer(es.iss).setExpirationTime('1h').sign(es.privateKey);
    const r2 = await filter.authenticate(view(bearer(noAud)));
    assert.equal(!r2.ok && r2.verdict.status, 403);
    // jwt_verify_lib compares audiences without scheme and trailing slash.
    assert.equal((await filter.authenticate(view(bearer(await es.sign({ aud: 'https://reviews/' }))))).ok, true);
  });

  it('a wrong or missing issuer, and a valid token of an issuer nobody configured', async () => {
    const stranger = await makeIssuer('https://evil.example.com');
    refused(await filter.authenticate(view(bearer(await stranger.sign()))), JWT_STATUS.JwtUnknownIssuer);
    refused(await filter.authenticate(view(bearer(await es.sign({ iss: 'https://ES.example.com' })))), JWT_STATUS.JwtUnknownIssuer);
    const noIss = await new SignJWT({ sub: 'a', aud: 'reviews' }).setProtectedHeader({ alg: 'ES256', kid: es.kid }).setExpirationTime('1h').sign(es.privateKey);
    refused(await filter.authenticate(view(bearer(noIss))), JWT_STATUS.JwtUnknownIssuer);
  });

  it('malformed: not three parts, bad base64, bad JSON, bad claim types, huge', async () => {
    const good = await es.sign();
    const [h, p, s] = good.split('.') as [string, string, string];
    const cases: Array<[string, string]> = [
      ['x', JWT_STATUS.JwtBadFormat],
      [`${h}.${p}`, JWT_STATUS.JwtBadFormat],
      [`${h}.${p}.${s}.${s}`, JWT_STATUS.JwtBadFormat],
      ['..', JWT_STATUS.JwtHeaderParseError],
      [`${h}*.${p}.${s}`, JWT_STATUS.JwtHeaderParseError],
      [`${h}A.${p}.${s}`, JWT_STATUS.JwtHeaderParseError], // length 1 mod 4
      [`${b64('not json')}.${p}.${s}`, JWT_STATUS.JwtHeaderParseError],
      [`${b64([1, 2])}.${p}.${s}`, JWT_STATUS.JwtHeaderParseError],
      [`${b64({ alg: 7 })}.${p}.${s}`, JWT_STATUS.JwtHeaderBadAlg],
      [`${b64({ alg: 'ES256', kid: 5 })}.${p}.${s}`, JWT_STATUS.JwtHeaderBadKid],
      [`${h}.${p}%.${s}`, JWT_STATUS.JwtPayloadParseError],
      [`${h}.${b64('[]')}.${s}`, JWT_STATUS.JwtPayloadParseError],
      [`${h}.${b64({ iss: es.iss, exp: '9999999999' })}.${s}`, JWT_STATUS.JwtPayloadParseError],
      [`${h}.${b64({ iss: es.iss, aud: [1] })}.${s}`, JWT_STATUS.JwtPayloadParseError],
      [`${h}.${b64({ iss: [es.iss] })}.${s}`, JWT_STATUS.JwtPayloadParseError],
      [`${h}.${p}.`, JWT_STATUS.JwtSignatureParseError],
      [`${h}.${p}.${s}=`, JWT_STATUS.JwtSignatureParseError],
      [`${h}.${p}.${'A'.repeat(MAX_TOKEN_BYTES)}`, JWT_STATUS.JwtBadFormat],
      [`${h}.${b64({ iss: es.iss, pad: 'x'.repeat(MAX_TOKEN_BYTES) })}.${s}`, JWT_STATUS.JwtBadFormat],
    ];
    for (const [token, text] of cases) refused(await filter.authenticate(view(bearer(token))), text);
  });

  it('a tampered payload, a tampered header, a signature from another key with the same kid', async () => {
    const [h, p, s] = (await es.sign({ sub: 'alice' })).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    refused(await filter.authenticate(view(bearer(`${h}.${b64({ ...claims, sub: 'admin' })}.${s}`))), JWT_STATUS.JwtVerificationFail);
    refused(await filter.authenticate(view(bearer(`${b64({ alg: 'ES256', kid: es.kid, x: 1 })}.${p}.${s}`))), JWT_STATUS.JwtVerificationFail);
    refused(await filter.authenticate(view(bearer(await other.sign()))), JWT_STATUS.JwtVerificationFail);
    // ES256 key, RS256 header: no key of that type.
    refused(await filter.authenticate(view(bearer(`${b64({ alg: 'RS256', kid: es.kid })}.${p}.${s}`))), JWT_STATUS.JwksKidAlgMismatch);
  });

  it('one good and one bad token in one request is refused (every token present must verify)', async () => {
    const good = await es.sign();
    const bad = await other.sign();
    refused(await filter.authenticate(view({ headers: { authorization: `Bearer ${good}` }, query: `access_token=${bad}` })), JWT_STATUS.JwtVerificationFail);
    refused(await filter.authenticate(view({ headers: { authorization: `Bearer ${bad}` }, query: `access_token=${good}` })), JWT_STATUS.JwtVerificationFail);
  });

  it('random single-character mutations of a valid token never authenticate as someone (0 bypasses)', async () => {
    const token = await es.sign({ sub: 'alice' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=%*';
    let seed = 42;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    let bypasses = 0;
    let refusals = 0;
    for (let i = 0; i < 300; i++) {
      const at = rand(token.length);
      const c = alphabet[rand(alphabet.length)] as string;
      if (token[at] === c) continue;
      const mutated = token.slice(0, at) + c + token.slice(at + 1);
      const r = await filter.authenticate(view(bearer(mutated)));
      if (r.ok && r.auth) {
        // A base64url tail bit flip can decode to the same bytes; only that may pass, as alice.
        const same = Buffer.from(mutated.split('.')[2] ?? '', 'base64url').equals(Buffer.from(token.split('.')[2] as string, 'base64url'))
          && mutated.split('.').slice(0, 2).join('.') === token.split('.').slice(0, 2).join('.');
        if (!same) bypasses++;
      } else if (!r.ok) refusals++;
    }
    assert.equal(bypasses, 0);
    assert.ok(refusals > 250, `refusals ${refusals}`);
  });

  it('random garbage in every location never throws and never authenticates', async () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const pieces = ['.', '..', 'Bearer ', 'eyJ', '%', '%zz', '=', '&', ';', '"', '\\', 'é', '\u0000', 'A'.repeat(5000), b64({ alg: 'ES256' }), b64({ iss: es.iss })];
    const junk = (): string => Array.from({ length: 1 + rand(8) }, () => pieces[rand(pieces.length)]).join('');
    for (let i = 0; i < 400; i++) {
      const r = await filter.authenticate(view({ headers: { authorization: `Bearer ${junk()}`, cookie: junk() }, query: `access_token=${junk()}&${junk()}` }));
      assert.ok(!(r.ok && r.auth), `authenticated garbage at ${i}`);
      if (!r.ok) assert.ok([401, 403].includes(r.verdict.status));
    }
  });
});
