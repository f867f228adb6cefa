// Certificates for TLS edge tests: one root CA and leaf certificates with DNS SANs (server) or a
// client EKU, ECDSA P-256, written as PEM files in a temp directory.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crypto, x509, type CryptoKeyPair } from './x509.js';

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

export interface Leaf {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  caPem: string;
  /** A leaf signed by the CA: server (DNS SANs) or client. */
  leaf(cn: string, opts?: { dns?: string[]; client?: boolean }): Promise<Leaf>;
  /** Writes a leaf as `<dir>/<name>/{tls.crt,tls.key,ca.crt}` (a credentialName secret). */
  writeCredential(name: string, leaf: Leaf): Promise<string>;
  /** Writes files and returns their paths. */
  writeFiles(prefix: string, leaf: Leaf): Promise<{ cert: string; key: string; ca: string }>;
  remove(): Promise<void>;
}

export async function testPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-pki-'));
  const caKeys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=meshlet test root', keys: caKeys, signingAlgorithm: SIGN, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86400_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  }, crypto);
  const caPem = ca.toString('pem') + '\n';
  let serial = 1;
  const pki: TestPki = {
    dir,
    caPem,
    async leaf(cn, opts = {}) {
      const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
      const ext: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([opts.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
      ];
      if (opts.dns?.length) ext.push(new x509.SubjectAlternativeNameExtension(opts.dns.map((d) => ({ type: 'dns' as const, value: d }))));
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'), subject: `CN=${cn}`, issuer: ca.subject, publicKey: keys.publicKey, signingKey: caKeys.privateKey,
        signingAlgorithm: SIGN, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86400_000), extensions: ext,
      }, crypto);
      return { cert: cert.toString('pem') + '\n', key: await keyPem(keys) };
    },
    async writeCredential(name, leaf) {
      const d = join(dir, 'credentials', name);
      await mkdir(d, { recursive: true });
      await Promise.all([writeFile(join(d, 'tls.crt'), leaf.cert), writeFile(join(d, 'tls.key'), leaf.key), writeFile(join(d, 'ca.crt'), caPem)]);
      return join(dir, 'credentials');
    },
    async writeFiles(prefix, leaf) {
      const paths = { cert: join(dir, `${prefix}.crt`), key: join(dir, `${prefix}.key`), ca: join(dir, 'ca.crt') };
      await Promise.all([writeFile(paths.cert, leaf.cert), writeFile(paths.key, leaf.key), writeFile(paths.ca, caPem)]);
      return paths;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  return pki;
}
