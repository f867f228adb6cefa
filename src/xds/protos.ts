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
  // Typed load_balancing_policy extensions: the control server emits these (grpc-js-xds only
  // honours load_balancing_policy), and the client decodes them to pick its balancer.
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
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
 * protobufjs substitutes its bundled google/protobuf/struct.proto, whose `Value` fields are
 * camelCase (`stringValue`) regardless of `keepCase`. Every other xDS field here is snake_case,
 * so struct.proto is pre-registered with the .proto names (same field numbers, identical wire
 * format) before loading, and the bundled copy is skipped as "already loaded":
 * `{ fields: { k: { string_value: 'x' } } }` then works in fromObject and comes out of toObject.
 * The definitions belong to this root only, so other protobufjs users are unaffected.
 */
function preloadSnakeCaseStruct(root: protobuf.Root): void {
  root.addJSON({
    google: {
      nested: {
        protobuf: {
          nested: {
            Struct: { fields: { fields: { keyType: 'string', type: 'Value', id: 1 } as protobuf.IField } },
            Value: {
              oneofs: { kind: { oneof: ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'] } },
              fields: {
                null_value: { type: 'NullValue', id: 1 },
                number_value: { type: 'double', id: 2 },
                string_value: { type: 'string', id: 3 },
                bool_value: { type: 'bool', id: 4 },
                struct_value: { type: 'Struct', id: 5 },
                list_value: { type: 'ListValue', id: 6 },
              },
            },
            NullValue: { values: { NULL_VALUE: 0 } },
            ListValue: { fields: { values: { rule: 'repeated', type: 'Value', id: 1 } } },
          },
        },
      },
    },
  });
  root.files.push('google/protobuf/struct.proto');
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
  preloadSnakeCaseStruct(root);
  root.loadSync(ROOT_FILES, { keepCase: true });
  root.resolveAll();
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
