// The CA's self-signed root, written without @peculiar/x509: node:crypto reads it as a CA for its
// trust domain, it has the TBSCertificate @peculiar/x509's generator (what wrote roots before)
// makes for the same fields, the CA directory loads it back with its trust domain, and leaves
// signed under it (EC and RSA plug-in intermediates included) carry the right key identifiers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPair, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadOrCreateCa, ROOT_TTL_MS, selfSignedRoot } from '../../../src/control/ca/files.js';
import { readTlv } from '../../../src/security/der.js';
import { OID, readCertificate } from '../../../src/security/x509.js';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { crypto, x509 } from '../../helpers/x509.js';
import { csrFor, tempDir, testCa, writePlugInCa } from '../../helpers/ca.js';

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ID = 'spiffe://example.org/ns/default/sa/reviews';

function tbsOf(der: Buffer): string {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.body, cert.end);
  return der.subarray(tbs.start, tbs.end).toString('hex');
}

describe('self-signed root', () => {
  test('node:crypto reads a CA for the trust domain, self-issued and self-signed', async () => {
    const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
    const now = Date.now();
    const root = new X509Certificate(selfSignedRoot(privateKey, 'example.org', now));
    assert.equal(root.ca, true);
    assert.equal(root.subject, 'O=example.org\nCN=meshlet root CA');
    assert.equal(root.issuer, root.subject);
    assert.equal(root.subjectAltName, 'URI:spiffe://example.org');
    assert.ok(root.checkIssued(root) && root.verify(createPublicKey(privateKey)));
    assert.equal(Date.parse(root.validFrom), Math.floor((now - 120_000) / 1000) * 1000);
    assert.equal(Date.parse(root.validTo), Math.floor((now + ROOT_TTL_MS) / 1000) * 1000);
  });

  test('has the TBSCertificate @peculiar/x509 generates for the same fields, and verifies there', async () => {
    const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
    const pem = selfSignedRoot(privateKey, 'cluster.local');
    const ours = new x509.X509Certificate(pem);
    assert.equal(await ours.verify({ signatureOnly: true }, crypto), true);
    const keys = {
      privateKey: await crypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), ECDSA, false, ['sign']),
      publicKey: await crypto.subtle.importKey('spki', createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), ECDSA, true, ['verify']),
    };
    // The call files.ts made before it wrote the DER itself.
    const ref = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: ours.serialNumber, name: [{ O: ['cluster.local'] }, { CN: ['meshlet root CA'] }], notBefore: ours.notBefore, notAfter: ours.notAfter,
      keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://cluster.local' }], false),
      ],
    }, crypto);
    assert.equal(tbsOf(Buffer.from(ours.rawData)), tbsOf(Buffer.from(ref.rawData)));
  });

  test('a P-384 or RSA root key signs with its own algorithm', async () => {
    for (const key of [
      (await promisify(generateKeyPair)('ec', { namedCurve: 'P-384' })).privateKey,
      (await promisify(generateKeyPair)('rsa', { modulusLength: 2048 })).privateKey,
    ]) {
      const root = new X509Certificate(selfSignedRoot(key, 'cluster.local'));
      assert.ok(root.ca && root.verify(createPublicKey(key)), key.asymmetricKeyType);
    }
  });

  test('the CA directory creates it once, reads its trust domain back, and leaves carry its key identifier', async (t) => {
    const { dir, remove } = await tempDir();
    t.after(remove);
    const first = await loadOrCreateCa(dir, { trustDomain: 'example.org' });
    const again = await loadOrCreateCa(dir, {});
    assert.equal(again.trustDomain, 'example.org');
    assert.equal(again.roots[0]!.fingerprint256, first.roots[0]!.fingerprint256);
    assert.ok(createPrivateKey(await readFile(join(dir, 'root-key.pem'), 'utf8')));
    await assert.rejects(loadOrCreateCa(dir, { trustDomain: 'cluster.local' }), /trust domain "example.org"/);

    const { ca, close } = await testCa({ dir });
    t.after(close);
    const { csr } = await csrFor([ID]);
    const leaf = new X509Certificate((await ca.signSvid(csr, ID)).chain[0]!);
    assert.deepEqual(lintSvid(leaf.raw, { spiffeId: ID, trustDomain: 'example.org' }).problems, []);
    const ext = (der: Buffer, oid: string) => readCertificate(der).extensions.find((e) => e.oid === oid)!.value.toString('hex');
    // AKI = SEQUENCE { [0] keyIdentifier } around the root's SKI OCTET STRING contents.
    assert.equal(ext(leaf.raw, OID.authorityKeyIdentifier), `3016${'80' + ext(first.roots[0]!.raw, OID.subjectKeyIdentifier).slice(2)}`);
    assert.ok(leaf.checkIssued(first.roots[0]!) && leaf.verify(first.roots[0]!.publicKey));
  });
});

describe('plug-in intermediates', () => {
  for (const rsa of [false, true]) {
    test(`${rsa ? 'an RSA' : 'an EC'} intermediate signs SVIDs node:crypto verifies up to the root`, async (t) => {
      const { dir, remove } = await tempDir();
      t.after(remove);
      const { caCertPem } = await writePlugInCa(dir, { rsa });
      const { ca, close } = await testCa({ dir });
      t.after(close);
      const { csr } = await csrFor(['spiffe://cluster.local/ns/default/sa/reviews']);
      const { chain } = await ca.signSvid(csr, 'spiffe://cluster.local/ns/default/sa/reviews');
      const leaf = new X509Certificate(chain[0]!);
      const intermediate = new X509Certificate(caCertPem);
      assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey));
      assert.equal(await new x509.X509Certificate(chain[0]!).verify({ publicKey: new x509.X509Certificate(caCertPem).publicKey, signatureOnly: true }, crypto), true);
      assert.deepEqual(lintSvid(chain[0]!).problems, []);
    });
  }

  test('the control server certificate carries an IPv4-mapped IPv6 address node:crypto matches', async (t) => {
    const { ca, close } = await testCa();
    t.after(close);
    const { chainPem } = await ca.issueServerCertificate({ dnsNames: ['localhost'], ipAddresses: ['::ffff:192.0.2.1', '2001:db8::1'] });
    const leaf = new X509Certificate(chainPem);
    assert.equal(leaf.checkIP('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(leaf.checkIP('2001:db8::1'), '2001:db8::1');
    assert.equal(leaf.checkIP('2001:db8::2'), undefined);
  });
});
