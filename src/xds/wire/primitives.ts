/**
 * Protobuf wire-format primitives for the hand-written codecs of the messages that cross a
 * stream on every push and ACK (discovery.ts; the CA protocol). protobufjs' generic path
 * (lookup → decode → toObject, or fromObject → encode) costs tens of µs per message on cold
 * code, times every client on every change; these helpers read and write exactly the fields
 * meshlet uses. The codecs built on them are tested byte-for-byte against protobufjs
 * (test/unit/xds/ads-codec.test.ts, test/unit/control/wire.test.ts).
 */

/** Bytes a varint of a non-negative integer (< 2^53) takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of an int32 as protobuf writes it: negative numbers take 10 bytes (sign-extended to 64 bits). */
export function int32Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

/** Writes an int32 varint the way protobufjs' `Writer.int32` does (negative: 64-bit two's complement). */
export function writeInt32(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 0) return writeVarint(buf, pos, n);
  let lo = n >>> 0;
  let hi = 0xffffffff;
  while (hi) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** Size of a length-delimited field with a one-byte tag (field numbers < 16) and a `len`-byte payload. */
export function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Writes tag + length + bytes. */
export function writeBytesField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** Writes tag + length + the UTF-8 of `s` (whose encoded length is `len`). */
export function writeStringField(buf: Buffer, pos: number, tag: number, s: string, len: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, len);
  return pos + buf.write(s, pos, len, 'utf8');
}

/** A position in a buffer being decoded; every read throws a RangeError past `end`. */
export class WireReader {
  pos: number;
  constructor(readonly buf: Buffer, pos = 0, readonly end = buf.length) {
    this.pos = pos;
  }

  static of(bytes: Uint8Array): WireReader {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new WireReader(buf);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as an unsigned number; only the low 32 bits are kept for longer ones (enough for tags, lengths, int32). */
  varint32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError(`index out of range: ${this.pos} + 1 > ${this.end}`);
      const b = this.buf[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) return result >>> 0;
    }
    throw new Error('invalid varint encoding');
  }

  /** Start and end of a length-delimited payload; the reader moves past it. */
  span(): [number, number] {
    const len = this.varint32();
    const start = this.pos;
    if (len > this.end - start) throw new RangeError(`index out of range: ${start} + ${len} > ${this.end}`);
    this.pos = start + len;
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  /** Payload bytes as a view on the input (no copy, as protobufjs does for Buffers). */
  bytes(): Buffer {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  /** Skips a field of the given wire type (the tag was read already). */
  skipField(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint32();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.span();
        return;
      case 3:
        for (;;) {
          const tag = this.varint32();
          if ((tag & 7) === 4) return;
          this.skipField(tag & 7);
        }
      case 5:
        this.advance(4);
        return;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  /** Throws unless a known field came with the wire type its declaration needs. */
  expect(tag: number, wireType: number): void {
    if ((tag & 7) !== wireType) throw new Error(`field ${tag >>> 3}: wire type ${tag & 7}, expected ${wireType}`);
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new RangeError(`index out of range: ${this.pos} + ${n} > ${this.end}`);
    this.pos += n;
  }
}
