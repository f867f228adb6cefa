// Token revocation in the CA (SPIRE's `agent evict` model): a revoked token joins nothing, a
// certificate issued on its authority is not renewed (the SVID carries the token's jti, and so
// does each renewal), other tokens' workloads are untouched, a revocation written into the CA
// directory by another process (`meshlet token revoke --ca-dir`) is seen by a running CA without
// a restart, concurrent writers keep each other's entries, entries go when nothing issued on the
// token's authority can still be valid, and a malformed list is MESHLET_ERR_CA_DIR.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { CertificateService } from '../../../src/control/ca/certificate-service.js';
import { MAX_REVOCATIONS, REVOKED_TOKENS_FILE, TokenRevocations } from '../../../src/control/ca/revocations.js';
import { readTokenId } from '../../../src/control/ca/token-id.js';
import { decodeJoinToken } from '../../../src/security/identity/join-token.js';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { csrFor, tempDir } from '../../helpers/ca.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const f of cleanup.reverse()) await f(); });
const revoked = (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED';
const der = (pem: string) => new X509Certificate(pem).raw;

async function open(dir?: string): Promise<{ ca: CertificateAuthority; service: CertificateService; dir: string }> {
  let d = dir;
  if (!d) {
    const t = await tempDir();
    cleanup.push(t.remove);
    d = t.dir;
  }
  const ca = await CertificateAuthority.open({ dir: d, signerThreads: 0 });
  cleanup.push(() => ca.close());
  return { ca, service: new CertificateService(ca), dir: d };
}

describe('join token revocation', () => {
  test('a revoked token joins nothing and its SVIDs are not renewed; another token\'s workload renews on', async () => {
    const { ca, service } = await open();
    const bad = await ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    const good = await ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    const [leafBad] = await service.createCertificate({ csr: (await csrFor([ID])).csr, token: bad });
    const [leafGood] = await service.createCertificate({ csr: (await csrFor([ID])).csr, token: good });
    // The SVID names the token it was issued on the authority of, and is still a clean X.509-SVID.
    assert.equal(readTokenId(der(leafBad!)), decodeJoinToken(bad).jti);
    assert.deepEqual(lintSvid(leafBad!).problems, []);
    // A renewal carries the jti forward.
    const [renewed] = await service.createCertificate({ csr: (await csrFor([ID])).csr, peerCertificate: der(leafBad!) });
    assert.equal(readTokenId(der(renewed!)), decodeJoinToken(bad).jti);

    const { added, revocation } = await ca.revocations.revoke({ jti: decodeJoinToken(bad).jti, tokenExpiresAt: decodeJoinToken(bad).expiresAt, spiffeId: ID });
    assert.equal(added, true);
    assert.ok(revocation.expiresAt > decodeJoinToken(bad).expiresAt, 'kept while a certificate issued on its authority may still be valid');
    assert.equal((await ca.revocations.revoke({ jti: decodeJoinToken(bad).jti })).added, false, 'revoking twice is one entry');

    await assert.rejects(service.createCertificate({ csr: (await csrFor([ID])).csr, token: bad }), (e: { code?: string; message: string }) => revoked(e) && /join token rejected: revoked/.test(e.message));
    for (const leaf of [leafBad!, renewed!]) {
      await assert.rejects(service.createCertificate({ csr: (await csrFor([ID])).csr, peerCertificate: der(leaf), token: good }), (e: { code?: string; message: string }) => revoked(e) && /not renewed/.test(e.message),
        'the certificate authenticates the renewal, so its token decides (even with a good token alongside)');
    }
    const [again] = await service.createCertificate({ csr: (await csrFor([ID])).csr, peerCertificate: der(leafGood!) });
    assert.equal(readTokenId(der(again!)), decodeJoinToken(good).jti);
    // An SVID signed without a token (no jti) is outside token revocation.
    const plain = await ca.signSvid((await csrFor([ID])).csr, ID);
    assert.equal(readTokenId(der(plain.chain[0]!)), undefined);
  });

  test('a revocation another process writes into the CA directory is refused by the running CA at once; concurrent writers keep both', async () => {
    const { ca, service, dir } = await open();
    const tokens = await Promise.all([1, 2, 3].map(() => ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' })));
    await service.createCertificate({ csr: (await csrFor([ID])).csr, token: tokens[0]! });
    // Two "CLI" processes at once, each with its own view of the directory.
    const [cliA, cliB] = await Promise.all([TokenRevocations.open(dir), TokenRevocations.open(dir)]);
    await Promise.all([cliA.revoke({ jti: decodeJoinToken(tokens[0]!).jti }), cliB.revoke({ jti: decodeJoinToken(tokens[1]!).jti })]);
    assert.equal((await TokenRevocations.open(dir)).size, 2, 'neither write lost the other');
    for (const t of tokens.slice(0, 2)) await assert.rejects(service.createCertificate({ csr: (await csrFor([ID])).csr, token: t }), revoked);
    await service.createCertificate({ csr: (await csrFor([ID])).csr, token: tokens[2]! });
    // A restart reads the same list.
    await ca.close();
    const restarted = await open(dir);
    await assert.rejects(restarted.service.createCertificate({ csr: (await csrFor([ID])).csr, token: tokens[1]! }), revoked);
  });

  test('entries go once nothing issued on the token\'s authority can be valid; bad input is coded', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    let now = 1_000_000_000_000;
    const list = await TokenRevocations.open(t.dir, { maxSvidTtlMs: 24 * 3600_000, now: () => now });
    await list.revoke({ jti: 'short', tokenExpiresAt: now + 3600_000 });
    await list.revoke({ jti: 'long', tokenExpiresAt: now + 7 * 24 * 3600_000 });
    assert.ok(await list.check('short'));
    now += 25 * 3600_000; // past the token (1 h) and the longest SVID (24 h) issued before the revocation
    assert.equal(await list.check('short'), undefined);
    assert.ok(await list.check('long'), 'the token itself is still valid for days');
    assert.deepEqual(list.list().map((e) => e.jti), ['long']);
    const reread = await TokenRevocations.open(t.dir, { maxSvidTtlMs: 24 * 3600_000, now: () => now });
    assert.equal(reread.size, 1, 'expired entries are not read back');

    for (const jti of ['', 'a'.repeat(129), 'no spaces', '../x']) await assert.rejects(list.revoke({ jti }), (e: { code?: string }) => e.code === 'MESHLET_ERR_USAGE', JSON.stringify(jti));
    await writeFile(join(t.dir, REVOKED_TOKENS_FILE), '{ not json');
    await assert.rejects(TokenRevocations.open(t.dir), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_DIR');
    await writeFile(join(t.dir, REVOKED_TOKENS_FILE), '{}');
    await assert.rejects(TokenRevocations.open(t.dir), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_DIR');
    // A running list keeps what it had when the file turns bad, rather than forgetting revocations.
    assert.ok(await list.check('long'));
    assert.equal(MAX_REVOCATIONS, 100_000);
  });
});
