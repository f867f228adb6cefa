/**
 * Just enough DER for the CA's hot path: reading a CSR and writing a TBSCertificate around parts
 * that are already DER. @peculiar/x509's ASN.1 schema layer costs ~5–9 ms of CPU per certificate
 * on this project's machines (CSR parse + extension lookup + generator), which caps a signing
 * worker near 100 certificates/s; these few functions do the same work in well under a
 * millisecond. Everything they write is checked byte-for-byte against @peculiar/x509's encoding
 * in test/unit/ca/der.test.ts, and every issued certificate is parsed back by @peculiar/x509 and
 * node:crypto in the CA's tests.
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
  const parts: number[] = [];
  let value = 0;
  for (let p = t.body; p < t.end; p++) {
    const b = buf[p]!;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new RangeError('DER: OID arc too large');
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
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

const BOOLEAN_TRUE = Buffer.from([0x01, 0x01, 0xff]);
