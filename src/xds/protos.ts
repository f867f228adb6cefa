/**
 * protobufjs' reflection over the xDS descriptor, for the control server (it encodes what it
 * translates) and tests. Loaded on first use: a mesh client decodes with the table-driven codec
 * in wire/ and never pays protobufjs' ~20 ms load and per-type code generation.
 */
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs/light.js';
import { readDescriptor } from './descriptor.js';

export { DESCRIPTOR_FILE } from './descriptor.js';

let cached: protobuf.Root | undefined;

/** What protobufjs (7.5+) keeps for editions; resolved once for the tree, not per type. */
interface FeatureResolvable { _resolveFeaturesRecursive?(edition: string): unknown }

/**
 * The protobuf root with every xDS message meshlet uses, built once per process on first use.
 * Types are resolved lazily (on their first encode/decode), so only the messages a process
 * actually speaks pay protobufjs' code generation; protobufjs' eager `resolveAll()` would
 * generate a constructor for all ~360.
 */
export function xdsRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new (createRequire(import.meta.url)('protobufjs/light.js') as typeof protobuf).Root();
  root.addJSON(readDescriptor().nested as NonNullable<protobuf.INamespace['nested']>);
  // Editions features (packed repeated scalars in proto3) are resolved by resolveAll(); resolve
  // just them, keeping the rest lazy. Older protobufjs without editions: resolve everything.
  const r = root as unknown as FeatureResolvable;
  if (typeof r._resolveFeaturesRecursive === 'function') r._resolveFeaturesRecursive('proto3');
  else root.resolveAll();
  cached = root;
  return root;
}

const types = new Map<string, protobuf.Type>();

/**
 * Looks up a message type by its fully qualified name, e.g. `envoy.config.listener.v3.Listener`.
 * Memoized: protobufjs' `lookupType` walks the namespace tree on every call (it was the top
 * self-time entry of the xDS client's CPU profile), and every encode/decode asks for a type.
 */
export function messageType(fullName: string): protobuf.Type {
  let type = types.get(fullName);
  if (type === undefined) {
    type = xdsRoot().lookupType(fullName);
    types.set(fullName, type);
  }
  return type;
}
