// Test fixtures for the CA: a CA in a fresh temp directory, CSRs for an identity, and Istio-style
// plug-in CA files made with @peculiar/x509.
import { generateKeyPair } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CertificateAuthority, type CertificateAuthorityOptions } from '../../src/control/ca/authority.js';
import { createCsr, generateWorkloadKey, type WorkloadKey } from '../../src/security/identity/keys.js';
import { crypto, x509, type CryptoKeyPair } from './x509.js';

export async function tempDir(prefix = 'meshlet-ca-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A CA signing on the loop (no worker threads) in its own temp directory. */
export async function testCa(options: Partial<CertificateAuthorityOptions> = {}): Promise<{ ca: CertificateAuthority; dir: string; close: () => Promise<void> }> {
  const t = await tempDir();
  const ca = await CertificateAuthority.open({ dir: t.dir, signerThreads: 0, ...options });
  return { ca, dir: t.dir, close: async () => { await ca.close(); await t.remove(); } };
}

export async function csrFor(uris: string[], key?: WorkloadKey): Promise<{ csr: string; key: WorkloadKey }> {
  const k = key ?? (await generateWorkloadKey());
  return { csr: await createCsr(k, { uris }), key: k };
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function pem(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
}

/**
 * Writes Istio plug-in CA files (tools/certs layout: cert-chain.pem = ca-cert + root) into `dir`;
 * `rsa` makes the intermediate an RSA-2048 key, as Istio's samples/certs are RSA.
 */
export async function writePlugInCa(dir: string, options: { rsa?: boolean; extraRoot?: boolean } = {}): Promise<{ rootPem: string; caCertPem: string }> {
  const rootKeys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'O=Istio, CN=Root CA', keys: rootKeys, signingAlgorithm: SIGN, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 365 * 86400_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey, false, crypto)],
  }, crypto);
  let caKeyPem: string;
  let caPublic: x509.PublicKeyType;
  if (options.rsa) {
    const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    caKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string; // "RSA PRIVATE KEY", as openssl genrsa writes
    caPublic = publicKey.export({ type: 'spki', format: 'der' });
  } else {
    const caKeys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
    caKeyPem = await pem(caKeys);
    caPublic = caKeys.publicKey;
  }
  const caCert = await x509.X509CertificateGenerator.create({
    subject: 'O=Istio, CN=Intermediate CA, L=cluster1', issuer: root.subject, publicKey: caPublic, signingKey: rootKeys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 300 * 86400_000),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true), await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey, false, crypto)],
  }, crypto);
  const rootPem = root.toString('pem') + '\n';
  const caCertPem = caCert.toString('pem') + '\n';
  let rootFile = rootPem;
  if (options.extraRoot) {
    const other = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
    rootFile += (await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=old root', keys: other, signingAlgorithm: SIGN, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] }, crypto)).toString('pem') + '\n';
  }
  await writeFile(join(dir, 'root-cert.pem'), rootFile);
  await writeFile(join(dir, 'ca-cert.pem'), caCertPem);
  await writeFile(join(dir, 'ca-key.pem'), caKeyPem);
  await writeFile(join(dir, 'cert-chain.pem'), caCertPem + rootPem);
  return { rootPem, caCertPem };
}
