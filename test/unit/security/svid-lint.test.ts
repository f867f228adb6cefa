// SVID lint: a valid X.509-SVID passes, and each SPIFFE X509-SVID rule has a certificate that
// breaks it and is caught.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { parseSpiffeId, parseWorkloadSpiffeId } from '../../../src/security/identity/spiffe-id.js';
import { crypto, x509, type CryptoKeyPair } from '../../helpers/x509.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
let keys: CryptoKeyPair;
before(async () => { keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair; });

const good = () => ({
  basic: new x509.BasicConstraintsExtension(false, undefined, true) as x509.Extension,
  usage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true) as x509.Extension,
  eku: new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]) as x509.Extension,
  san: new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }], true) as x509.Extension,
});

async function cert(change: (e: ReturnType<typeof good>) => Partial<ReturnType<typeof good>> = () => ({})): Promise<string> {
  const ext = { ...good(), ...change(good()) };
  const c = await x509.X509CertificateGenerator.create({
    subject: '', issuer: 'CN=test CA', publicKey: keys.publicKey, signingKey: keys.privateKey, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - 1000), notAfter: new Date(Date.now() + 3600_000),
    extensions: Object.values(ext).filter((e): e is x509.Extension => e !== undefined),
  }, crypto);
  return c.toString('pem');
}

const problems = async (change: Parameters<typeof cert>[0], options = {}) => lintSvid(await cert(change), options).problems.join('\n');

describe('lintSvid', () => {
  test('a valid SVID has no problems and yields its SPIFFE ID', async () => {
    assert.deepEqual(lintSvid(await cert(), { spiffeId: ID, trustDomain: 'cluster.local' }), { spiffeId: ID, problems: [] });
  });

  test('two URI SANs', async () => {
    assert.match(await problems(() => ({ san: new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }, { type: 'url', value: 'spiffe://cluster.local/ns/default/sa/admin' }], true) })), /exactly one URI SAN, found 2/);
  });

  test('no URI SAN, or no SAN extension', async () => {
    assert.match(await problems(() => ({ san: new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'reviews' }], true) })), /found 0/);
    assert.match(await problems(() => ({ san: undefined })), /subject alternative name extension is missing/);
  });

  test('a CA leaf (cA=true) and a missing basic constraints extension', async () => {
    assert.match(await problems(() => ({ basic: new x509.BasicConstraintsExtension(true, undefined, true) })), /cA=true/);
    assert.match(await problems(() => ({ basic: undefined })), /basic constraints extension is missing/);
  });

  test('keyCertSign, cRLSign, no digitalSignature, non-critical key usage, keyEncipherment on an EC key', async () => {
    assert.match(await problems(() => ({ usage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true) })), /keyCertSign/);
    assert.match(await problems(() => ({ usage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign, true) })), /cRLSign/);
    assert.match(await problems(() => ({ usage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true) })), /lacks digitalSignature/);
    assert.match(await problems(() => ({ usage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, false) })), /must be critical/);
    assert.match(await problems(() => ({ usage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true) })), /keyEncipherment is set on a non-RSA key/);
  });

  test('EKU without clientAuth, or missing', async () => {
    assert.match(await problems(() => ({ eku: new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]) })), /lacks clientAuth/);
    assert.match(await problems(() => ({ eku: undefined })), /extended key usage extension is missing/);
  });

  test('empty subject with a non-critical SAN', async () => {
    assert.match(await problems(() => ({ san: new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }], false) })), /must be critical/);
  });

  test('bad SPIFFE IDs', async () => {
    const cases: Array<[string, RegExp]> = [
      ['spiffe://Cluster.local/ns/default/sa/x', /lowercase/],
      ['SPIFFE://cluster.local/ns/default/sa/x', /must start with "spiffe:\/\/"/],
      ['https://cluster.local/ns/default/sa/x', /must start with "spiffe:\/\/"/],
      ['spiffe://cluster.local', /with a path/],
      ['spiffe://cluster.local/ns/default/sa/x/', /empty segment|trailing/],
      ['spiffe://cluster.local/ns/../sa/x', /"\." or "\.\."/],
      ['spiffe://cluster.local/ns//sa/x', /empty segment/],
      ['spiffe://cluster.local/ns/default/sa/x?admin=1', /may contain only/],
      ['spiffe://cluster.local:8443/ns/default/sa/x', /may contain only/],
      ['spiffe://user@cluster.local/ns/default/sa/x', /may contain only/],
      ['spiffe://cluster.local/ns/default/sa/%41', /may contain only/],
      ['spiffe:///ns/default/sa/x', /trust domain is empty/],
    ];
    for (const [id, why] of cases) {
      const text = await problems(() => ({ san: new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }], true) }));
      assert.match(text, why, id);
    }
    assert.ok(typeof parseSpiffeId('spiffe://cluster.local/' + 'a'.repeat(2100)) === 'string', 'longer than 2048 bytes');
    assert.match(String(parseWorkloadSpiffeId('spiffe://cluster.local/ns/default/service/x')), /not a workload identity/);
    assert.match(String(parseWorkloadSpiffeId('spiffe://cluster.local/ns/Default/sa/x')), /DNS-1123/);
  });

  test('wrong trust domain and wrong SPIFFE ID', async () => {
    const pem = await cert();
    assert.match(lintSvid(pem, { trustDomain: 'example.org' }).problems.join(), /trust domain "cluster.local", expected "example.org"/);
    assert.match(lintSvid(pem, { spiffeId: 'spiffe://cluster.local/ns/default/sa/ratings' }).problems.join(), /expected spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings/);
  });

  test('not a certificate', () => {
    assert.match(lintSvid('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').problems.join(), /not an X.509 certificate/);
  });
});
