/**
 * Table-driven protobuf decoding into the plain objects protobufjs gives for
 * `toObject(decode(bytes), { longs: String, enums: String, oneofs: true, defaults: false })`
 * (keepCase names): a field appears only when it was on the wire (repeated and map fields only
 * when non-empty), 64-bit integers are decimal strings, enums are names (unknown numbers stay
 * numbers), bytes are views on the input, and each set member of a oneof also sets
 * `<oneof>: '<field>'`. Like protobufjs, a singular field is read as its declared type whatever
 * its wire type, a repeated message field seen twice keeps both, and a singular one keeps the
 * last. test/unit/xds/wire-codec.test.ts checks equality with protobufjs on real resources.
 */
import { Kind, messageSchema, type FieldSchema, type MessageSchema } from './schema.js';

/** As protobufjs' Reader.recursionLimit. */
const MAX_DEPTH = 100;

class Reader {
  pos = 0;
  /** End of the innermost message being read: nothing inside may run past it (as in protobufjs). */
  constructor(readonly buf: Buffer, public end: number) {}

  fail(n: number): never {
    throw new RangeError(`index out of range: ${this.pos} + ${n} > ${this.end}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail(1);
    return this.buf[this.pos++] as number;
  }

  /** The low 32 bits of a varint, unsigned. */
  uint32(): number {
    let b = this.byte();
    let v = b & 0x7f;
    if (b < 0x80) return v;
    b = this.byte(); v |= (b & 0x7f) << 7; if (b < 0x80) return v;
    b = this.byte(); v |= (b & 0x7f) << 14; if (b < 0x80) return v;
    b = this.byte(); v |= (b & 0x7f) << 21; if (b < 0x80) return v;
    b = this.byte(); v = (v | ((b & 0x0f) << 28)) >>> 0; if (b < 0x80) return v;
    for (let i = 0; i < 5; i++) if (this.byte() < 0x80) return v;
    throw new Error('invalid varint encoding');
  }

  /** A full 64-bit varint, unsigned. */
  uint64(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, v);
    }
    throw new Error('invalid varint encoding');
  }

  advance(n: number): void {
    if (n > this.end - this.pos) this.fail(n);
    this.pos += n;
  }

  length(): number {
    const n = this.uint32();
    if (n > this.end - this.pos) this.fail(n);
    return n;
  }

  skipType(wireType: number, depth: number): void {
    switch (wireType) {
      case 0: this.uint64(); return;
      case 1: this.advance(8); return;
      case 2: this.advance(this.length()); return;
      case 3: {
        if (depth > MAX_DEPTH) throw new Error('maximum nesting depth exceeded');
        for (let t = this.uint32(); (t & 7) !== 4; t = this.uint32()) this.skipType(t & 7, depth + 1);
        return;
      }
      case 5: this.advance(4); return;
      default: throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }
}

function scalar(r: Reader, f: FieldSchema, depth: number): unknown {
  switch (f.kind) {
    case Kind.String: {
      const n = r.length();
      const s = r.buf.toString('utf8', r.pos, r.pos + n);
      r.pos += n;
      return s;
    }
    case Kind.Bytes: {
      const n = r.length();
      const b = r.buf.subarray(r.pos, r.pos + n);
      r.pos += n;
      return b;
    }
    case Kind.Message: {
      const n = r.length();
      if (depth >= MAX_DEPTH) throw new Error('maximum nesting depth exceeded');
      const outer = r.end;
      r.end = r.pos + n;
      const out = readMessage(r, r.end, (f.message as () => MessageSchema)(), depth + 1);
      r.end = outer;
      return out;
    }
    case Kind.Bool: return r.uint32() !== 0;
    case Kind.Uint32: return r.uint32();
    case Kind.Int32: return r.uint32() | 0;
    case Kind.Sint32: { const v = r.uint32(); return (v >>> 1) ^ -(v & 1); }
    case Kind.Enum: {
      const v = r.uint32() | 0;
      return f.enumById?.get(v) ?? v;
    }
    case Kind.Uint64: return r.uint64().toString();
    case Kind.Int64: return BigInt.asIntN(64, r.uint64()).toString();
    case Kind.Sint64: { const v = r.uint64(); return ((v >> 1n) ^ -(v & 1n)).toString(); }
    case Kind.Fixed32: { r.advance(4); return r.buf.readUInt32LE(r.pos - 4); }
    case Kind.Sfixed32: { r.advance(4); return r.buf.readInt32LE(r.pos - 4); }
    case Kind.Float: { r.advance(4); return r.buf.readFloatLE(r.pos - 4); }
    case Kind.Fixed64: { r.advance(8); return r.buf.readBigUInt64LE(r.pos - 8).toString(); }
    case Kind.Sfixed64: { r.advance(8); return r.buf.readBigInt64LE(r.pos - 8).toString(); }
    case Kind.Double: { r.advance(8); return r.buf.readDoubleLE(r.pos - 8); }
  }
}

/** Map keys as protobufjs writes them into objects: the key's string form. */
function mapEntry(r: Reader, f: FieldSchema, depth: number): [string, unknown] {
  const n = r.length();
  const outer = r.end;
  const end = (r.end = r.pos + n);
  const keyField: FieldSchema = { name: 'key', index: 0, id: 1, kind: f.mapKey ?? Kind.String, repeated: false, packed: false };
  let key: unknown;
  let value: unknown;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) key = scalar(r, keyField, depth);
    else if (tag >>> 3 === 2) value = scalar(r, f, depth);
    else r.skipType(tag & 7, depth);
  }
  r.end = outer;
  if (key === undefined) key = f.mapKey === Kind.String || f.mapKey === undefined ? '' : f.mapKey === Kind.Bool ? false : 0;
  if (value === undefined) value = f.kind === Kind.Message ? readMessage(new Reader(Buffer.alloc(0), 0), 0, (f.message as () => MessageSchema)(), depth + 1) : defaultOf(f);
  return [String(key), value];
}

function defaultOf(f: FieldSchema): unknown {
  switch (f.kind) {
    case Kind.String: return '';
    case Kind.Bytes: return Buffer.alloc(0);
    case Kind.Bool: return false;
    case Kind.Int64: case Kind.Uint64: case Kind.Sint64: case Kind.Fixed64: case Kind.Sfixed64: return '0';
    case Kind.Enum: return f.enumById?.get(0) ?? 0;
    default: return 0;
  }
}

function readMessage(r: Reader, end: number, schema: MessageSchema, depth: number): Record<string, unknown> {
  const seen: unknown[] = new Array(schema.fields.length);
  while (r.pos < end) {
    const tag = r.uint32();
    const f = schema.byId.get(tag >>> 3);
    if (!f) {
      if ((tag & 7) === 4) throw new Error(`invalid wire type 4 at offset ${r.pos}`);
      r.skipType(tag & 7, depth);
      continue;
    }
    if (f.mapKey !== undefined) {
      const [k, v] = mapEntry(r, f, depth);
      let m = seen[f.index] as Record<string, unknown> | undefined;
      if (!m) seen[f.index] = m = {};
      m[k] = v;
    } else if (f.repeated) {
      let list = seen[f.index] as unknown[] | undefined;
      if (!list) seen[f.index] = list = [];
      if (f.kind !== Kind.Message && f.kind !== Kind.String && f.kind !== Kind.Bytes && (tag & 7) === 2) {
        const stop = r.pos + r.length();
        while (r.pos < stop) list.push(scalar(r, f, depth));
      } else list.push(scalar(r, f, depth));
    } else seen[f.index] = scalar(r, f, depth);
  }
  if (r.pos > end) r.fail(r.pos - end);
  // Declaration order, as toObject builds it; a oneof names the last of its members that is set.
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    const v = seen[f.index];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[f.name] = v;
    if (f.oneof) out[f.oneof] = f.name;
  }
  return out;
}

/**
 * Decodes `bytes` as the message type `fullName`. Throws on malformed input (callers report
 * `MESHLET_ERR_XDS_DECODE`).
 *
 * @example
 * ```ts
 * const cla = decodeMessage<ClusterLoadAssignmentProto>('envoy.config.endpoint.v3.ClusterLoadAssignment', any.value);
 * ```
 */
export function decode<T = Record<string, unknown>>(fullName: string, bytes: Uint8Array): T {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf, buf.length);
  return readMessage(r, buf.length, messageSchema(fullName), 0) as T;
}
