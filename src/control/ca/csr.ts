import { meshError } from '../../errors.js';
import { readPemBlocks } from '../../security/identity/pem.js';
import { children, expectTlv, readOid, readTlv, type Tlv } from '../../security/der.js';
import { OID, readGeneralNames } from '../../security/x509.js';

/**
 * Reads a PKCS#10 CertificationRequest (RFC 2986) far enough to sign it: the signed info bytes,
 * the subject public key, the signature and the SANs asked for in the extensionRequest attribute.
 * Malformed input is MESHLET_ERR_CA_CSR, never an exception of another kind.
 */

/** What the CA uses from a CSR. */
export interface ParsedCsr {
  /** The DER of certificationRequestInfo, the bytes the signature covers. */
  info: Buffer;
  /** The DER of subjectPKInfo, copied into the certificate unchanged. */
  spki: Buffer;
  /** Hash of the signature algorithm, node:crypto's name ('sha256'…). */
  hash: string;
  signature: Buffer;
  /** Requested SANs: context tag (0x86 URI, 0x82 DNS, 0x87 IP, …) and raw value. */
  sans: Array<{ tag: number; value: Buffer }>;
}

/** Upper bound of a CSR the CA reads (a P-256 CSR is ~300 bytes, an RSA-8192 one ~1.5 KiB). */
export const MAX_CSR_BYTES = 16 * 1024;

const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** PEM (`CERTIFICATE REQUEST`) to DER, bounded. */
export function csrDer(pem: string): Buffer {
  if (typeof pem !== 'string' || pem.length > MAX_CSR_BYTES * 2) throw meshError('MESHLET_ERR_CA_CSR', `CSR must be a PEM string of at most ${MAX_CSR_BYTES} bytes`);
  const blocks = readPemBlocks(pem).filter((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (blocks.length !== 1) throw meshError('MESHLET_ERR_CA_CSR', `expected one PEM "CERTIFICATE REQUEST" block, found ${blocks.length}`);
  return blocks[0]!.der;
}

/**
 * Parses a CSR's DER.
 *
 * @example
 * ```ts
 * const csr = parseCsr(csrDer(pem));
 * crypto.verify(csr.hash, csr.info, createPublicKey({ key: csr.spki, format: 'der', type: 'spki' }), csr.signature);
 * ```
 */
export function parseCsr(der: Buffer): ParsedCsr {
  try {
    return parse(der);
  } catch (err) {
    if (err instanceof RangeError) throw meshError('MESHLET_ERR_CA_CSR', `CSR is not valid DER: ${err.message}`);
    throw err;
  }
}

function parse(der: Buffer): ParsedCsr {
  if (der.length > MAX_CSR_BYTES) throw meshError('MESHLET_ERR_CA_CSR', `CSR is larger than ${MAX_CSR_BYTES} bytes`);
  const outer = expectTlv(der, 0, 0x30, der.length, 'CertificationRequest');
  if (outer.end !== der.length) throw new RangeError('trailing bytes after the CertificationRequest');
  const [info, sigAlg, sig, ...extra] = children(der, outer, 4);
  if (!info || !sigAlg || !sig || extra.length) throw new RangeError('CertificationRequest must have 3 elements');
  if (info.tag !== 0x30 || sigAlg.tag !== 0x30 || sig.tag !== 0x03) throw new RangeError('CertificationRequest elements have the wrong types');
  const [version, subject, spki, attributes] = children(der, info, 4);
  if (!version || version.tag !== 0x02 || version.end - version.body !== 1 || der[version.body] !== 0) throw new RangeError('CSR version must be 0 (v1)');
  if (!subject || subject.tag !== 0x30) throw new RangeError('CSR subject must be a Name');
  if (!spki || spki.tag !== 0x30) throw new RangeError('CSR subjectPKInfo must be a SEQUENCE');
  const algOid = readOid(der, readTlv(der, sigAlg.body, sigAlg.end));
  const hash = SIGNATURE_HASH[algOid];
  if (!hash) throw meshError('MESHLET_ERR_CA_CSR', `CSR signature algorithm ${algOid} is not accepted (ECDSA or RSA PKCS#1 v1.5 with SHA-2)`);
  if (sig.end - sig.body < 2 || der[sig.body] !== 0) throw new RangeError('CSR signature BIT STRING must have no unused bits');
  return {
    info: der.subarray(info.start, info.end),
    spki: der.subarray(spki.start, spki.end),
    hash,
    signature: der.subarray(sig.body + 1, sig.end),
    sans: attributes ? requestedSans(der, attributes) : [],
  };
}

function requestedSans(der: Buffer, attributes: Tlv): ParsedCsr['sans'] {
  if (attributes.tag !== 0xa0) throw new RangeError('CSR attributes must be [0]');
  const out: ParsedCsr['sans'] = [];
  for (const attr of children(der, attributes, 32)) {
    const [type, values] = children(der, attr, 2);
    if (!type || !values || values.tag !== 0x31) throw new RangeError('CSR attribute must be SEQUENCE { type, SET }');
    if (readOid(der, type) !== OID.extensionRequest) continue;
    for (const extensions of children(der, values, 4)) {
      for (const ext of children(der, extensions, 64)) {
        const parts = children(der, ext, 3);
        if (readOid(der, parts[0]!) !== OID.subjectAltName) continue;
        const value = parts[parts.length - 1]!;
        if (value.tag !== 0x04) throw new RangeError('extension value must be an OCTET STRING');
        out.push(...readGeneralNames(der.subarray(value.body, value.end)));
      }
    }
  }
  return out;
}
