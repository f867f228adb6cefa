/**
 * What each schema of the DSL accepts, recorded beside the validating function so the
 * configuration reference (docs/configuration.md, scripts/gen-config-docs.ts) is generated from
 * the schemas themselves and cannot drift from what the loader checks. Kept in a WeakMap: the
 * schemas stay plain functions and validation pays nothing for it.
 */
import type { Schema } from './schema.js';
import type { ObjectSpec } from './schema-object.js';

/** The shape of one schema: a scalar with its bounds, a collection, or an object. */
export type SchemaInfo =
  | { type: 'string'; nonEmpty?: boolean; checked?: boolean }
  | { type: 'integer' | 'number'; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'duration'; min?: number }
  | { type: 'list'; item: Schema; nonEmpty?: boolean }
  | { type: 'map'; value: Schema }
  | { type: 'object'; spec: ObjectSpec };

const INFO = new WeakMap<Schema, SchemaInfo>();

/** Records what `schema` accepts and returns it (used by the DSL's builders). */
export function describeSchema<S extends Schema>(schema: S, info: SchemaInfo): S {
  INFO.set(schema, info);
  return schema;
}

/**
 * What a schema accepts, or undefined for a hand-written one (e.g. a route weight).
 *
 * @example
 * ```ts
 * const info = schemaInfo(KINDS.VirtualService.spec);
 * if (info?.type === 'object') console.log(Object.keys(info.spec.fields)); // hosts, gateways, http, …
 * ```
 */
export function schemaInfo(schema: Schema): SchemaInfo | undefined {
  return INFO.get(schema);
}
