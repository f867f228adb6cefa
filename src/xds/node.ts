/**
 * The xDS `Node` a mesh client sends, and the announcement the control server reads back from
 * it. This module owns the announcement: its shape, its metadata keys and the default namespace;
 * the control server imports them from here (the arrow points from control/ down to xds/).
 */
import { jsonToStruct, structToJson, type JsonObject, type StructProto } from './struct.js';

/**
 * Metadata keys a mesh client puts in its xDS `Node.metadata` (a google.protobuf.Struct).
 * NAMESPACE, LABELS, SERVICE_ACCOUNT and INSTANCE_IPS follow Istio's proxy metadata names.
 */
export const NODE_METADATA = {
  service: 'MESHLET_SERVICE',
  namespace: 'NAMESPACE',
  labels: 'LABELS',
  serviceAccount: 'SERVICE_ACCOUNT',
  instanceIps: 'INSTANCE_IPS',
  ports: 'MESHLET_PORTS',
  draining: 'MESHLET_DRAINING',
  /** Port of the mesh's Prometheus endpoint (`GET /stats/prometheus`), on the INSTANCE_IPS address. */
  metricsPort: 'MESHLET_METRICS_PORT',
} as const;

/** The namespace of a node that names none (Kubernetes' default). */
export const DEFAULT_NAMESPACE = 'default';

/** Sent as `Node.user_agent_version`; kept in step with package.json by hand. */
export const MESHLET_VERSION = '0.1.0';

/** One served port as announced in `MESHLET_PORTS`. */
export interface NodePort {
  /** The service port clients dial (e.g. 9080). */
  number: number;
  name?: string;
  protocol?: string;
  /** Where this instance actually listens, when it differs from `number` (e.g. port 0 in tests). */
  targetPort?: number;
}

/**
 * What a mesh client announces in its node metadata when it serves, as the control server reads
 * it back ({@link parseAnnouncement}): one endpoint of `<service>.<namespace>`.
 */
export interface Announcement {
  nodeId: string;
  service: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  address: string;
  /** `number` is the service port others dial; `targetPort` where this instance listens (default: number). */
  ports: NodePort[];
  locality?: string;
}

/** Input of {@link buildNode}. */
export interface BuildNodeOptions {
  id: string;
  /** `Node.cluster`; defaults to `<service>.<namespace>` like Istio's sidecars. */
  cluster?: string;
  service?: string;
  namespace?: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
  /** The address this process serves on (goes to INSTANCE_IPS). */
  address?: string;
  ports?: NodePort[];
  /** `region/zone/subzone`, any part may be empty. */
  locality?: string;
  /** Set while shutting down so the control server drops this endpoint. */
  draining?: boolean;
  /** Bound port of the mesh's metrics endpoint (`createMesh({ metricsPort })`). */
  metricsPort?: number;
}

/** envoy.config.core.v3.Node in protobufjs object form (snake_case), ready for `fromObject`. */
export interface NodeObject {
  id: string;
  cluster: string;
  metadata: StructProto;
  locality?: { region: string; zone: string; sub_zone: string };
  user_agent_name: string;
  user_agent_version: string;
}

/**
 * Builds the xDS node for a mesh client. Only the keys that have values are written, so a pure
 * client (no service/ports) announces nothing.
 *
 * @example
 * ```ts
 * const node = buildNode({ id: 'productpage-1', service: 'productpage', address: '10.0.0.5',
 *   ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }], labels: { version: 'v1' } });
 * ```
 */
export function buildNode(opts: BuildNodeOptions): NodeObject {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const meta: Record<string, unknown> = { [NODE_METADATA.namespace]: namespace };
  if (opts.service) meta[NODE_METADATA.service] = opts.service;
  if (opts.labels && Object.keys(opts.labels).length > 0) meta[NODE_METADATA.labels] = { ...opts.labels };
  if (opts.serviceAccount) meta[NODE_METADATA.serviceAccount] = opts.serviceAccount;
  if (opts.address) meta[NODE_METADATA.instanceIps] = opts.address;
  if (opts.ports && opts.ports.length > 0) {
    meta[NODE_METADATA.ports] = opts.ports.map((p) => ({
      number: p.number,
      ...(p.name ? { name: p.name } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}),
      ...(p.targetPort !== undefined && p.targetPort !== p.number ? { targetPort: p.targetPort } : {}),
    }));
  }
  if (opts.draining) meta[NODE_METADATA.draining] = 'true';
  if (opts.metricsPort !== undefined) meta[NODE_METADATA.metricsPort] = opts.metricsPort;
  const node: NodeObject = {
    id: opts.id,
    cluster: opts.cluster ?? `${opts.service ?? 'meshlet'}.${namespace}`,
    metadata: jsonToStruct(meta),
    user_agent_name: 'meshlet',
    user_agent_version: MESHLET_VERSION,
  };
  if (opts.locality) {
    const [region = '', zone = '', subZone = ''] = opts.locality.split('/');
    node.locality = { region, zone, sub_zone: subZone };
  }
  return node;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Metadata may arrive as a Struct (`{fields}`) or, from a JSON bootstrap, already plain. */
export function metadataJson(metadata: unknown): JsonObject {
  if (!isObject(metadata)) return {};
  if (isObject(metadata['fields'])) return structToJson(metadata);
  return metadata as JsonObject;
}

function parsePort(value: unknown): NodePort | undefined {
  const raw = isObject(value) ? value['number'] : value;
  const number = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) return undefined;
  const port: NodePort = { number };
  if (isObject(value)) {
    if (typeof value['name'] === 'string' && value['name']) port.name = value['name'];
    if (typeof value['protocol'] === 'string' && value['protocol']) port.protocol = value['protocol'];
    const target = typeof value['targetPort'] === 'string' ? Number(value['targetPort']) : value['targetPort'];
    if (typeof target === 'number' && Number.isInteger(target) && target >= 1 && target <= 65535) port.targetPort = target;
  }
  return port;
}

function parsePorts(value: unknown): NodePort[] {
  // A list of {number,name,protocol} as buildNode writes it; a comma-separated string of
  // numbers is accepted too for hand-written bootstraps.
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').map((s) => s.trim()) : [];
  const ports: NodePort[] = [];
  for (const item of items) {
    const port = parsePort(item);
    if (port) ports.push(port);
  }
  return ports;
}

function firstAddress(value: unknown): string | undefined {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  for (const item of list) {
    if (typeof item === 'string' && item.trim()) return item.trim();
  }
  return undefined;
}

export function parseLabels(value: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!isObject(value)) return labels;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels[key] = String(v);
  }
  return labels;
}

function parseLocality(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const part = (k: string): string => (typeof value[k] === 'string' ? (value[k] as string) : '');
  const parts = [part('region'), part('zone'), part('sub_zone') || part('subZone')];
  // `eu/eu-1a` rather than `eu/eu-1a/`: trailing empty parts carry nothing.
  return parts.some((p) => p) ? parts.join('/').replace(/\/+$/, '') : undefined;
}

/**
 * Reads a mesh client's announcement from its xDS node (as decoded by protobufjs `toObject`,
 * snake_case, metadata a Struct). Returns `undefined` unless the node names a service, at least
 * one valid port and an address, and is not draining — i.e. only nodes that serve traffic.
 *
 * @example
 * ```ts
 * const announcement = parseAnnouncement(request.node);
 * if (announcement) registry.announce(announcement); else registry.withdraw(request.node?.id);
 * ```
 */
export function parseAnnouncement(node: Record<string, unknown> | null | undefined): Announcement | undefined {
  if (!isObject(node)) return undefined;
  const nodeId = node['id'];
  if (typeof nodeId !== 'string' || nodeId === '') return undefined;
  const meta = metadataJson(node['metadata']);
  const service = meta[NODE_METADATA.service];
  if (typeof service !== 'string' || service === '') return undefined;
  const draining = meta[NODE_METADATA.draining];
  if (draining === 'true' || draining === true) return undefined;
  const ports = parsePorts(meta[NODE_METADATA.ports]);
  if (ports.length === 0) return undefined;
  const address = firstAddress(meta[NODE_METADATA.instanceIps]);
  if (!address) return undefined;
  const namespace = meta[NODE_METADATA.namespace];
  const announcement: Announcement = {
    nodeId,
    service,
    namespace: typeof namespace === 'string' && namespace ? namespace : DEFAULT_NAMESPACE,
    labels: parseLabels(meta[NODE_METADATA.labels]),
    address,
    ports,
  };
  const sa = meta[NODE_METADATA.serviceAccount];
  if (typeof sa === 'string' && sa) announcement.serviceAccount = sa;
  const locality = parseLocality(node['locality']);
  if (locality) announcement.locality = locality;
  return announcement;
}

/** Where a mesh serves its metrics, as its node announces it (see {@link parseMetricsTarget}). */
export interface MetricsTarget {
  address: string;
  port: number;
  namespace: string;
  /** Absent for a client that names no service. */
  service?: string;
  labels: Record<string, string>;
}

/**
 * Reads the metrics endpoint a node announces (`MESHLET_METRICS_PORT` on its INSTANCE_IPS
 * address). Unlike {@link parseAnnouncement} this needs no service port: a pure client has
 * metrics too.
 *
 * @example
 * ```ts
 * parseMetricsTarget(request.node); // { address: '10.0.0.5', port: 15020, namespace: 'default', service: 'productpage', labels: { version: 'v1' } }
 * ```
 */
export function parseMetricsTarget(node: Record<string, unknown> | null | undefined): MetricsTarget | undefined {
  if (!isObject(node)) return undefined;
  const meta = metadataJson(node['metadata']);
  const raw = meta[NODE_METADATA.metricsPort];
  const port = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const address = firstAddress(meta[NODE_METADATA.instanceIps]);
  if (!address) return undefined;
  const namespace = meta[NODE_METADATA.namespace];
  const service = meta[NODE_METADATA.service];
  const target: MetricsTarget = { address, port, namespace: typeof namespace === 'string' && namespace ? namespace : DEFAULT_NAMESPACE, labels: parseLabels(meta[NODE_METADATA.labels]) };
  if (typeof service === 'string' && service) target.service = service;
  return target;
}
