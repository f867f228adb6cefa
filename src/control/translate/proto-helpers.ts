/**
 * Small builders for the protobuf well-known shapes the generators share: `Any` (typed configs
 * are encoded here, once, with the real Envoy message types), `Struct` (spelled out with the
 * .proto's snake_case names, which the shared root registers), `FractionalPercent`, wrappers.
 */
import { messageType } from '../../xds/protos.js';

/** `google.protobuf.Any` as a plain object. */
export interface AnyObject {
  type_url: string;
  value: Uint8Array;
}

/** `google.protobuf.Struct` as a plain object. */
export interface StructObject {
  fields: Record<string, ValueObject>;
}

export type ValueObject =
  | { null_value: 'NULL_VALUE' }
  | { number_value: number }
  | { string_value: string }
  | { bool_value: boolean }
  | { struct_value: StructObject }
  | { list_value: { values: ValueObject[] } };

/**
 * Encodes `object` as the message `fullName` and wraps it in an Any. `fromObject` first, so a
 * misspelt field throws here (in tests) rather than silently vanishing on the wire.
 */
export function anyOf(fullName: string, object: Record<string, unknown> = {}): AnyObject {
  const type = messageType(fullName);
  const value = type.encode(type.fromObject(object)).finish();
  return { type_url: `type.googleapis.com/${fullName}`, value };
}

/** JSON-like data to a Struct; `undefined` members are dropped, as JSON would. */
export function toStruct(data: Record<string, unknown>): StructObject {
  const fields: Record<string, ValueObject> = {};
  for (const key of Object.keys(data).sort()) {
    const v = data[key];
    if (v !== undefined) fields[key] = toValue(v);
  }
  return { fields };
}

function toValue(v: unknown): ValueObject {
  if (v === null) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.filter((x) => x !== undefined).map(toValue) } };
  if (typeof v === 'object') return { struct_value: toStruct(v as Record<string, unknown>) };
  return { string_value: String(v) };
}

/**
 * An Istio percentage (0–100, fractional allowed) as Envoy's FractionalPercent over a million,
 * as Istio's `translatePercentToFractionalPercent` does (so 0.1% stays exact).
 */
export function fractionalPercent(percent: number): { numerator: number; denominator: 'MILLION' } {
  const clamped = Math.min(100, Math.max(0, percent));
  return { numerator: Math.round(clamped * 10_000), denominator: 'MILLION' };
}

/** `google.protobuf.UInt32Value` / `UInt64Value` / `BoolValue` plain object. */
export function wrap<T>(value: T): { value: T } {
  return { value };
}

/**
 * Any of a message with no fields (e.g. the previous-hosts retry predicate): its encoding is
 * always empty, so it needs no .proto loaded.
 */
export function emptyAny(fullName: string): AnyObject {
  return { type_url: `type.googleapis.com/${fullName}`, value: new Uint8Array(0) };
}
