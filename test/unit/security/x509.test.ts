// security/der.ts + x509.ts against the reference: every extension, name and key identifier
// meshlet writes is byte-for-byte what @peculiar/x509 writes for the same fields, every reader
// gives back what @peculiar/x509 put in, the PKCS#10 request parses and verifies there, and
// malformed DER is a RangeError, never another exception (and the SVID lint a problem, never a throw).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { namedBits, oid, readNamedBits, readOid, readTlv } from '../../../src/security/der.js';
import {
  authorityKeyIdentifierExtension, basicConstraintsExtension, extKeyUsageExtension, GeneralNameTag, ipAddressBytes, keyIdentifier, KeyUsage,
  keyUsageExtension, name, OID, readBasicConstraints, readCertificate, readExtKeyUsage, readGeneralNames, readKeyUsage,
  readSubjectKeyIdentifier, subjectAltNameExtension, subjectKeyIdentifierExtension,
} from '../../../src/security/x509.js';
import { createCsr, generateWorkloadKey } from '../../../src/security/identity/keys.js';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { csrDer, parseCsr } from '../../../src/control/ca/csr.js';
import { crypto, x509, type CryptoKeyPair } from '../../helpers/x509.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b as ArrayBuffer).toString('hex');
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;

async function webKeys(key: KeyObject): Promise<CryptoKeyPair> {
  return {
    privateKey: await crypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), ECDSA, true, ['sign']),
    publicKey: await crypto.subtle.importKey('spki', createPublicKey(key).export({ type: 'spki', format: 'der' }), ECDSA, true, ['verify']),
  };
}

describe('extension writers match @peculiar/x509', () => {
  test('basic constraints: leaf, CA, CA with a path length, non-critical', () => {
    for (const [ca, path, critical] of [[false, undefined, true], [true, undefined, true], [true, 0, true], [true, 3, false], [true, 300, true]] as const) {
      assert.equal(hex(basicConstraintsExtension(ca, path, critical)), hex(new x509.BasicConstraintsExtension(ca, path, critical).rawData), `${ca} ${path} ${critical}`);
    }
  });

  test('key usage: every combination of the nine bits, critical or not', () => {
    for (let flags = 1; flags < 512; flags++) {
      for (const critical of [true, false]) {
        assert.equal(hex(keyUsageExtension(flags, critical)), hex(new x509.KeyUsagesExtension(flags, critical).rawData), `flags ${flags}`);
      }
    }
    assert.equal(KeyUsage.keyCertSign, x509.KeyUsageFlags.keyCertSign);
  });

  test('extended key usage', () => {
    assert.equal(hex(extKeyUsageExtension([OID.serverAuth, OID.clientAuth])), hex(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]).rawData));
    assert.equal(hex(extKeyUsageExtension([OID.serverAuth], true)), hex(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], true).rawData));
  });

  test('subject alternative names: URI, DNS, IPv4 and IPv6 in every spelling', () => {
    const ips = ['127.0.0.1', '10.1.2.3', '::1', '::', '1::', 'fe80::1:2', '2001:db8::8a2e:370:7334', '2001:db8:0:0:1:0:0:1', '1:2:3:4:5:6:7:8'];
    const ours = subjectAltNameExtension([
      [GeneralNameTag.uri, Buffer.from(ID)], [GeneralNameTag.dns, Buffer.from('istiod.istio-system.svc')],
      ...ips.map((ip): [number, Uint8Array] => [GeneralNameTag.ip, ipAddressBytes(ip)]),
    ], false);
    const ref = new x509.SubjectAlternativeNameExtension([
      { type: 'url', value: ID }, { type: 'dns', value: 'istiod.istio-system.svc' }, ...ips.map((value) => ({ type: 'ip' as const, value })),
    ], false);
    assert.equal(hex(ours), hex(ref.rawData));
    // @peculiar/x509 reads the IPv4 tail of a mapped address as hex groups; RFC 4291 §2.2.3 and
    // node's checkIP say ::ffff:192.0.2.1 is ::ffff:c000:201.
    assert.equal(hex(ipAddressBytes('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
    assert.throws(() => ipAddressBytes('not-an-ip'), TypeError);
  });

  test('key identifiers (RFC 5280 method 1) for EC and RSA keys, as SKI and AKI', async () => {
    const ec = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
    const rsa = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    for (const { publicKey } of [ec, rsa]) {
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const id = keyIdentifier(spki);
      assert.equal(hex(subjectKeyIdentifierExtension(id)), hex((await x509.SubjectKeyIdentifierExtension.create(spki, false, crypto)).rawData));
      assert.equal(hex(authorityKeyIdentifierExtension(id)), hex((await x509.AuthorityKeyIdentifierExtension.create(spki, false, crypto)).rawData));
    }
  });

  test('names: PrintableString when it fits, UTF8String otherwise', () => {
    for (const td of ['cluster.local', 'my_domain', 'example.org']) {
      const ours = name([[OID.organization, td], [OID.commonName, 'meshlet root CA']]);
      assert.equal(hex(ours), hex(new x509.Name([{ O: [td] }, { CN: ['meshlet root CA'] }]).toArrayBuffer()), td);
    }
  });

  test('OIDs round-trip through the writer and the reader, large arcs included', () => {
    for (const dotted of ['2.5.29.17', '1.2.840.113549.1.9.14', '1.3.6.1.5.5.7.3.2', '2.999.3', '1.2.840.10045.4.3.2', '1.3.6.1.4.1.311.21.2147483647',
      // X.667 UUID OIDs: a 128-bit arc (the SVID's token-id extension uses one).
      '2.25.216442624225293743724258550307795285725', '2.25.340282366920938463463374607431768211455']) {
      const der = oid(dotted);
      assert.equal(readOid(der, readTlv(der, 0)), dotted);
    }
    assert.throws(() => oid('3.1'), RangeError);
    assert.throws(() => oid('1.40'), RangeError);
  });
});

describe('readers give back what @peculiar/x509 wrote', () => {
  const valueOf = (e: x509.Extension) => Buffer.from(e.value);

  test('key usage bits, basic constraints, EKU, SAN, SKI', async () => {
    for (let flags = 0; flags < 512; flags++) {
      if (flags) assert.equal(readKeyUsage(valueOf(new x509.KeyUsagesExtension(flags))), flags);
      assert.equal(readNamedBits(namedBits(flags), readTlv(namedBits(flags), 0)), flags);
    }
    assert.deepEqual(readBasicConstraints(valueOf(new x509.BasicConstraintsExtension(true, 2))), { ca: true, pathLength: 2 });
    assert.deepEqual(readBasicConstraints(valueOf(new x509.BasicConstraintsExtension(false))), { ca: false });
    assert.deepEqual(readExtKeyUsage(valueOf(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]))), [OID.clientAuth, OID.serverAuth]);
    const san = readGeneralNames(valueOf(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }, { type: 'ip', value: '::1' }])));
    assert.deepEqual(san.map((n) => [n.tag, hex(n.value)]), [[0x86, hex(Buffer.from(ID))], [0x87, '00000000000000000000000000000001']]);
    const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
    const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto);
    assert.equal(hex(readSubjectKeyIdentifier(valueOf(ski))), ski.keyId);
  });

  test('a certificate: subject, key and every extension with its criticality', async () => {
    const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
    const ref = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=t', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, false), new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }], false)],
    }, crypto);
    const fields = readCertificate(Buffer.from(ref.rawData));
    assert.equal(hex(fields.spki), hex(ref.publicKey.rawData));
    assert.equal(hex(fields.subject), hex(ref.subjectName.toArrayBuffer()));
    assert.deepEqual(fields.extensions.map((e) => [e.oid, e.critical, hex(e.value)]), [...ref.extensions].map((e) => [e.type, e.critical, hex(e.value)]));
  });

  test('truncated or corrupted certificates are a RangeError, never another exception', async () => {
    const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
    const der = Buffer.from((await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=t', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(1, true)],
    }, crypto)).rawData);
    for (let len = 0; len < der.length; len += 3) assert.throws(() => readCertificate(der.subarray(0, len)), RangeError, `prefix of ${len} bytes`);
    for (let i = 0; i < 2000; i++) {
      const noisy = Buffer.from(der);
      const at = (i * 31) % noisy.length;
      noisy[at] = noisy[at]! ^ (1 + (i % 255));
      try {
        for (const e of readCertificate(noisy).extensions) {
          if (e.oid === OID.basicConstraints) readBasicConstraints(e.value);
          if (e.oid === OID.keyUsage) readKeyUsage(e.value);
        }
      } catch (err) {
        assert.ok(err instanceof RangeError, `byte ${at}: ${String(err)}`);
      }
      assert.ok(Array.isArray(lintSvid(noisy).problems), 'the lint reports, never throws');
    }
  });
});

describe('createCsr: PKCS#10 without @peculiar/x509', () => {
  test('parses and verifies in @peculiar/x509, with the SANs asked for, and has its CertificationRequestInfo byte for byte', async () => {
    const key = await generateWorkloadKey();
    const pem = await createCsr(key, { uris: [ID], dnsNames: ['istiod.istio-system.svc'], ipAddresses: ['127.0.0.1', '::1'] });
    const csr = new x509.Pkcs10CertificateRequest(pem);
    assert.equal(await csr.verify(crypto), true);
    assert.equal(csr.subject, '');
    const san = new x509.SubjectAlternativeNameExtension(csr.getExtension(OID.subjectAltName)!.rawData);
    assert.equal(san.critical, true);
    assert.deepEqual(san.names.items.map((n) => [n.type, n.value]), [['url', ID], ['dns', 'istiod.istio-system.svc'], ['ip', '127.0.0.1'], ['ip', '::1']]);
    const ref = await x509.Pkcs10CertificateRequestGenerator.create({
      keys: await webKeys(key.privateKey), signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }, { type: 'dns', value: 'istiod.istio-system.svc' }, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }], true)],
    }, crypto);
    assert.equal(hex(parseCsr(csrDer(pem)).info), hex(parseCsr(Buffer.from(ref.rawData)).info));
  });

  test('no SANs: empty attributes, still verifies', async () => {
    const key = await generateWorkloadKey();
    const pem = await createCsr(key);
    assert.equal(await new x509.Pkcs10CertificateRequest(pem).verify(crypto), true);
    assert.deepEqual(parseCsr(csrDer(pem)).sans, []);
    const ref = await x509.Pkcs10CertificateRequestGenerator.create({ keys: await webKeys(key.privateKey), signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } }, crypto);
    assert.equal(hex(parseCsr(csrDer(pem)).info), hex(parseCsr(Buffer.from(ref.rawData)).info));
  });
});
