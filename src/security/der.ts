/**
 * Just enough DER (X.690) for meshlet's certificates, on top of node:crypto: a bounded reader and
 * a writer of the few universal types X.509 and PKCS#10 use. The CA's hot path writes a
 * TBSCertificate around parts that are already DER (@peculiar/x509's ASN.1 schema layer cost
 * ~5–9 ms of CPU per certificate there); the workload writes its PKCS#10 request; the lint reads
 * extensions node's `X509Certificate` does not expose. Everything written is checked
 * byte-for-byte against @peculiar/x509 (a devDependency, tests only) in test/unit/ca/sign.test.ts,
 * test/unit/ca/root.test.ts and test/unit/security/x509.test.ts, and parsed back by node:crypto.
 *
 * The reader accepts only definite lengths of up to 4 length bytes and never reads past its
 * bounds; every violation is a RangeError.
 */

/** One TLV: tag byte, where its value starts and where it ends (exclusive). */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first value byte. */
  body: number;
  /** Offset after the value. */
  end: number;
}

/** Reads the TLV at `pos`, bounded by `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit = buf.length): Tlv {
  if (pos + 2 > limit) throw new RangeError(`DER: truncated header at ${pos}`);
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new RangeError(`DER: multi-byte tag at ${pos}`);
  let p = pos + 1;
  const first = buf[p++]!;
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new RangeError(`DER: unsupported length form at ${pos}`);
    if (p + n > limit) throw new RangeError(`DER: truncated length at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
    if (len < 0x80 || (n > 1 && buf[p - n] === 0)) throw new RangeError(`DER: non-minimal length at ${pos}`);
  }
  if (p + len > limit) throw new RangeError(`DER: value of ${len} bytes at ${pos} runs past the end`);
  return { tag, start: pos, body: p, end: p + len };
}

/** Reads the TLV at `pos` and checks its tag. */
export function expectTlv(buf: Uint8Array, pos: number, tag: number, limit: number, what: string): Tlv {
  const t = readTlv(buf, pos, limit);
  if (t.tag !== tag) throw new RangeError(`DER: ${what}: tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return t;
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv, max = 256): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.body; p < parent.end;) {
    if (out.length >= max) throw new RangeError(`DER: more than ${max} elements`);
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Dotted OID text of an OBJECT IDENTIFIER value. */
export function readOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06 || t.end === t.body) throw new RangeError('DER: expected an OBJECT IDENTIFIER');
  if (t.end - t.body > 64) throw new RangeError('DER: OID longer than 64 bytes');
  const parts: Array<number | bigint> = [];
  let value = 0;
  // Arcs past 2^53 (a 2.25.<UUID> OID, X.667) are read as bigint; the usual ones stay numbers.
  let big: bigint | undefined;
  for (let p = t.body; p < t.end; p++) {
    const b = buf[p]!;
    if (big !== undefined) big = big * 128n + BigInt(b & 0x7f);
    else if (value > Number.MAX_SAFE_INTEGER / 128) big = BigInt(value) * 128n + BigInt(b & 0x7f);
    else value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      const arc = big ?? value;
      if (parts.length === 0) parts.push(arc < 80 ? Math.floor(Number(arc) / 40) : 2, arc < 80 ? Number(arc) % 40 : typeof arc === 'bigint' ? arc - 80n : arc - 80);
      else parts.push(arc);
      value = 0;
      big = undefined;
    }
  }
  if (buf[t.end - 1]! & 0x80) throw new RangeError('DER: truncated OID');
  return parts.join('.');
}

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** Encodes tag + length + the concatenated parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let size = 0;
  for (const p of parts) size += p.length;
  const head = Buffer.from([tag, ...lengthBytes(size)]);
  return Buffer.concat([head, ...parts], head.length + size);
}

/** A positive INTEGER from big-endian magnitude bytes (a 0x00 is prepended when the top bit is set). */
export function integer(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  return bytes[0]! & 0x80 ? tlv(0x02, Buffer.from([0]), bytes) : tlv(0x02, bytes);
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, both in whole seconds UTC. */
export function time(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const year = Number(iso.slice(0, 4));
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'latin1')) : tlv(0x18, Buffer.from(digits, 'latin1'));
}

/** An Extension SEQUENCE { extnID, critical (only when TRUE, as DER demands), extnValue }. */
export function extension(oidDer: Uint8Array, critical: boolean, value: Uint8Array): Buffer {
  return critical ? tlv(0x30, oidDer, BOOLEAN_TRUE, tlv(0x04, value)) : tlv(0x30, oidDer, tlv(0x04, value));
}

/** DER of BOOLEAN TRUE (FALSE is never written: DER omits DEFAULT FALSE fields). */
export const BOOLEAN_TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** OBJECT IDENTIFIER DER from dotted text ('2.5.29.17'). */
export function oid(dotted: string): Buffer {
  const texts = dotted.split('.');
  if (texts.length < 2 || texts.some((a) => !/^(0|[1-9][0-9]{0,38})$/.test(a))) throw new RangeError(`DER: bad OID ${dotted}`);
  // bigint arithmetic: a 2.25.<UUID> arc (X.667) is a 128-bit number.
  const arcs = texts.map(BigInt);
  if (arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new RangeError(`DER: bad OID ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
    const base128: number[] = [Number(arc % 128n)];
    for (let v = arc / 128n; v > 0n; v /= 128n) base128.unshift(0x80 | Number(v % 128n));
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes (a signature, a public key). */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(0x03, Buffer.from([0]), bytes);
}

/**
 * A named-bit BIT STRING (KeyUsage): bit i of `flags` is bit i of the string, and DER drops the
 * trailing zero bits (X.690 §11.2.2), so `digitalSignature` alone is `03 02 07 80`.
 */
export function namedBits(flags: number): Buffer {
  const bytes: number[] = [];
  for (let i = 0; flags >> i; i++) if ((flags >> i) & 1) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (0x80 >> (i & 7));
  if (bytes.length === 0) return Buffer.from([0x03, 0x01, 0x00]);
  for (let i = 0; i < bytes.length; i++) bytes[i] ??= 0;
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (!((last >> unused) & 1)) unused++;
  return tlv(0x03, Buffer.from([unused]), Buffer.from(bytes));
}

/** The flags of a named-bit BIT STRING (the inverse of {@link namedBits}, up to 16 bits). */
export function readNamedBits(buf: Uint8Array, t: Tlv): number {
  if (t.tag !== 0x03 || t.end === t.body) throw new RangeError('DER: expected a BIT STRING');
  const unused = buf[t.body]!;
  const bytes = t.end - t.body - 1;
  if (unused > 7 || (bytes === 0 && unused !== 0) || bytes > 2) throw new RangeError('DER: bad named-bit BIT STRING');
  let flags = 0;
  for (let i = 0; i < bytes * 8 - unused; i++) if (buf[t.body + 1 + (i >> 3)]! & (0x80 >> (i & 7))) flags |= 1 << i;
  return flags;
}

/** The bytes of a BIT STRING with no unused bits (a signature, a public key). */
export function readBitString(buf: Uint8Array, t: Tlv): Uint8Array {
  if (t.tag !== 0x03 || t.end === t.body || buf[t.body] !== 0) throw new RangeError('DER: expected a BIT STRING of whole bytes');
  return buf.subarray(t.body + 1, t.end);
}

/** A BOOLEAN's value (DER: 0x00 or 0xff only). */
export function readBoolean(buf: Uint8Array, t: Tlv): boolean {
  if (t.tag !== 0x01 || t.end - t.body !== 1 || (buf[t.body] !== 0 && buf[t.body] !== 0xff)) throw new RangeError('DER: bad BOOLEAN');
  return buf[t.body] === 0xff;
}

/** A small non-negative INTEGER (a path length, a version). */
export function readSmallInteger(buf: Uint8Array, t: Tlv): number {
  const n = t.end - t.body;
  if (t.tag !== 0x02 || n === 0 || n > 4 || buf[t.body]! & 0x80) throw new RangeError('DER: expected a small non-negative INTEGER');
  let v = 0;
  for (let p = t.body; p < t.end; p++) v = v * 256 + buf[p]!;
  return v;
}
