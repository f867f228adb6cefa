/**
 * Small builders for the protobuf well-known shapes the generators share: `Any` (typed configs
 * are encoded here, once, with the real Envoy message types), `Struct` (spelled out with the
 * .proto's snake_case names, which the shared root registers), `FractionalPercent`, wrappers.
 */
import { messageType } from '../../xds/protos.js';
import { cloneData, deepEqual } from './deep-equal.js';

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
  // Every rebuild re-translates everything, and most typed configs (one HCM per listener) come
  // out the same as last time: reuse their Any instead of fromObject + encode again. The JSON
  // text only finds the candidate; deepEqual decides (JSON maps NaN and null alike).
  let key: string | undefined;
  try {
    key = `${fullName}\0${JSON.stringify(object)}`;
  } catch {
    key = undefined; // bigint, cycles: not cacheable, and fromObject below reports the problem
  }
  const hit = key === undefined ? undefined : anyCache.get(key);
  if (hit && deepEqual(hit.object, object)) return hit.any;
  const type = messageType(fullName);
  // An own copy: finish() may return a view into Node's 8 KiB Buffer pool, which a cached
  // entry would otherwise keep alive whole.
  const value = Uint8Array.prototype.slice.call(type.encode(type.fromObject(object)).finish());
  const any = { type_url: `type.googleapis.com/${fullName}`, value };
  if (key !== undefined) {
    if (anyCache.size >= ANY_CACHE_MAX) anyCache.clear();
    anyCache.set(key, { object: cloneData(object), any });
  }
  return any;
}

/** Typed configs encoded by {@link anyOf}; cleared when full (a mesh has a few per listener/cluster). */
const anyCache = new Map<string, { object: unknown; any: AnyObject }>();
const ANY_CACHE_MAX = 8192;

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
