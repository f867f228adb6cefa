/**
 * google.protobuf.Struct ⇄ JSON, in the protobufjs object form used by {@link xdsRoot}
 * (`{ fields: { key: { string_value: 'x' } } }`). Node metadata and endpoint/cluster metadata
 * travel as Structs; everything else in meshlet wants plain JSON.
 */

import type { JsonObject, JsonValue } from '../internal/json.js';

export type { JsonObject, JsonValue };

/** protobufjs object form of google.protobuf.Value (snake_case, see protos.ts). */
export interface ValueProto {
  null_value?: number | string;
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  struct_value?: StructProto;
  list_value?: { values?: ValueProto[] };
}

/** protobufjs object form of google.protobuf.Struct. */
export interface StructProto {
  fields?: Record<string, ValueProto>;
}

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one Value. Accepts the camelCase spelling too (`stringValue`), which is what a root
 * without meshlet's struct patch produces, so Structs decoded elsewhere still read correctly.
 */
function valueToJson(value: unknown): JsonValue {
  if (!isObject(value)) return null;
  const str = pick(value, 'string_value', 'stringValue');
  if (typeof str === 'string') return str;
  const num = pick(value, 'number_value', 'numberValue');
  if (typeof num === 'number') return num;
  const bool = pick(value, 'bool_value', 'boolValue');
  if (typeof bool === 'boolean') return bool;
  const struct = pick(value, 'struct_value', 'structValue');
  if (isObject(struct)) return structToJson(struct);
  const list = pick(value, 'list_value', 'listValue');
  if (isObject(list)) return Array.isArray(list['values']) ? list['values'].map(valueToJson) : [];
  return null;
}

// A module-level function, not a closure per Value: metadata of every endpoint and cluster
// passes through here on each push (and a closure costs an allocation, plus a defineProperty
// under tsx's keepNames).
function pick(value: Loose, snake: string, camel: string): unknown {
  return value[snake] !== undefined ? value[snake] : value[camel];
}

/**
 * Converts a Struct in protobufjs object form to plain JSON. Missing or malformed input gives `{}`.
 *
 * @example
 * ```ts
 * structToJson({ fields: { app: { string_value: 'reviews' } } }); // { app: 'reviews' }
 * ```
 */
export function structToJson(struct: unknown): JsonObject {
  const out: JsonObject = {};
  if (!isObject(struct) || !isObject(struct['fields'])) return out;
  for (const [key, value] of Object.entries(struct['fields'])) out[key] = valueToJson(value);
  return out;
}

function jsonToValue(value: unknown): ValueProto {
  if (value === null || value === undefined) return { null_value: 0 };
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(jsonToValue) } };
  if (typeof value === 'object') return { struct_value: jsonToStruct(value as Loose) };
  // bigint, function, symbol: not JSON; stringify rather than silently drop.
  return { string_value: String(value) };
}

/**
 * Converts plain JSON to a Struct in protobufjs object form (ready for `fromObject`).
 * `undefined` properties are skipped, as JSON.stringify would.
 *
 * @example
 * ```ts
 * jsonToStruct({ app: 'reviews' }); // { fields: { app: { string_value: 'reviews' } } }
 * ```
 */
export function jsonToStruct(json: Readonly<Record<string, unknown>>): StructProto {
  const fields: Record<string, ValueProto> = {};
  for (const [key, value] of Object.entries(json)) {
    if (value !== undefined) fields[key] = jsonToValue(value);
  }
  return { fields };
}
