/**
 * Message schemas for the table-driven codec (decode.ts, encode.ts), read from the same pruned
 * JSON descriptor protobufjs loads (generated/xds-protos.json). A mesh client decodes with these
 * instead of protobufjs: protobufjs builds reflection objects and generates code per type at run
 * time, ~75 ms and ~19 MB of RSS in a fresh process (bench/cold-start.ts), before the first
 * routed request. Types are compiled on first use, nested ones when first reached.
 */
import { readDescriptor } from '../descriptor.js';

/** How a field's values are read and written. */
export const enum Kind {
  Double, Float, Int64, Uint64, Int32, Fixed64, Fixed32, Bool, String, Bytes, Uint32, Sfixed32, Sfixed64, Sint32, Sint64,
  Message, Enum,
}

const SCALARS: Record<string, Kind> = {
  double: Kind.Double, float: Kind.Float, int64: Kind.Int64, uint64: Kind.Uint64, int32: Kind.Int32, fixed64: Kind.Fixed64,
  fixed32: Kind.Fixed32, bool: Kind.Bool, string: Kind.String, bytes: Kind.Bytes, uint32: Kind.Uint32, sfixed32: Kind.Sfixed32,
  sfixed64: Kind.Sfixed64, sint32: Kind.Sint32, sint64: Kind.Sint64,
};

/** Wire type of a kind when not packed. */
export function wireTypeOf(kind: Kind): number {
  switch (kind) {
    case Kind.Double: case Kind.Fixed64: case Kind.Sfixed64: return 1;
    case Kind.Float: case Kind.Fixed32: case Kind.Sfixed32: return 5;
    case Kind.String: case Kind.Bytes: case Kind.Message: return 2;
    default: return 0;
  }
}

export interface FieldSchema {
  name: string;
  /** Position in {@link MessageSchema.fields}. */
  index: number;
  id: number;
  kind: Kind;
  repeated: boolean;
  /** Proto3 repeated numerics are packed unless `[packed = false]`. */
  packed: boolean;
  /** Map fields: the key's kind (the value is `kind`/`message`/`enumById`). */
  mapKey?: Kind;
  /** Name of the oneof (real or proto3-optional's synthetic one) the field belongs to. */
  oneof?: string;
  /** Message fields: the type, compiled on first use. */
  message?: () => MessageSchema;
  /** Enum fields: number → name (the last name wins for aliases, as in protobufjs). */
  enumById?: ReadonlyMap<number, string>;
  /** Enum fields: name → number. */
  enumByName?: ReadonlyMap<string, number>;
}

export interface MessageSchema {
  fullName: string;
  /** In declaration order (toObject's order). */
  fields: readonly FieldSchema[];
  /** By field number, for encoding. */
  sorted: readonly FieldSchema[];
  byId: ReadonlyMap<number, FieldSchema>;
  byName: ReadonlyMap<string, FieldSchema>;
}

interface JsonNamespace {
  nested?: Record<string, JsonNode>;
}
interface JsonNode extends JsonNamespace {
  fields?: Record<string, { type: string; id: number; rule?: string; keyType?: string; options?: Record<string, unknown> }>;
  oneofs?: Record<string, { oneof: string[] }>;
  values?: Record<string, number>;
}

let root: JsonNode | undefined;
const compiled = new Map<string, MessageSchema>();

function node(fullName: string): JsonNode | undefined {
  let at: JsonNode | undefined = (root ??= { nested: readDescriptor().nested as Record<string, JsonNode> });
  for (const part of fullName.split('.')) {
    at = at?.nested?.[part];
    if (!at) return undefined;
  }
  return at;
}

/** protobufjs' lookup: the first segment from the innermost enclosing scope outwards, then down. */
function resolve(ref: string, scope: string): string | undefined {
  if (ref.startsWith('.')) return node(ref.slice(1)) ? ref.slice(1) : undefined;
  const parts = scope.split('.');
  for (let i = parts.length; i >= 0; i--) {
    const candidate = [...parts.slice(0, i), ref].join('.');
    if (node(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The schema of a message type by its fully qualified name. Throws for unknown names.
 *
 * @example
 * ```ts
 * messageSchema('envoy.config.core.v3.Node').byName.get('id'); // { id: 1, kind: Kind.String, … }
 * ```
 */
export function messageSchema(fullName: string): MessageSchema {
  const done = compiled.get(fullName);
  if (done) return done;
  const json = node(fullName);
  if (!json?.fields) throw new Error(`no such type ${fullName}`);
  const oneofOf = new Map<string, string>();
  for (const [name, o] of Object.entries(json.oneofs ?? {})) for (const f of o.oneof) oneofOf.set(f, name);
  const fields: FieldSchema[] = [];
  for (const [name, f] of Object.entries(json.fields)) {
    const repeated = f.rule === 'repeated';
    const field: FieldSchema = { name, index: fields.length, id: f.id, kind: Kind.Message, repeated, packed: false };
    const oneof = oneofOf.get(name);
    if (oneof) field.oneof = oneof;
    if (f.keyType) field.mapKey = SCALARS[f.keyType] ?? Kind.String;
    const scalar = SCALARS[f.type];
    if (scalar !== undefined) field.kind = scalar;
    else {
      const target = resolve(f.type, fullName);
      if (!target) throw new Error(`${fullName}.${name}: unknown type ${f.type}`);
      const t = node(target) as JsonNode;
      if (t.values) {
        field.kind = Kind.Enum;
        const byId = new Map<number, string>();
        for (const [n, v] of Object.entries(t.values)) byId.set(v, n);
        field.enumById = byId;
        field.enumByName = new Map(Object.entries(t.values));
      } else field.message = () => messageSchema(target);
    }
    field.packed = repeated && !f.keyType && wireTypeOf(field.kind) !== 2 && f.options?.['packed'] !== false;
    fields.push(field);
  }
  const schema: MessageSchema = {
    fullName,
    fields,
    sorted: [...fields].sort((a, b) => a.id - b.id),
    byId: new Map(fields.map((f) => [f.id, f])),
    byName: new Map(fields.map((f) => [f.name, f])),
  };
  compiled.set(fullName, schema);
  return schema;
}
