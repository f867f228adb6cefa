import { createPrivateKey, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { meshError } from '../../errors.js';
import { integer, time, tlv } from '../../security/der.js';
import { toPem } from '../../security/identity/pem.js';
import {
  authorityKeyIdentifierExtension, basicConstraintsExtension, extKeyUsageExtension, GeneralNameTag as GN, ipAddressBytes, keyIdentifier,
  KeyUsage, keyUsageExtension, OID, readCertificate, readSubjectKeyIdentifier, SIGNATURE_ALGORITHM, signed, subjectAltNameExtension,
} from '../../security/x509.js';
import { csrDer, parseCsr } from './csr.js';
import { tokenIdExtension } from './token-id.js';

/**
 * Builds one certificate from a CSR: the pure step the signer pool runs in worker threads (and
 * the bench runs on the loop for comparison). The profile follows Istio's
 * `security/pkg/pki/util/generate_cert.go` `genCertTemplateFromCSR` — identity from the caller,
 * not from the CSR; empty subject with a critical SAN; EKU serverAuth+clientAuth; 128-bit serial —
 * with two SPIFFE-driven differences: `keyEncipherment` only for RSA keys (Istio sets it always;
 * X509-SVID §4.3 and RFC 5480 reserve it for RSA), and the CSR may ask only for the identity the
 * caller has (Istio ignores the CSR's SANs; we refuse a CSR that asks for more, so a token cannot
 * be stretched to another service account).
 *
 * The constant extensions are encoded once per signer; all of the DER is written by
 * security/der.ts + x509.ts, tested byte-for-byte against @peculiar/x509 (test/unit/ca/sign.test.ts).
 */

/** What a worker needs to sign: the CA's key and certificate, once. */
export interface SignerInit {
  /** PKCS#8 DER of the signing key (EC P-256/P-384 or RSA). */
  signingKeyPkcs8: Uint8Array;
  /** DER of the signing (root or intermediate) certificate. */
  signingCertDer: Uint8Array;
}

/** A workload SVID: one URI SAN. */
export interface SvidProfile {
  kind: 'svid';
  spiffeId: string;
  /** The `jti` of the join token the SVID is issued on the authority of (see token-id.ts). */
  tokenId?: string;
}

/** The control server's own TLS certificate: DNS and IP SANs, serverAuth. */
export interface ServerProfile {
  kind: 'server';
  dnsNames: string[];
  ipAddresses: string[];
}

/** One certificate to build. Times are epoch ms, already clamped to the signing certificate. */
export interface SignJob {
  csrPem: string;
  profile: SvidProfile | ServerProfile;
  notBefore: number;
  notAfter: number;
}

/** Signs jobs with one CA key; created once per thread. */
export type Signer = (job: SignJob) => Promise<string>;

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const VERSION_3 = Buffer.from('a003020102', 'hex');
const EMPTY_NAME = Buffer.from('3000', 'hex');

/**
 * Imports the CA key and returns the signing function.
 *
 * @example
 * ```ts
 * const sign = await createSigner({ signingKeyPkcs8, signingCertDer });
 * const leafPem = await sign({ csrPem, profile: { kind: 'svid', spiffeId }, notBefore, notAfter });
 * ```
 */
export async function createSigner(init: SignerInit): Promise<Signer> {
  const key = createPrivateKey({ key: Buffer.from(init.signingKeyPkcs8), format: 'der', type: 'pkcs8' });
  const { hash, algorithmDer } = signatureAlgorithm(key);
  const issuerDer = Buffer.from(init.signingCertDer);
  const issuer = issuerFields(issuerDer);
  const fixed = {
    basic: basicConstraintsExtension(false),
    usageEc: keyUsageExtension(KeyUsage.digitalSignature),
    usageRsa: keyUsageExtension(KeyUsage.digitalSignature | KeyUsage.keyEncipherment),
    ekuSvid: extKeyUsageExtension([OID.serverAuth, OID.clientAuth]),
    ekuServer: extKeyUsageExtension([OID.serverAuth]),
    // The issuer's own key identifier when it has one (RFC 5280 §4.2.1.1), else method (1) over its key.
    aki: authorityKeyIdentifierExtension(issuer.ski ?? keyIdentifier(issuer.spki)),
  };
  const issuerName = issuer.subject;

  return async (job) => {
    const csr = parseCsr(csrDer(job.csrPem));
    const subjectKey = publicKeyOf(csr.spki);
    const rsa = checkKey(subjectKey);
    if (!verify(csr.hash, csr.info, subjectKey, csr.signature)) throw meshError('MESHLET_ERR_CA_CSR', 'CSR signature does not verify (no proof of possession of its key)');
    const names = job.profile.kind === 'svid' ? svidNames(csr.sans, job.profile.spiffeId) : serverNames(job.profile);
    const tbs = tlv(0x30,
      VERSION_3,
      integer(randomSerial()),
      algorithmDer,
      issuerName,
      tlv(0x30, time(job.notBefore), time(job.notAfter)),
      EMPTY_NAME,
      csr.spki,
      tlv(0xa3, tlv(0x30,
        fixed.basic,
        rsa ? fixed.usageRsa : fixed.usageEc,
        job.profile.kind === 'svid' ? fixed.ekuSvid : fixed.ekuServer,
        // RFC 5280 §4.2.1.6: with an empty subject the SAN extension is critical.
        subjectAltNameExtension(names, true),
        fixed.aki,
        ...(job.profile.kind === 'svid' && job.profile.tokenId !== undefined ? [tokenIdExtension(job.profile.tokenId)] : []),
      )),
    );
    return toPem('CERTIFICATE', signed(tbs, algorithmDer, hash, key));
  };
}

/** The hash and AlgorithmIdentifier DER for a CA key: ECDSA with its curve's hash, or RSA PKCS#1 v1.5 SHA-256. */
export function signatureAlgorithm(key: KeyObject): { hash: string; algorithmDer: Buffer } {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { hash: 'sha256', algorithmDer: SIGNATURE_ALGORITHM.ecdsaSha256 };
    if (curve === 'secp384r1') return { hash: 'sha384', algorithmDer: SIGNATURE_ALGORITHM.ecdsaSha384 };
    throw meshError('MESHLET_ERR_CA_DIR', `CA key uses curve ${curve ?? 'unknown'}; P-256 or P-384 expected`);
  }
  if (key.asymmetricKeyType === 'rsa') return { hash: 'sha256', algorithmDer: SIGNATURE_ALGORITHM.rsaSha256 };
  throw meshError('MESHLET_ERR_CA_DIR', `CA key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (EC P-256/P-384 or RSA expected)`);
}

/** The signing certificate's subject Name DER as its bytes appear (so issuer names match exactly), key and key identifier. */
function issuerFields(certDer: Buffer): { subject: Buffer; spki: Buffer; ski?: Buffer } {
  try {
    const { subject, spki, extensions } = readCertificate(certDer);
    const ski = extensions.find((e) => e.oid === OID.subjectKeyIdentifier);
    return ski ? { subject, spki, ski: readSubjectKeyIdentifier(ski.value) } : { subject, spki };
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_DIR', `CA certificate cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

function publicKeyOf(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw meshError('MESHLET_ERR_CA_CSR', `CSR public key cannot be read: ${(err as Error).message}`);
  }
}

/** Returns whether the key is RSA; throws for keys the mesh does not accept. */
function checkKey(key: KeyObject): boolean {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'secp384r1') return false;
    throw meshError('MESHLET_ERR_CA_CSR', `CSR key curve ${curve ?? 'unknown'} is not accepted (P-256 or P-384)`);
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS) return true;
    throw meshError('MESHLET_ERR_CA_CSR', `CSR RSA key has ${bits} bits (${MIN_RSA_BITS}–${MAX_RSA_BITS} accepted)`);
  }
  throw meshError('MESHLET_ERR_CA_CSR', `CSR key type ${key.asymmetricKeyType ?? 'unknown'} is not accepted (ECDSA P-256/P-384 or RSA)`);
}

/** A CSR may leave its SANs empty or ask for exactly the caller's SPIFFE ID; anything else is refused. */
function svidNames(requested: Array<{ tag: number; value: Buffer }>, spiffeId: string): Array<[number, Uint8Array]> {
  const id = Buffer.from(spiffeId, 'latin1');
  for (const { tag, value } of requested) {
    if (tag !== GN.uri || !value.equals(id)) {
      const what = tag === GN.uri || tag === GN.dns ? value.toString('latin1') : `a SAN of type 0x${tag.toString(16)}`;
      throw meshError('MESHLET_ERR_CA_IDENTITY', `CSR asks for ${what}, but the caller may only get ${spiffeId}`);
    }
  }
  return [[GN.uri, id]];
}

function serverNames(profile: ServerProfile): Array<[number, Uint8Array]> {
  return [
    ...profile.dnsNames.map((n): [number, Uint8Array] => [GN.dns, Buffer.from(n, 'latin1')]),
    ...profile.ipAddresses.map((ip): [number, Uint8Array] => [GN.ip, ipAddressBytes(ip)]),
  ];
}

/** 128 random bits, positive and without a leading zero byte (RFC 5280 §4.1.2.2: ≤ 20 octets, positive). */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes;
}
