import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../internal/package-root.js';

/**
 * The Envoy/xDS message types meshlet uses, as a protobufjs JSON descriptor built at build time
 * (scripts/xds-protos.mjs) from the .proto files inside @grpc/grpc-js-xds, pruned to the types
 * meshlet encodes or decodes. Nothing is parsed from .proto text at run time, and the package
 * needs neither @grpc/grpc-js-xds nor the protobufjs parser. Shipped in the package at
 * {@link DESCRIPTOR_FILE}; a source checkout builds it on first use.
 */
export const DESCRIPTOR_FILE = 'generated/xds-protos.json';

/** The descriptor's top-level namespaces (protobufjs JSON form), read once per caller. */
export function readDescriptor(): { nested: Record<string, unknown> } {
  const root = packageRoot();
  const file = join(root, DESCRIPTOR_FILE);
  const generator = join(root, 'scripts', 'xds-protos.mjs');
  if (!existsSync(file) && existsSync(generator)) {
    spawnSync(process.execPath, [generator], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { nested: Record<string, unknown> };
  } catch (err) {
    throw new Error(`meshlet: cannot read the xDS descriptor ${file} (${(err as Error).message}); in a checkout run \`npm run build\``, { cause: err });
  }
}

