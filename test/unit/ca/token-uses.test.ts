// Bounded-use join tokens (SPIRE's one-time join tokens; unbounded ones stay Istio's reusable
// service-account-token model): a token's uses are counted by jti, a used-up token is
// MESHLET_ERR_CA_TOKEN, a CSR the CA refuses gives its use back, two requests racing for the last
// use get one certificate, the count survives a CA restart, renewals by certificate do not count,
// and a malformed ledger is MESHLET_ERR_CA_DIR.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { CertificateService } from '../../../src/control/ca/certificate-service.js';
import { TOKEN_USES_FILE, TokenUses } from '../../../src/control/ca/token-uses.js';
import { decodeJoinToken } from '../../../src/security/identity/join-token.js';
import { csrFor, tempDir } from '../../helpers/ca.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const f of cleanup.reverse()) await f(); });
const usedUp = (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_USED' && /already used/.test(e.message);

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

describe('bounded-use join tokens', () => {
  test('a one-time token gets one certificate; a refused CSR does not use it up; the count survives a restart', async () => {
    const { ca, service, dir } = await open();
    const token = await ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews', maxUses: 1 });
    assert.equal(decodeJoinToken(token).maxUses, 1);
    const wrong = await csrFor(['spiffe://cluster.local/ns/default/sa/admin']);
    await assert.rejects(service.createCertificate({ csr: wrong.csr, token }), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
    const [leaf] = await service.createCertificate({ csr: (await csrFor([ID])).csr, token });
    await assert.rejects(service.createCertificate({ csr: (await csrFor([ID])).csr, token }), usedUp);
    // Renewal with the certificate it got is not a token use.
    const renewed = await service.createCertificate({ csr: (await csrFor([ID])).csr, token, peerCertificate: new X509Certificate(leaf!).raw });
    assert.equal(renewed.length, 2);
    await ca.close();
    const again = await open(dir);
    await assert.rejects(again.service.createCertificate({ csr: (await csrFor([ID])).csr, token }), usedUp, 'a restarted CA still knows the token was used');
    // Unbounded tokens are not tracked at all.
    const reusable = await again.ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    for (let i = 0; i < 3; i++) await again.service.createCertificate({ csr: (await csrFor([ID])).csr, token: reusable });
    assert.equal(again.ca.tokenUses.size, 1);
  });

  test('requests racing for the last use: exactly one certificate', async () => {
    const { ca, service } = await open();
    const token = await ca.createJoinToken({ namespace: 'default', serviceAccount: 'reviews', maxUses: 2 });
    const csrs = await Promise.all(Array.from({ length: 6 }, () => csrFor([ID])));
    const results = await Promise.allSettled(csrs.map((c) => service.createCertificate({ csr: c.csr, token })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    for (const r of results) if (r.status === 'rejected') assert.ok(usedUp(r.reason as { code?: string; message: string }));
  });

  test('a bad maxUses is a usage error; a forged "uses" claim never verifies; a malformed ledger is MESHLET_ERR_CA_DIR', async () => {
    const { ca, dir } = await open();
    for (const maxUses of [0, -1, 1.5, 1e9]) await assert.rejects(ca.createJoinToken({ namespace: 'default', serviceAccount: 'x', maxUses }), (e: { code?: string }) => e.code === 'MESHLET_ERR_USAGE');
    const token = await ca.createJoinToken({ namespace: 'default', serviceAccount: 'x', maxUses: 1 });
    const [h, p, sig] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    delete payload['uses'];
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
    await assert.rejects(ca.tokens.verify(forged), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN');
    await writeFile(join(dir, TOKEN_USES_FILE), '{ not json');
    await assert.rejects(TokenUses.open(dir), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_DIR');
    await writeFile(join(dir, TOKEN_USES_FILE), '[]');
    await assert.rejects(TokenUses.open(dir), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_DIR');
  });

  test('entries of expired tokens are dropped', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    let now = 1_000_000;
    const uses = await TokenUses.open(t.dir, () => now);
    await uses.reserve({ jti: 'a', expiresAt: now + 60_000, maxUses: 1 });
    assert.equal(uses.size, 1);
    now += 60_000 + 121_000;
    await uses.reserve({ jti: 'b', expiresAt: now + 60_000, maxUses: 1 });
    assert.equal(uses.size, 1);
  });
});
