#!/usr/bin/env node
// Builds generated/xds-protos.json: the Envoy/xDS message types meshlet encodes or decodes, and
// only those, as a protobufjs JSON descriptor. The .proto files come from the ones that ship
// inside @grpc/grpc-js-xds (a devDependency: the maintained xDS client we interoperate with, so
// both sides of the wire agree on the schema); nothing is copied into src/. Parsing .proto text at
// run time cost ~230 ms and ~25 MB per process; reading this file costs a few ms.
//
// Run by `npm run build` (before tsup), by scripts/test.mjs, and by bin/meshlet.js in a checkout;
// `node scripts/xds-protos.mjs --check` exits 1 when the file is missing or stale.
//
// Add a message type to ROOT_TYPES when meshlet starts encoding or decoding it (say, an RBAC
// filter config); every type it reaches through its fields comes along.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUTPUT = join(ROOT, 'generated', 'xds-protos.json');
const require = createRequire(import.meta.url);

/** Every message meshlet encodes or decodes by name (and each one's fields, transitively). */
export const ROOT_TYPES = [
  'envoy.service.discovery.v3.DiscoveryRequest',
  'envoy.service.discovery.v3.DiscoveryResponse',
  // Incremental ADS (DeltaAggregatedResources): the wire codec is hand-written (xds/wire/delta.ts);
  // the descriptor lets tests and tools check it against protobufjs.
  'envoy.service.discovery.v3.DeltaDiscoveryRequest',
  'envoy.service.discovery.v3.DeltaDiscoveryResponse',
  'envoy.service.discovery.v3.Resource',
  'envoy.config.core.v3.Node',
  'envoy.config.listener.v3.Listener',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.config.route.v3.FilterConfig',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.filters.http.fault.v3.HTTPFault',
  // Cluster typed_extension_protocol_options: max requests per connection.
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  // Typed load_balancing_policy extensions: the control server emits these (grpc-js-xds only
  // honours load_balancing_policy), and the client decodes them to pick its balancer.
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  'envoy.extensions.load_balancing_policies.random.v3.Random',
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev',
  'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
  'envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst',
  'google.protobuf.Any',
  'google.protobuf.Struct',
  // RequestAuthentication: the jwt_authn filter config on the inbound listener.
  'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  // Inbound listeners (Istio grpcgen buildInboundListeners): RBAC filters built from
  // AuthorizationPolicy, uri_template path permissions, and the mTLS transport socket.
  'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig',
  'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  // Cluster transport sockets (mTLS): Istio's UpstreamTlsContext and the plaintext raw_buffer
  // socket of auto-mTLS's fallback match.
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
  // Telemetry access logging (Istio: HCM access_log with the stdout logger and a CEL filter).
  'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  'envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter',
  // Gateway TLS passthrough and TCP servers (Istio gateway.go): socket listeners whose filter
  // chains match server_names (read by the tls_inspector listener filter) and end in tcp_proxy.
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
];

/** The .proto files that define ROOT_TYPES (their imports are followed). */
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/filters/cel/v3/cel.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/path/match/uri_template/v3/uri_template_match.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
];

/** What the output depends on: this script and the installed proto source. */
export function stamp() {
  const xdsPkg = require.resolve('@grpc/grpc-js-xds/package.json');
  const pbPkg = require.resolve('protobufjs/package.json');
  const hash = createHash('sha256');
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(`${JSON.parse(readFileSync(xdsPkg, 'utf8')).version}\0${JSON.parse(readFileSync(pbPkg, 'utf8')).version}`);
  return hash.digest('hex').slice(0, 16);
}

/**
 * protobufjs substitutes its bundled google/protobuf/struct.proto, whose `Value` fields are
 * camelCase (`stringValue`) regardless of `keepCase`. Every other xDS field is snake_case, so
 * struct.proto is pre-registered with the .proto names (same field numbers, identical wire
 * format) and the bundled copy is skipped as "already loaded".
 */
function preloadSnakeCaseStruct(root) {
  root.addJSON({
    google: {
      nested: {
        protobuf: {
          nested: {
            Struct: { fields: { fields: { keyType: 'string', type: 'Value', id: 1 } } },
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

/** Parses the .proto files with every option and comment (the full schema). */
export function loadFullRoot() {
  const protobuf = require('protobufjs');
  const xdsRoot = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const dirs = ['deps/envoy-api', 'deps/xds', 'deps/googleapis', 'deps/protoc-gen-validate'].map((d) => join(xdsRoot, d));
  dirs.push(dirname(require.resolve('protobufjs/package.json')));
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => dirs.map((d) => join(d, target)).find((c) => existsSync(c)) ?? target;
  preloadSnakeCaseStruct(root);
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Field options that change encoding or defaults; every other option (validation rules, annotations) is dropped. */
const KEPT_FIELD_OPTIONS = ['packed', 'proto3_optional', 'default'];

/**
 * The pruned descriptor: ROOT_TYPES and every type or enum their fields reach, each with its
 * fields, oneofs, enum values and edition, in their namespaces; nothing else.
 */
export function buildDescriptor(root = loadFullRoot()) {
  const protobuf = require('protobufjs');
  const keep = new Set();
  const stack = ROOT_TYPES.map((name) => {
    const t = root.lookup(name);
    if (!t) throw new Error(`${name} is not defined by the xDS protos`);
    return t;
  });
  while (stack.length > 0) {
    const t = stack.pop();
    if (keep.has(t)) continue;
    keep.add(t);
    if (t instanceof protobuf.Type) for (const f of t.fieldsArray) if (f.resolve().resolvedType) stack.push(f.resolvedType);
  }
  const emit = (ns) => {
    const nested = {};
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Enum) {
        if (keep.has(child)) nested[child.name] = { edition: child._edition ?? 'proto3', values: { ...child.values } };
        continue;
      }
      if (!(child instanceof protobuf.Namespace)) continue;
      const inner = emit(child);
      if (child instanceof protobuf.Type && keep.has(child)) {
        const fields = {};
        for (const f of child.fieldsArray) {
          const out = { type: f.type, id: f.id };
          if (f.map) out.keyType = f.keyType;
          if (f.repeated) out.rule = 'repeated';
          const options = Object.fromEntries(KEPT_FIELD_OPTIONS.filter((o) => f.options?.[o] !== undefined).map((o) => [o, f.options[o]]));
          if (Object.keys(options).length > 0) out.options = options;
          fields[f.name] = out;
        }
        const type = { edition: child._edition ?? 'proto3', fields };
        if (child.oneofsArray.length > 0) type.oneofs = Object.fromEntries(child.oneofsArray.map((o) => [o.name, { oneof: [...o.oneof] }]));
        if (inner) type.nested = inner;
        nested[child.name] = type;
      } else if (inner) {
        nested[child.name] = { nested: inner };
      }
    }
    return Object.keys(nested).length > 0 ? nested : undefined;
  };
  return { nested: emit(root), types: keep.size };
}

/** Writes OUTPUT (atomically: tests start in parallel) unless it is already current. */
export function generate({ force = false } = {}) {
  const current = stamp();
  if (!force && existsSync(OUTPUT)) {
    try {
      if (JSON.parse(readFileSync(OUTPUT, 'utf8')).stamp === current) return false;
    } catch { /* rewrite it */ }
  }
  const { nested, types } = buildDescriptor();
  mkdirSync(dirname(OUTPUT), { recursive: true });
  const tmp = `${OUTPUT}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ stamp: current, roots: ROOT_TYPES, types, nested })}\n`);
  renameSync(tmp, OUTPUT);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const ok = existsSync(OUTPUT) && JSON.parse(readFileSync(OUTPUT, 'utf8')).stamp === stamp();
    if (!ok) process.stderr.write(`${OUTPUT} is missing or stale: run node scripts/xds-protos.mjs\n`);
    process.exit(ok ? 0 : 1);
  }
  const wrote = generate({ force: process.argv.includes('--force') });
  if (wrote) process.stdout.write(`wrote ${OUTPUT}\n`);
}
