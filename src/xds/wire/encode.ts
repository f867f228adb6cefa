/**
 * Table-driven protobuf encoding of plain objects, as protobufjs `encode(fromObject(object))`
 * does (keepCase names): fields in number order, a singular field written whenever it is set
 * (even to its default), repeated and map fields when non-empty, proto3 repeated numerics
 * packed, enums by name or number (unknown names leave the field unset), 64-bit integers from
 * numbers or decimal strings. Throws a TypeError on a wrongly shaped object, as fromObject does.
 */
import { Kind, messageSchema, wireTypeOf, type FieldSchema, type MessageSchema } from './schema.js';

class Writer {
  private chunks: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(16);
  length = 0;

  varint(v: bigint | number): void {
    let n = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v;
    let i = 0;
    if (typeof n === 'number') {
      if (n < 0) return this.varint(BigInt(n));
      while (n > 0x7f) {
        this.scratch[i++] = (n % 128) | 0x80;
        n = Math.floor(n / 128);
      }
      this.scratch[i++] = n;
    } else {
      while (n > 0x7fn) {
        this.scratch[i++] = Number(n & 0x7fn) | 0x80;
        n >>= 7n;
      }
      this.scratch[i++] = Number(n);
    }
    this.raw(Buffer.from(this.scratch.subarray(0, i)));
  }

  tag(id: number, wireType: number): void {
    this.varint(((id << 3) | wireType) >>> 0);
  }

  raw(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  fixed(size: 4 | 8, write: (b: Buffer) => void): void {
    const b = Buffer.allocUnsafe(size);
    write(b);
    this.raw(b);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function typeError(path: string, what: string): TypeError {
  return new TypeError(`${path}: ${what} expected`);
}

function long(v: unknown, signed: boolean): bigint {
  const n = typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? Math.trunc(v) : String(v));
  return signed ? BigInt.asIntN(64, n) : BigInt.asUintN(64, n);
}

/** Writes one value (no tag); returns false for an enum name that is unknown (field skipped). */
function value(w: Writer, f: FieldSchema, v: unknown, path: string): boolean {
  switch (f.kind) {
    case Kind.String: {
      const b = Buffer.from(String(v), 'utf8');
      w.varint(b.length);
      w.raw(b);
      return true;
    }
    case Kind.Bytes: {
      const b = typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v as Uint8Array);
      w.varint(b.length);
      w.raw(b);
      return true;
    }
    case Kind.Message: {
      if (typeof v !== 'object' || v === null) throw typeError(path, 'object');
      const b = encodeWith((f.message as () => MessageSchema)(), v as Record<string, unknown>, path);
      w.varint(b.length);
      w.raw(b);
      return true;
    }
    case Kind.Enum: {
      const n = typeof v === 'number' ? v : f.enumByName?.get(String(v));
      if (n === undefined) return false;
      w.varint(BigInt(n | 0));
      return true;
    }
    case Kind.Bool: w.varint(v ? 1 : 0); return true;
    case Kind.Int32: w.varint(BigInt((v as number) | 0)); return true;
    case Kind.Uint32: w.varint((v as number) >>> 0); return true;
    case Kind.Sint32: { const n = (v as number) | 0; w.varint(((n << 1) ^ (n >> 31)) >>> 0); return true; }
    case Kind.Int64: w.varint(long(v, true)); return true;
    case Kind.Uint64: w.varint(long(v, false)); return true;
    case Kind.Sint64: { const n = long(v, true); w.varint((n << 1n) ^ (n >> 63n)); return true; }
    case Kind.Fixed32: w.fixed(4, (b) => b.writeUInt32LE((v as number) >>> 0)); return true;
    case Kind.Sfixed32: w.fixed(4, (b) => b.writeInt32LE((v as number) | 0)); return true;
    case Kind.Float: w.fixed(4, (b) => b.writeFloatLE(Number(v))); return true;
    case Kind.Fixed64: w.fixed(8, (b) => b.writeBigUInt64LE(long(v, false))); return true;
    case Kind.Sfixed64: w.fixed(8, (b) => b.writeBigInt64LE(long(v, true))); return true;
    case Kind.Double: w.fixed(8, (b) => b.writeDoubleLE(Number(v))); return true;
  }
}

/** One field: tag + value into a sub-writer, so an unknown enum name writes nothing. */
function field(w: Writer, f: FieldSchema, v: unknown, path: string): void {
  const sub = new Writer();
  sub.tag(f.id, wireTypeOf(f.kind));
  if (value(sub, f, v, path)) w.raw(sub.finish());
}

function encodeWith(schema: MessageSchema, object: Record<string, unknown>, path: string): Buffer {
  const w = new Writer();
  for (const f of schema.sorted) {
    const v = object[f.name];
    if (v == null || !Object.prototype.hasOwnProperty.call(object, f.name)) continue;
    const at = `${path}.${f.name}`;
    if (f.mapKey !== undefined) {
      if (typeof v !== 'object') throw typeError(at, 'object');
      const keyField: FieldSchema = { name: 'key', index: 0, id: 1, kind: f.mapKey, repeated: false, packed: false };
      const valueField: FieldSchema = { ...f, id: 2, mapKey: undefined, repeated: false } as FieldSchema;
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        const entry = new Writer();
        field(entry, keyField, f.mapKey === Kind.Bool ? k === 'true' : k, at);
        if (item != null) field(entry, valueField, item, `${at}.${k}`);
        const b = entry.finish();
        w.tag(f.id, 2);
        w.varint(b.length);
        w.raw(b);
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw typeError(at, 'array');
      if (v.length === 0) continue;
      if (f.packed) {
        const body = new Writer();
        for (const item of v) value(body, f, item, at);
        const b = body.finish();
        w.tag(f.id, 2);
        w.varint(b.length);
        w.raw(b);
      } else for (const item of v) field(w, f, item, at);
    } else field(w, f, v, at);
  }
  return w.finish();
}

/**
 * Encodes a plain object as the message type `fullName`.
 *
 * @example
 * ```ts
 * const bytes = encode('envoy.config.core.v3.Node', { id: 'web-1', cluster: 'web' });
 * ```
 */
export function encode(fullName: string, object: Record<string, unknown>): Buffer {
  return encodeWith(messageSchema(fullName), object, `.${fullName}`);
}
