import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

/**
 * Envoy's .proto files are not copied into this package: they are read from the ones that ship
 * inside @grpc/grpc-js-xds, the maintained xDS client we interoperate with, so both sides of
 * the wire always agree on the schema.
 */
const require = createRequire(import.meta.url);

/** Proto files holding every message meshlet encodes or decodes (transitively). */
const ROOT_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
];

let cached: protobuf.Root | undefined;

function includeDirs(): string[] {
  const xdsRoot = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const pbRoot = dirname(require.resolve('protobufjs/package.json'));
  return [
    join(xdsRoot, 'deps/envoy-api'),
    join(xdsRoot, 'deps/xds'),
    join(xdsRoot, 'deps/googleapis'),
    join(xdsRoot, 'deps/protoc-gen-validate'),
    pbRoot,
  ];
}

/**
 * The protobuf root with every xDS message meshlet uses, loaded once per process on first use
 * (~200 ms) so that importing meshlet costs nothing until xDS is actually spoken.
 */
export function xdsRoot(): protobuf.Root {
  if (cached) return cached;
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(ROOT_FILES, { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

/** Looks up a message type by its fully qualified name, e.g. `envoy.config.listener.v3.Listener`. */
export function messageType(fullName: string): protobuf.Type {
  return xdsRoot().lookupType(fullName);
}
