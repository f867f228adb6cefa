import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs/light.js';
import { packageRoot } from '../internal/package-root.js';

/**
 * The Envoy/xDS message types meshlet uses, as a protobufjs JSON descriptor built at build time
 * (scripts/xds-protos.mjs) from the .proto files inside @grpc/grpc-js-xds, pruned to the types
 * meshlet encodes or decodes. Nothing is parsed from .proto text at run time, and the package
 * needs neither @grpc/grpc-js-xds nor the protobufjs parser. Shipped in the package at
 * {@link DESCRIPTOR_FILE}; a source checkout builds it on first use.
 */
export const DESCRIPTOR_FILE = 'generated/xds-protos.json';

let cached: protobuf.Root | undefined;

function readDescriptor(): { nested: NonNullable<protobuf.INamespace['nested']> } {
  const root = packageRoot();
  const file = join(root, DESCRIPTOR_FILE);
  const generator = join(root, 'scripts', 'xds-protos.mjs');
  if (!existsSync(file) && existsSync(generator)) {
    spawnSync(process.execPath, [generator], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { nested: NonNullable<protobuf.INamespace['nested']> };
  } catch (err) {
    throw new Error(`meshlet: cannot read the xDS descriptor ${file} (${(err as Error).message}); in a checkout run \`npm run build\``, { cause: err });
  }
}

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
  const root = new protobuf.Root();
  root.addJSON(readDescriptor().nested);
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
