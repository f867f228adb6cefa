// Join tokens: what the CA accepts and refuses, and that the certificate service grants exactly
// the identity the token names.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { CertificateService } from '../../../src/control/ca/certificate-service.js';
import { JoinTokens } from '../../../src/control/ca/tokens.js';
import type { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { decodeJoinToken, JOIN_TOKEN_TYPE } from '../../../src/security/identity/join-token.js';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { csrFor, testCa } from '../../helpers/ca.js';

const tokenRejected = (why?: RegExp) => (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_TOKEN' && (!why || why.test(e.message));
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('join tokens', () => {
  let ca: CertificateAuthority;
  let close: () => Promise<void>;
  before(async () => ({ ca, close } = await testCa()));
  after(() => close());

  test('a token carries ns, sa, trust domain, expiry, a jti and the root fingerprint, and verifies', async () => {
    const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews', ttlMs: 3600_000 });
    const claims = decodeJoinToken(token);
    assert.equal(claims.spiffeId, 'spiffe://cluster.local/ns/default/sa/reviews');
    assert.equal(claims.rootFingerprint, ca.rootFingerprint);
    assert.match(claims.jti, /^[\w-]{22}$/);
    assert.ok(Math.abs(claims.expiresAt - claims.issuedAt - 3600_000) < 1000);
    assert.deepEqual(await ca.tokens.verify(token), claims);
    const other = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
    assert.notEqual(decodeJoinToken(other).jti, claims.jti);
  });

  test('a jti never starts with "-" (the CLI would read it as an option): 1 in 64 did', async () => {
    // Without the fix, 500 tokens all missing a leading '-' has probability (63/64)^500 ≈ 0.04%.
    const ids = await Promise.all(Array.from({ length: 500 }, async () => decodeJoinToken(await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' })).jti));
    for (const jti of ids) assert.match(jti, /^[A-Za-z0-9][\w-]{21}$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('expired', async () => {
    const past = new JoinTokens((ca as unknown as { material: { tokenKey: never } }).material.tokenKey, 'cluster.local', ca.rootFingerprint, () => Date.now() - 2 * 3600_000);
    const token = await past.create({ namespace: 'default', serviceAccount: 'reviews', ttlMs: 3600_000 });
    await assert.rejects(ca.tokens.verify(token), tokenRejected(/expired/));
  });

  test('for another trust domain, signed by the same key', async () => {
    const foreign = new JoinTokens((ca as unknown as { material: { tokenKey: never } }).material.tokenKey, 'example.org', ca.rootFingerprint);
    await assert.rejects(ca.tokens.verify(await foreign.create({ namespace: 'default', serviceAccount: 'reviews' })), tokenRejected(/trust domain "example.org"/));
  });

  test('tampered payload, alg none, HS256 with the public key as secret, wrong key, wrong typ, garbage', async () => {
    const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    await assert.rejects(ca.tokens.verify(`${h}.${b64({ ...payload, sa: 'admin', sub: 'spiffe://cluster.local/ns/default/sa/admin' })}.${s}`), tokenRejected(/signature/));
    await assert.rejects(ca.tokens.verify(`${b64({ alg: 'none', typ: JOIN_TOKEN_TYPE })}.${p}.`), tokenRejected());
    const publicPem = createPublicKey((ca as unknown as { material: { tokenKey: never } }).material.tokenKey).export({ type: 'spki', format: 'pem' });
    const hsHead = b64({ alg: 'HS256', typ: JOIN_TOKEN_TYPE });
    const hsSig = createHmac('sha256', publicPem).update(`${hsHead}.${p}`).digest('base64url');
    await assert.rejects(ca.tokens.verify(`${hsHead}.${p}.${hsSig}`), tokenRejected(/algorithm/));
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = await new JoinTokens(stranger, 'cluster.local', ca.rootFingerprint).create({ namespace: 'default', serviceAccount: 'reviews' });
    await assert.rejects(ca.tokens.verify(forged), tokenRejected(/signature/));
    const wrongTyp = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).sign((ca as unknown as { material: { tokenKey: never } }).material.tokenKey);
    await assert.rejects(ca.tokens.verify(wrongTyp), tokenRejected(/typ/));
    for (const junk of ['', 'x', 'a.b.c', '.'.repeat(3), 'e'.repeat(5000)]) await assert.rejects(ca.tokens.verify(junk), tokenRejected());
    assert.throws(() => decodeJoinToken('a.b.c'), tokenRejected());
  });

  test('invalid names and lifetimes are usage errors at creation', async () => {
    await assert.rejects(ca.tokens.create({ namespace: 'Default', serviceAccount: 'x' }), /DNS-1123/);
    await assert.rejects(ca.tokens.create({ namespace: 'default', serviceAccount: 'x', ttlMs: 1000 }), /between 1 minute and 365 days/);
  });
});

describe('certificate service', () => {
  let ca: CertificateAuthority;
  let service: CertificateService;
  let close: () => Promise<void>;
  before(async () => {
    ({ ca, close } = await testCa());
    service = new CertificateService(ca);
  });
  after(() => close());

  test('a token grants its own identity, in Istio cert_chain order (leaf…, root bundle last)', async () => {
    const id = 'spiffe://cluster.local/ns/default/sa/reviews';
    const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
    const chain = await service.createCertificate({ csr: (await csrFor([id])).csr, token });
    assert.equal(chain.length, 2);
    assert.deepEqual(lintSvid(chain[0]!, { spiffeId: id }).problems, []);
    assert.equal(chain[1], ca.roots().join(''));
  });

  test('a token used for another service account is refused', async () => {
    const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
    const { csr } = await csrFor(['spiffe://cluster.local/ns/default/sa/admin']);
    await assert.rejects(service.createCertificate({ csr, token }), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
    const otherNs = await csrFor(['spiffe://cluster.local/ns/kube-system/sa/reviews']);
    await assert.rejects(service.createCertificate({ csr: otherNs.csr, token }), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
  });

  test('a client certificate renews its own identity; none and no token is unauthenticated', async () => {
    const id = 'spiffe://cluster.local/ns/default/sa/reviews';
    const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
    const [leaf] = await service.createCertificate({ csr: (await csrFor([id])).csr, token });
    const { X509Certificate } = await import('node:crypto');
    const caller = await service.authenticate({ csr: '', peerCertificate: new X509Certificate(leaf!).raw });
    // The SVID names the token it was issued on the authority of; the renewal carries it on.
    assert.deepEqual(caller, { spiffeId: id, via: 'client-certificate', jti: decodeJoinToken(token).jti });
    await assert.rejects(service.createCertificate({ csr: (await csrFor([id])).csr }), tokenRejected(/no join token/));
  });
});
