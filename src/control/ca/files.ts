import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { meshError } from '../../errors.js';
import { verifyChain } from '../../security/identity/chain.js';
import { readCertificates, readPemBlocks, toPem } from '../../security/identity/pem.js';
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId, trustDomainProblem } from '../../security/identity/spiffe-id.js';
import { integer, time, tlv } from '../../security/der.js';
import {
  basicConstraintsExtension, GeneralNameTag, keyIdentifier, KeyUsage, keyUsageExtension, name, OID, readCertificate, readGeneralNames, signed,
  subjectAltNameExtension, subjectKeyIdentifierExtension,
} from '../../security/x509.js';
import { randomSerial, signatureAlgorithm } from './sign.js';

/**
 * The CA directory. Two layouts:
 *
 * - **self-signed** (created on first start): `root-key.pem` + `root-cert.pem`. The first
 *   certificate of root-cert.pem is the signing root; more certificates appended to it are extra
 *   trusted roots (an old root during a trust rotation).
 * - **plug-in** (Istio's `cacerts`, `pilot/pkg/bootstrap/istio_ca.go`): `ca-cert.pem` +
 *   `ca-key.pem` (the intermediate that signs), `cert-chain.pem` (ca-cert up to the root) and
 *   `root-cert.pem` (one or more roots). Detected when ca-cert.pem or ca-key.pem exists.
 *
 * Both get `token-key.pem`, the ES256 key that signs join tokens (kept apart from the CA key).
 * Everything written is mode 0600 in a 0700 directory, created with an exclusive link so two
 * processes starting on one empty directory (a server and `meshlet token create`) end up with the
 * same CA.
 */
export const CA_FILES = {
  rootCert: 'root-cert.pem',
  rootKey: 'root-key.pem',
  tokenKey: 'token-key.pem',
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  certChain: 'cert-chain.pem',
} as const;

/** What the CA signs with and hands out, read from (or created in) the CA directory. */
export interface CaMaterial {
  mode: 'self-signed' | 'plug-in';
  trustDomain: string;
  signingKey: KeyObject;
  signingCert: X509Certificate;
  /** Certificates between the signing certificate and a root, signing certificate first (empty when a root signs). */
  intermediates: X509Certificate[];
  /** The trust bundle; `roots[0]` anchors the signing chain. */
  roots: X509Certificate[];
  tokenKey: KeyObject;
}

/** Istio's self-signed root lifetime (security/pkg/cmd/constants.go DefaultSelfSignedCACertTTL: 10 years). */
export const ROOT_TTL_MS = 3650 * 24 * 3600 * 1000;
const MAX_FILE_BYTES = 1024 * 1024;
const generate = promisify(generateKeyPair);

/**
 * Loads the CA in `dir`, creating a self-signed one when the directory holds none.
 *
 * @example
 * ```ts
 * const ca = await loadOrCreateCa('/var/lib/meshlet/ca', {});
 * ca.roots[0].fingerprint256;
 * ```
 */
export async function loadOrCreateCa(dir: string, options: { trustDomain?: string }): Promise<CaMaterial> {
  if (options.trustDomain !== undefined) {
    const problem = trustDomainProblem(options.trustDomain);
    if (problem) throw meshError('MESHLET_ERR_USAGE', problem);
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `cannot create the CA directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const plugIn = (await exists(join(dir, CA_FILES.caCert))) || (await exists(join(dir, CA_FILES.caKey)));
  const material = plugIn ? await loadPlugIn(dir, options.trustDomain) : await loadSelfSigned(dir, options.trustDomain);
  return { ...material, tokenKey: await loadOrCreateKey(join(dir, CA_FILES.tokenKey)) };
}

async function loadSelfSigned(dir: string, trustDomain: string | undefined): Promise<Omit<CaMaterial, 'tokenKey'>> {
  const key = await loadOrCreateKey(join(dir, CA_FILES.rootKey));
  const certFile = join(dir, CA_FILES.rootCert);
  if (!(await exists(certFile))) await createExclusive(certFile, selfSignedRoot(key, trustDomain ?? DEFAULT_TRUST_DOMAIN));
  const roots = await readCertFile(certFile);
  const root = roots[0]!;
  if (!samePublicKey(root.publicKey, key)) throw meshError('MESHLET_ERR_CA_DIR', `${certFile}: the first certificate does not belong to ${CA_FILES.rootKey}`);
  if (!root.ca) throw meshError('MESHLET_ERR_CA_DIR', `${certFile}: the first certificate is not a CA certificate`);
  const fromCert = spiffeTrustDomain(root);
  if (trustDomain !== undefined && fromCert !== undefined && fromCert !== trustDomain) {
    throw meshError('MESHLET_ERR_CA_DIR', `the CA in ${dir} is for trust domain "${fromCert}", not "${trustDomain}"`);
  }
  return { mode: 'self-signed', trustDomain: fromCert ?? trustDomain ?? DEFAULT_TRUST_DOMAIN, signingKey: key, signingCert: root, intermediates: [], roots };
}

async function loadPlugIn(dir: string, trustDomain: string | undefined): Promise<Omit<CaMaterial, 'tokenKey'>> {
  const missing = [CA_FILES.caCert, CA_FILES.caKey, CA_FILES.certChain, CA_FILES.rootCert];
  const present = await Promise.all(missing.map((f) => exists(join(dir, f))));
  const absent = missing.filter((_, i) => !present[i]);
  if (absent.length) throw meshError('MESHLET_ERR_CA_DIR', `${dir} holds an Istio plug-in CA but lacks ${absent.join(', ')}`);
  const key = await readKey(join(dir, CA_FILES.caKey));
  const [caCert] = await readCertFile(join(dir, CA_FILES.caCert));
  const roots = await readCertFile(join(dir, CA_FILES.rootCert));
  const chainFile = await readCertFile(join(dir, CA_FILES.certChain));
  if (!samePublicKey(caCert!.publicKey, key)) throw meshError('MESHLET_ERR_CA_DIR', `${CA_FILES.caCert} does not belong to ${CA_FILES.caKey}`);
  if (!caCert!.ca) throw meshError('MESHLET_ERR_CA_DIR', `${CA_FILES.caCert} is not a CA certificate`);
  // cert-chain.pem is ca-cert (+ intermediates) + root (Istio tools/certs); keep the non-roots.
  const isRoot = (c: X509Certificate) => roots.some((r) => r.fingerprint256 === c.fingerprint256);
  const intermediates = chainFile.filter((c) => !isRoot(c));
  if (intermediates[0]?.fingerprint256 !== caCert!.fingerprint256) intermediates.unshift(caCert!);
  const anchored = verifyChain(intermediates, roots, Date.now());
  if (typeof anchored === 'string') throw meshError('MESHLET_ERR_CA_DIR', `${CA_FILES.certChain} does not lead from ${CA_FILES.caCert} to ${CA_FILES.rootCert}: ${anchored}`);
  // The root that anchors the signing chain goes first: it is the one join tokens pin.
  const ordered = [anchored, ...roots.filter((r) => r !== anchored)];
  return { mode: 'plug-in', trustDomain: trustDomain ?? DEFAULT_TRUST_DOMAIN, signingKey: key, signingCert: caCert!, intermediates, roots: ordered };
}

/**
 * The self-signed root: subject = issuer `O=<trust domain>, CN=meshlet root CA`, backdated two
 * minutes, 10 years; basicConstraints cA (critical), keyUsage keyCertSign + cRLSign (critical),
 * a subject key identifier (RFC 5280 §4.2.1.2 method 1), and the trust domain's SPIFFE ID as a
 * URI SAN (X509-SVID §3: a signing certificate carries its trust domain's ID). Istio's
 * self-signed root (security/pkg/pki/util/generate_cert.go, IsCA) has the same constraints and
 * usages with `O=<org>` only.
 */
export function selfSignedRoot(key: KeyObject, trustDomain: string, now = Date.now()): string {
  const { hash, algorithmDer } = signatureAlgorithm(key);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const subject = name([[OID.organization, trustDomain], [OID.commonName, 'meshlet root CA']]);
  const tbs = tlv(0x30,
    Buffer.from('a003020102', 'hex'), // version v3
    integer(randomSerial()),
    algorithmDer,
    subject,
    tlv(0x30, time(now - 2 * 60_000), time(now + ROOT_TTL_MS)),
    subject,
    spki,
    tlv(0xa3, tlv(0x30,
      basicConstraintsExtension(true),
      keyUsageExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign),
      subjectKeyIdentifierExtension(keyIdentifier(spki)),
      subjectAltNameExtension([[GeneralNameTag.uri, Buffer.from(`spiffe://${trustDomain}`, 'latin1')]], false),
    )),
  );
  return toPem('CERTIFICATE', signed(tbs, algorithmDer, hash, key));
}

/** The trust domain of a CA certificate's `spiffe://<td>` URI SAN, if it has one. */
function spiffeTrustDomain(cert: X509Certificate): string | undefined {
  let uris: string[];
  try {
    const san = readCertificate(cert.raw).extensions.find((e) => e.oid === OID.subjectAltName);
    uris = san ? readGeneralNames(san.value).filter((n) => n.tag === GeneralNameTag.uri).map((n) => n.value.toString('latin1')) : [];
  } catch {
    return undefined; // node:crypto parsed it; an extension we cannot read carries no trust domain we use
  }
  for (const uri of uris) {
    const id = parseSpiffeId(uri);
    if (typeof id !== 'string' && id.path === '') return id.trustDomain;
  }
  return undefined;
}

function samePublicKey(publicKey: KeyObject, privateKey: KeyObject): boolean {
  return publicKey.export({ type: 'spki', format: 'der' }).equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
}

async function loadOrCreateKey(file: string): Promise<KeyObject> {
  if (!(await exists(file))) {
    const { privateKey } = await generate('ec', { namedCurve: 'P-256' });
    await createExclusive(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  }
  return readKey(file);
}

async function readKey(file: string): Promise<KeyObject> {
  const text = await readText(file);
  const blocks = readPemBlocks(text);
  if (blocks.length !== 1 || !/PRIVATE KEY$/.test(blocks[0]!.label)) throw meshError('MESHLET_ERR_CA_DIR', `${file}: expected one PEM private key`);
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function readCertFile(file: string): Promise<X509Certificate[]> {
  let ders: Buffer[];
  try {
    ders = readCertificates(await readText(file));
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `${file}: ${(err as Error).message}`, { cause: err });
  }
  if (ders.length === 0) throw meshError('MESHLET_ERR_CA_DIR', `${file}: no certificate`);
  try {
    return ders.map((der) => new X509Certificate(der));
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function readText(file: string): Promise<string> {
  try {
    const info = await stat(file);
    if (info.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
    return await readFile(file, 'utf8');
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes `file` only if it does not exist yet: the content goes to a private temporary file that
 * is then hard-linked into place, which fails when another process got there first (its file is
 * complete, and is the one both then use).
 */
async function createExclusive(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

/** PEM of a node certificate. */
export function certPem(cert: X509Certificate): string {
  return toPem('CERTIFICATE', cert.raw);
}
