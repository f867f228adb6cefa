import { createHash, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { BOOLEAN_TRUE, bitString, children, expectTlv, extension, integer, namedBits, oid, readBitString, readBoolean, readNamedBits, readOid, readSmallInteger, tlv } from './der.js';

/**
 * The X.509 pieces meshlet writes and reads (RFC 5280), over node:crypto and der.ts: the
 * extensions of its certificates (basic constraints, key usage, EKU, SAN, key identifiers),
 * names, the signed envelope, and a reader for what node's `X509Certificate` does not expose
 * (extension criticality, key-usage bits, the raw URI SANs). node:crypto parses, verifies and
 * checks names; this module only encodes and decodes the fields around it. It replaced
 * @peculiar/x509, whose ASN.1 stack is 20 of the 27 packages meshlet used to add to an install
 * (bench/RESULTS.md, install size).
 */

/** The OIDs meshlet's certificates use. */
export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/** KeyUsage bits (RFC 5280 §4.2.1.3) as flags: bit i of the BIT STRING is `1 << i`. */
export const KeyUsage = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

/** GeneralName context tags (RFC 5280 §4.2.1.6) for the kinds meshlet writes. */
export const GeneralNameTag = { dns: 0x82, uri: 0x86, ip: 0x87 } as const;

/** A GeneralName as its context tag and the raw value bytes. */
export interface GeneralName {
  tag: number;
  value: Buffer;
}

/** AlgorithmIdentifier DER: ecdsa-with-SHA256/384 (parameters absent, RFC 5758 §3.2), sha256WithRSAEncryption (NULL, RFC 4055 §5). */
export const SIGNATURE_ALGORITHM = {
  ecdsaSha256: Buffer.from('300a06082a8648ce3d040302', 'hex'),
  ecdsaSha384: Buffer.from('300a06082a8648ce3d040303', 'hex'),
  rsaSha256: Buffer.from('300d06092a864886f70d01010b0500', 'hex'),
} as const;

/** BasicConstraints; critical by default (X509-SVID §4.1 and RFC 5280 §4.2.1.9 for CAs). */
export function basicConstraintsExtension(ca: boolean, pathLength?: number, critical = true): Buffer {
  const parts = [...(ca ? [BOOLEAN_TRUE] : []), ...(pathLength === undefined ? [] : [integer(uint(pathLength))])];
  return extension(oid(OID.basicConstraints), critical, tlv(0x30, ...parts));
}

/** KeyUsage from {@link KeyUsage} flags; critical by default (X509-SVID §4.3). */
export function keyUsageExtension(flags: number, critical = true): Buffer {
  return extension(oid(OID.keyUsage), critical, namedBits(flags));
}

/** ExtendedKeyUsage from purpose OIDs. */
export function extKeyUsageExtension(purposes: readonly string[], critical = false): Buffer {
  return extension(oid(OID.extKeyUsage), critical, tlv(0x30, ...purposes.map(oid)));
}

/**
 * SubjectAltName from [tag, value] pairs; critical by default (RFC 5280 §4.2.1.6: required when
 * the subject is empty, as on an SVID).
 *
 * @example
 * ```ts
 * subjectAltNameExtension([[GeneralNameTag.uri, Buffer.from('spiffe://cluster.local/ns/default/sa/reviews')]]);
 * ```
 */
export function subjectAltNameExtension(names: ReadonlyArray<readonly [number, Uint8Array]>, critical = true): Buffer {
  return extension(oid(OID.subjectAltName), critical, tlv(0x30, ...names.map(([tag, value]) => tlv(tag, value))));
}

/** SubjectKeyIdentifier (never critical, RFC 5280 §4.2.1.2). */
export function subjectKeyIdentifierExtension(id: Uint8Array): Buffer {
  return extension(oid(OID.subjectKeyIdentifier), false, tlv(0x04, id));
}

/** AuthorityKeyIdentifier with only the keyIdentifier field (never critical, RFC 5280 §4.2.1.1). */
export function authorityKeyIdentifierExtension(id: Uint8Array): Buffer {
  return extension(oid(OID.authorityKeyIdentifier), false, tlv(0x30, tlv(0x80, id)));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits of an SPKI (DER). */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = expectTlv(spkiDer, 0, 0x30, spkiDer.length, 'SubjectPublicKeyInfo');
  const [, key] = children(spkiDer, spki, 2);
  if (!key) throw new RangeError('DER: SubjectPublicKeyInfo has no key');
  return createHash('sha1').update(readBitString(spkiDer, key)).digest();
}

/**
 * A Name with one attribute per RDN, in order. Values are PrintableString when they fit its
 * alphabet, else UTF8String (the choice @peculiar/x509 made for the roots meshlet wrote before).
 */
export function name(attributes: ReadonlyArray<readonly [string, string]>): Buffer {
  return tlv(0x30, ...attributes.map(([type, value]) => {
    const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value);
    return tlv(0x31, tlv(0x30, oid(type), tlv(printable ? 0x13 : 0x0c, Buffer.from(value, printable ? 'latin1' : 'utf8'))));
  }));
}

/** The 4 or 16 bytes of an IP address for an iPAddress GeneralName. */
export function ipAddressBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  if (family !== 6) throw new TypeError(`not an IP address: ${ip}`);
  // isIP accepted it, so: hex groups, at most one '::', optionally a dotted IPv4 tail.
  let text = ip.replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Signs `tbs` (a TBSCertificate or CertificationRequestInfo) and wraps it with its algorithm and signature. */
export function signed(tbs: Buffer, algorithmDer: Buffer, hash: string, key: KeyObject): Buffer {
  // node:crypto writes ECDSA signatures as DER Ecdsa-Sig-Value, what X.509 carries (RFC 5758 §3.2).
  return tlv(0x30, tbs, algorithmDer, bitString(sign(hash, tbs, key)));
}

/** One extension as read: its OID, criticality and the contents of extnValue. */
export interface ExtensionField {
  oid: string;
  critical: boolean;
  value: Buffer;
}

/** The fields of a certificate meshlet reads itself. */
export interface CertificateFields {
  /** DER of the subject Name (`30 00` when empty). */
  subject: Buffer;
  /** DER of subjectPublicKeyInfo. */
  spki: Buffer;
  extensions: ExtensionField[];
}

/**
 * Reads a certificate's subject, key and extensions; RangeError on malformed DER. Signatures
 * and validity are node:crypto's job (`X509Certificate`).
 *
 * @example
 * ```ts
 * const { extensions } = readCertificate(new X509Certificate(pem).raw);
 * const ku = extensions.find((e) => e.oid === OID.keyUsage);
 * ```
 */
export function readCertificate(der: Buffer): CertificateFields {
  const cert = expectTlv(der, 0, 0x30, der.length, 'Certificate');
  if (cert.end !== der.length) throw new RangeError('DER: trailing bytes after the Certificate');
  const tbs = expectTlv(der, cert.body, 0x30, cert.end, 'TBSCertificate');
  const fields = children(der, tbs, 10);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[at + 4];
  const spki = fields[at + 5];
  if (!subject || subject.tag !== 0x30 || !spki || spki.tag !== 0x30) throw new RangeError('DER: TBSCertificate lacks its subject or key');
  const extensions: ExtensionField[] = [];
  for (const f of fields.slice(at + 6)) {
    if (f.tag !== 0xa3) continue; // issuerUniqueID [1], subjectUniqueID [2]
    const list = expectTlv(der, f.body, 0x30, f.end, 'Extensions');
    for (const e of children(der, list, 64)) {
      const parts = children(der, e, 3);
      const critical = parts.length === 3 ? readBoolean(der, parts[1]!) : false;
      const value = parts[parts.length - 1];
      if (parts.length < 2 || !value || value.tag !== 0x04) throw new RangeError('DER: Extension must be SEQUENCE { OID, [BOOLEAN], OCTET STRING }');
      extensions.push({ oid: readOid(der, parts[0]!), critical, value: der.subarray(value.body, value.end) });
    }
  }
  return { subject: der.subarray(subject.start, subject.end), spki: der.subarray(spki.start, spki.end), extensions };
}

/** BasicConstraints extnValue. */
export function readBasicConstraints(value: Buffer): { ca: boolean; pathLength?: number } {
  const seq = whole(value, 0x30, 'BasicConstraints');
  let ca = false;
  let pathLength: number | undefined;
  for (const t of children(value, seq, 2)) {
    if (t.tag === 0x01) ca = readBoolean(value, t);
    else pathLength = readSmallInteger(value, t);
  }
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

/** KeyUsage extnValue as {@link KeyUsage} flags. */
export function readKeyUsage(value: Buffer): number {
  return readNamedBits(value, whole(value, 0x03, 'KeyUsage'));
}

/** ExtKeyUsage extnValue as purpose OIDs. */
export function readExtKeyUsage(value: Buffer): string[] {
  return children(value, whole(value, 0x30, 'ExtKeyUsage'), 32).map((t) => readOid(value, t));
}

/** GeneralNames (a SAN extnValue): context tag and raw value of each. */
export function readGeneralNames(value: Buffer): GeneralName[] {
  return children(value, whole(value, 0x30, 'GeneralNames'), 64).map((t) => ({ tag: t.tag, value: value.subarray(t.body, t.end) }));
}

/** SubjectKeyIdentifier extnValue: the key identifier bytes. */
export function readSubjectKeyIdentifier(value: Buffer): Buffer {
  const t = whole(value, 0x04, 'SubjectKeyIdentifier');
  return value.subarray(t.body, t.end);
}

function whole(buf: Buffer, tag: number, what: string) {
  const t = expectTlv(buf, 0, tag, buf.length, what);
  if (t.end !== buf.length) throw new RangeError(`DER: trailing bytes after ${what}`);
  return t;
}

function uint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`DER: ${n} is not a non-negative integer`);
  const bytes: number[] = [];
  for (let v = n; v > 0 || bytes.length === 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}
