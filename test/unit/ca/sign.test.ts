// The CA's fast certificate path against the reference library: the DER it writes is what
// @peculiar/x509 writes for the same fields, every certificate lints as an X.509-SVID, and bad
// CSRs are refused with a coded error.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { parseCsr, csrDer } from '../../../src/control/ca/csr.js';
import { readTlv, time } from '../../../src/security/der.js';
import { subjectAltNameExtension } from '../../../src/security/x509.js';
import { lintSvid, lintSvidSignedBy } from '../../../src/security/identity/svid-lint.js';
import { crypto, x509, type CryptoKeyPair } from '../../helpers/x509.js';
import { csrFor, testCa } from '../../helpers/ca.js';
import type { CertificateAuthority } from '../../../src/control/ca/authority.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

function tbsOf(der: Buffer): Buffer {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.body, cert.end);
  return der.subarray(tbs.start, tbs.end);
}

describe('DER writer matches @peculiar/x509', () => {
  test('validity times: UTCTime through 2049, GeneralizedTime from 2050', async () => {
    for (const iso of ['2026-12-02T13:03:16Z', '2049-12-31T23:59:59Z', '2050-01-01T00:00:00Z', '1999-06-01T00:00:00Z']) {
      const ms = Date.parse(iso);
      const ref = new x509.X509Certificate((await refCert(ms)).rawData);
      const der = Buffer.from(ref.rawData);
      const tbs = tbsOf(der);
      assert.ok(tbs.includes(time(ms)), `${iso}: ${time(ms).toString('hex')} not in reference TBS`);
    }
  });

  test('the SAN extension is byte-for-byte @peculiar/x509 SubjectAlternativeNameExtension', () => {
    const ours = subjectAltNameExtension([[0x86, Buffer.from(ID)]]);
    const ref = Buffer.from(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }], true).rawData);
    assert.equal(ours.toString('hex'), ref.toString('hex'));
  });

  test('an issued certificate has the TBS @peculiar/x509 generates for the same fields', async (t) => {
    const { ca, close } = await testCa();
    t.after(close);
    const { csr } = await csrFor([ID]);
    const issued = await ca.signSvid(csr, ID);
    const ours = new x509.X509Certificate(issued.chain[0]!);
    const caCert = new x509.X509Certificate(ca.roots()[0]!);
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const ref = await x509.X509CertificateGenerator.create({
      serialNumber: ours.serialNumber, subject: '', issuer: caCert.subject, notBefore: ours.notBefore, notAfter: ours.notAfter,
      publicKey: ours.publicKey, signingKey: keys.privateKey, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: ours.extensions,
    }, crypto);
    assert.equal(tbsOf(Buffer.from(ours.rawData)).toString('hex'), tbsOf(Buffer.from(ref.rawData)).toString('hex'));
  });
});

async function refCert(ms: number): Promise<x509.X509Certificate> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as never;
  return x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=t', keys, notBefore: new Date(ms), notAfter: new Date(ms + 1000), signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } }, crypto);
}

describe('DER reader', () => {
  test('refuses truncation, long and non-minimal lengths, indefinite form, trailing bytes', () => {
    assert.throws(() => readTlv(Buffer.from('3005020100', 'hex'), 0), /runs past the end/);
    assert.throws(() => readTlv(Buffer.from('3085000000000100', 'hex'), 0), /unsupported length/);
    assert.throws(() => readTlv(Buffer.from('3080', 'hex'), 0), /unsupported length|truncated/);
    assert.throws(() => readTlv(Buffer.from('30810100', 'hex'), 0), /non-minimal/);
    assert.throws(() => parseCsr(Buffer.concat([Buffer.from('3000', 'hex'), Buffer.from([0])])), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_CSR');
  });

  test('reads the key, SANs and signature of a CSR @peculiar/x509 made', async () => {
    const { csr } = await csrFor([ID]);
    const parsed = parseCsr(csrDer(csr));
    const ref = new x509.Pkcs10CertificateRequest(csr);
    assert.equal(parsed.spki.toString('hex'), Buffer.from(ref.publicKey.rawData).toString('hex'));
    assert.deepEqual(parsed.sans.map((s) => [s.tag, s.value.toString()]), [[0x86, ID]]);
    assert.equal(parsed.hash, 'sha256');
  });

  test('garbage of every length is MESHLET_ERR_CA_CSR, never another exception', async () => {
    const { csr } = await csrFor([ID]);
    const der = csrDer(csr);
    for (let len = 0; len < der.length; len += 7) {
      const cut = der.subarray(0, len);
      assert.throws(() => parseCsr(cut), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_CSR', `prefix of ${len} bytes`);
    }
    for (let i = 0; i < 200; i++) {
      const noisy = Buffer.from(der);
      const at = (i * 37) % noisy.length;
      noisy[at] = noisy[at]! ^ (1 + (i % 254));
      try { parseCsr(noisy); } catch (e) { assert.equal((e as { code?: string }).code, 'MESHLET_ERR_CA_CSR'); }
    }
  });
});

/** A CSR (no SANs) for a fresh RSA key of `bits`. */
async function rsaCsr(bits: number): Promise<string> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: bits });
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
  const keys = {
    privateKey: await crypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), alg, false, ['sign']),
    publicKey: await crypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), alg, true, ['verify']),
  };
  return (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg }, crypto)).toString('pem');
}

describe('signing', () => {
  let ca: CertificateAuthority;
  let close: () => Promise<void>;
  before(async () => ({ ca, close } = await testCa()));
  after(() => close());

  test('an EC key gets a valid X.509-SVID: digitalSignature only, EKU server+client, one URI SAN, signed by the root', async () => {
    const { csr } = await csrFor([ID]);
    const { chain, roots } = await ca.signSvid(csr, ID);
    assert.equal(chain.length, 1);
    const lint = await lintSvidSignedBy(chain[0]!, roots[0]!, { spiffeId: ID, trustDomain: 'cluster.local' });
    assert.deepEqual(lint.problems, []);
    const c = new x509.X509Certificate(chain[0]!);
    assert.equal(c.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
    const life = c.notAfter.getTime() - Date.now();
    assert.ok(life > 23.9 * 3600_000 && life <= 24 * 3600_000, `default lifetime 24 h, got ${life} ms`);
    assert.ok(Date.now() - c.notBefore.getTime() >= 119_000, 'notBefore is backdated two minutes (Istio ClockSkewGracePeriod)');
  });

  test('an RSA key gets keyEncipherment as well', async () => {
    const { chain } = await ca.signSvid(await rsaCsr(2048), ID);
    assert.deepEqual(lintSvid(chain[0]!).problems, []);
    assert.equal(new x509.X509Certificate(chain[0]!).getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  });

  test('a CSR asking for another identity or a DNS name is MESHLET_ERR_CA_IDENTITY', async () => {
    const other = await csrFor(['spiffe://cluster.local/ns/default/sa/ratings']);
    await assert.rejects(ca.signSvid(other.csr, ID), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
    const key = other.key;
    const { createCsr } = await import('../../../src/security/identity/keys.js');
    await assert.rejects(ca.signSvid(await createCsr(key, { uris: [ID], dnsNames: ['istiod.istio-system.svc'] }), ID), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
    // No SANs at all: the identity comes from the caller.
    const bare = await createCsr(key, {});
    assert.deepEqual(lintSvid((await ca.signSvid(bare, ID)).chain[0]!, { spiffeId: ID }).problems, []);
  });

  test('a tampered CSR (no proof of possession), a weak key and a too-long lifetime are refused', async () => {
    const { csr } = await csrFor([ID]);
    const der = csrDer(csr);
    const tampered = Buffer.from(der);
    tampered[der.length - 5] = tampered[der.length - 5]! ^ 0xff; // inside the signature
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${tampered.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(ca.signSvid(pem, ID), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_CSR');
    await assert.rejects(ca.signSvid(await rsaCsr(1024), ID), /1024 bits/);
    await assert.rejects(ca.signSvid(csr, ID, 91 * 24 * 3600_000), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_CSR');
  });

  test('the control server certificate names loopback and istiod, for serverAuth only', async () => {
    const { chainPem } = await ca.issueServerCertificate({ dnsNames: ['istiod.istio-system.svc', 'localhost'], ipAddresses: ['127.0.0.1', '::1'] });
    const [leafPem] = chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    const leaf = new X509Certificate(leafPem!);
    assert.equal(leaf.checkHost('istiod.istio-system.svc'), 'istiod.istio-system.svc');
    assert.equal(leaf.checkIP('::1'), '::1');
    assert.ok(leaf.verify(new X509Certificate(ca.roots()[0]!).publicKey));
    assert.ok(chainPem.includes(ca.roots()[0]!.trim()), 'the chain carries the root a token pins');
  });
});
