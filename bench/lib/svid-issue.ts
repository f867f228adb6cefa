// One X.509-SVID as the CA will issue it: a fresh ECDSA P-256 key pair from node:crypto (async,
// off the event loop), signed by the CA's key with @peculiar/x509 over WebCrypto.
import 'reflect-metadata';
import { generateKeyPair, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';

// The DOM `Crypto` type is not in this project's lib; node's webcrypto is that object.
x509.cryptoProvider.set(webcrypto as never);
const genKeyPair = promisify(generateKeyPair);
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface Ca {
  name: string;
  key: webcrypto.CryptoKey;
  cert: x509.X509Certificate;
}

export async function createCa(): Promise<Ca> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const name = 'O=cluster.local, CN=meshlet bench CA';
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name, keys, signingAlgorithm: SIGN, notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { name, key: keys.privateKey, cert };
}

/** Issues one SVID; returns its DER and the PKCS#8 private key (what a workload would get). */
export async function issueSvid(ca: Ca, spiffeId: string, ttlMs = 86_400_000): Promise<{ der: ArrayBuffer; keyPkcs8: Buffer }> {
  const { publicKey, privateKey } = await genKeyPair('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    // SPIFFE: the identity is the URI SAN; an empty subject makes the SAN critical.
    subject: '',
    issuer: ca.cert.subject,
    publicKey: publicKey.export({ type: 'spki', format: 'der' }),
    signingKey: ca.key,
    signingAlgorithm: SIGN,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ttlMs),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
    ],
  });
  return { der: cert.rawData, keyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }) };
}
