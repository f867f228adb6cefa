/**
 * One client's config as the control server sent it and the client ACKed it, shaped like Envoy's
 * CSDS answer (envoy/service/status/v3/csds.proto `ClientStatusResponse` → `ClientConfig` →
 * `GenericXdsConfig`, statuses from envoy/admin/v3/config_dump_shared.proto): per resource its
 * type URL, name, version, the content, the server-side `config_status` (SYNCED, STALE, ERROR,
 * NOT_SENT) and the client-side `client_status` (ACKED, NACKED, REQUESTED, DOES_NOT_EXIST), and
 * for a rejected update the `error_state` (details, rejected version, when). The content is the
 * last ACKed one (what the client runs on); a resource sent but not ACKed yet shows what was sent.
 */
import type { ClientStatus, SentConfig, TypeConfigView } from '../ads-stream.js';
import { messageType } from '../../xds/protos.js';
import { messageNameOf } from '../../xds/type-urls.js';

/** CSDS `ConfigStatus`: the server's view of one resource. */
export type ConfigStatus = 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';
/** CSDS `ClientResourceStatus`: the client's view, as its ACK/NACK tell it. */
export type ClientResourceStatus = 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';

/** CSDS `GenericXdsConfig`, JSON-mapped. */
export interface GenericXdsConfig {
  typeUrl: string;
  name: string;
  /** The resource's version in the response the content comes from. */
  versionInfo?: string;
  /** The resource (protobuf JSON mapping, `@type` on nested Any); absent when never sent. */
  xdsConfig?: Record<string, unknown>;
  lastUpdated?: string;
  configStatus: ConfigStatus;
  clientStatus: ClientResourceStatus;
  /** CSDS `UpdateFailureState`: the latest rejection of this resource's type. */
  errorState?: { details: string; versionInfo: string; lastUpdateAttempt: string; failedConfiguration?: Record<string, unknown> };
}

/** CSDS `ClientConfig`, plus the per-type sync summary `meshlet status` shows. */
export interface ClientConfigDump {
  node: { id: string; peer: string; service?: string; namespace?: string; identity?: string; connectedAt: string };
  /** Per type (LDS, RDS, CDS, EDS…): versions sent and ACKed, the latest NACK. */
  types: Record<string, ClientStatus['types'][string]>;
  genericXdsConfigs: GenericXdsConfig[];
}

/**
 * Clients a `?client=` value selects (CSDS answers every node its matchers select): the node id
 * exactly, else every client of the announced (or metrics) service, `name` or `name.namespace`.
 *
 * @example
 * ```ts
 * matchClients(ads.configViews(), 'reviews'); // both reviews versions' streams
 * ```
 */
export function matchClients<T extends { status: ClientStatus }>(views: readonly T[], client: string): T[] {
  const byId = views.filter((v) => v.status.id === client);
  if (byId.length > 0) return byId;
  return views.filter((v) => {
    const service = v.status.announced?.service ?? v.status.metrics?.service;
    const namespace = v.status.announced?.namespace ?? v.status.metrics?.namespace ?? 'default';
    return service !== undefined && (service === client || `${service}.${namespace}` === client);
  });
}

/**
 * The CSDS-like dump of one stream.
 *
 * @example
 * ```ts
 * const [view] = matchClients(ads.configViews(), 'reviews-v2-1');
 * configDump(view).genericXdsConfigs.filter((c) => c.clientStatus === 'NACKED');
 * ```
 */
export function configDump(view: { status: ClientStatus; types: readonly TypeConfigView[] }, options: { includeContent?: boolean } = {}): ClientConfigDump {
  const s = view.status;
  const node: ClientConfigDump['node'] = { id: s.id, peer: s.peer, connectedAt: s.connectedAt };
  const service = s.announced?.service ?? s.metrics?.service;
  const namespace = s.announced?.namespace ?? s.metrics?.namespace;
  if (service !== undefined) node.service = service;
  if (namespace !== undefined) node.namespace = namespace;
  if (s.identity) node.identity = s.identity.spiffeId;
  const configs: GenericXdsConfig[] = [];
  for (const t of view.types) configs.push(...typeConfigs(t, options.includeContent !== false));
  return { node, types: s.types, genericXdsConfigs: configs };
}

function typeConfigs(t: TypeConfigView, content: boolean): GenericXdsConfig[] {
  const { sent, acked, status } = t;
  const subscribed = status.subscribed === '*' ? undefined : status.subscribed;
  const sentVersions = versions(sent);
  const ackedVersions = versions(acked);
  const names = new Set<string>([...(subscribed ?? []), ...sentVersions.keys(), ...ackedVersions.keys()]);
  const nacked = status.nack !== undefined && status.ackedVersion !== status.sentVersion;
  const out: GenericXdsConfig[] = [];
  const contents = content ? new Contents(t.typeUrl) : undefined;
  for (const name of [...names].sort()) {
    const sv = sentVersions.get(name);
    const av = ackedVersions.get(name);
    const g: GenericXdsConfig = { typeUrl: t.typeUrl, name, configStatus: 'NOT_SENT', clientStatus: 'REQUESTED' };
    if (sent === undefined) {
      g.configStatus = 'NOT_SENT';
    } else if (sv === undefined && av === undefined) {
      // Subscribed, answered, absent from the answer: the resource does not exist (xDS SotW).
      g.configStatus = status.pending ? 'STALE' : 'SYNCED';
      g.clientStatus = status.pending ? 'REQUESTED' : 'DOES_NOT_EXIST';
    } else if (nacked && sv !== av) {
      g.configStatus = 'ERROR';
      g.clientStatus = 'NACKED';
      g.errorState = { details: status.nack!.message, versionInfo: status.nack!.version, lastUpdateAttempt: status.nack!.at };
    } else if (status.pending && sv !== av) {
      g.configStatus = 'STALE';
      g.clientStatus = 'REQUESTED';
    } else if (sv === undefined) {
      // ACKed earlier, removed by the latest (ACKed) answer: no longer held.
      continue;
    } else {
      g.configStatus = 'SYNCED';
      g.clientStatus = 'ACKED';
    }
    // Content the client runs on: the ACKed copy; what was sent when nothing was ACKed yet
    // (but never a rejected copy: that one is the error state's failedConfiguration).
    if (g.clientStatus === 'NACKED' && sv !== undefined) {
      const failed = contents?.get(sent!, name);
      if (failed) g.errorState!.failedConfiguration = failed;
    }
    const from = av !== undefined ? acked! : sv !== undefined && g.clientStatus !== 'NACKED' ? sent! : undefined;
    if (from) {
      g.versionInfo = av ?? sv!;
      g.lastUpdated = from.at;
      const decoded = contents?.get(from, name);
      if (decoded) g.xdsConfig = decoded;
    }
    out.push(g);
  }
  return out;
}

/** name → resource version of what one response carried. */
function versions(c: SentConfig | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!c) return out;
  if (c.names === '*') {
    for (const [name, e] of c.resources) out.set(name, e.version);
  } else {
    for (const name of c.names) {
      const e = c.resources.get(name);
      if (e) out.set(name, e.version);
    }
  }
  return out;
}

/** Decodes a resource of one type back to JSON (protobuf JSON mapping, as GET /debug/xds does). */
class Contents {
  private readonly type;
  constructor(typeUrl: string) {
    this.type = messageType(messageNameOf(typeUrl));
  }

  get(from: SentConfig, name: string): Record<string, unknown> | undefined {
    const e = from.resources.get(name);
    if (!e) return undefined;
    return this.type.toObject(this.type.decode(e.value), { json: true, enums: String, longs: String, defaults: false }) as Record<string, unknown>;
  }
}
