// Stock @grpc/grpc-js-xds's own resource validators, for acceptance tests: a generated
// resource passes only if the client we must interoperate with would ACK it.
import { createRequire } from 'node:module';
import { messageType } from '../../../src/xds/protos.js';
import { messageNameOf, TYPE_URL } from '../../../src/xds/type-urls.js';
import type { GeneratedResource } from '../../../src/control/translate/index.js';

const require = createRequire(import.meta.url);
// register() installs the HTTP filters (router, fault) and LB policies the validators consult.
(require('@grpc/grpc-js-xds') as { register(): void }).register();

const base = '@grpc/grpc-js-xds/build/src/xds-resource-type';
const resourceTypes: Record<string, { get(): { decode(ctx: unknown, r: { type_url: string; value: Uint8Array }): { name: string; value?: unknown; error?: string } } }> = {
  [TYPE_URL.listener]: require(`${base}/listener-resource-type.js`).ListenerResourceType,
  [TYPE_URL.route]: require(`${base}/route-config-resource-type.js`).RouteConfigurationResourceType,
  [TYPE_URL.cluster]: require(`${base}/cluster-resource-type.js`).ClusterResourceType,
  [TYPE_URL.endpoint]: require(`${base}/endpoint-resource-type.js`).EndpointResourceType,
};

/** The decode context: only LRS (`server`) and TLS (`bootstrap.certificateProviders`) read it. */
const context = { server: { serverUri: 'localhost:15010', channelCredentials: { type: 'insecure' }, serverFeatures: [] }, bootstrap: { certificateProviders: {} } };

/** protobufjs encode of a generated resource, after a strict fromObject. */
export function encode(typeUrl: string, r: GeneratedResource): Uint8Array {
  const type = messageType(messageNameOf(typeUrl));
  const err = type.verify(type.fromObject(r.message));
  if (err) throw new Error(`${r.name}: ${err}`);
  return type.encode(type.fromObject(r.message)).finish();
}

/** grpc-js-xds's verdict on one resource: the decoded value, or its NACK error text. */
export function grpcDecode(typeUrl: string, r: GeneratedResource): { name: string; value?: any; error?: string } {
  const rt = resourceTypes[typeUrl];
  if (!rt) throw new Error(`no grpc-js-xds resource type for ${typeUrl}`);
  return rt.get().decode(context, { type_url: typeUrl, value: encode(typeUrl, r) });
}
