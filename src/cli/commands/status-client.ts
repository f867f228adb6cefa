import { stringify } from '../../config/yaml-lib.js';
import { meshError } from '../../errors.js';
import type { ClientConfigDump } from '../../control/admin/config-dump.js';
import { adminRequest } from '../admin-client.js';
import { table, type Output } from '../output.js';
import { syncState } from './status.js';

const SHORT: Record<string, string> = {
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'LDS',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'RDS',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'CDS',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': 'EDS',
};

/**
 * `meshlet status <client>`: one client's config as the control server sent it and the client
 * ACKed it (admin `GET /config_dump?client=…`, CSDS-like). Table: per type the sync state and
 * versions, then every resource with its version and ACK state; `-o json|yaml` prints the dump
 * with the resources' contents. Exit 1 when anything is NACKed.
 */
export async function statusClientCommand(base: string, client: string, format: string | undefined, out: Output): Promise<number> {
  const withContent = format === 'json' || format === 'yaml';
  const path = `/config_dump?client=${encodeURIComponent(client)}${withContent ? '' : '&resources=0'}`;
  const { status, body } = await adminRequest<{ config: ClientConfigDump[]; truncated?: number }>(base, path);
  if (status !== 200) throw meshError('MESHLET_ERR_ADMIN_REQUEST', `admin API answered ${status} for ${path}`);
  const nacked = body.config.some((c) => c.genericXdsConfigs.some((g) => g.clientStatus === 'NACKED') || Object.values(c.types).some((t) => syncState(t) === 'NACK'));
  if (format === 'json') out.info(JSON.stringify(body, null, 2));
  else if (format === 'yaml') out.info(stringify(body));
  else for (const c of body.config) printClient(c, out);
  if (body.truncated) out.info(`(${body.truncated} more clients match "${client}"; name one by node id)`);
  return nacked ? 1 : 0;
}

function printClient(c: ClientConfigDump, out: Output): void {
  const n = c.node;
  out.info(`client ${n.id}  service ${n.service ? `${n.service}.${n.namespace ?? 'default'}` : '-'}  peer ${n.peer}  connected ${n.connectedAt}`);
  out.info(`identity ${n.identity ?? 'none (no client certificate)'}`);
  const types = Object.entries(c.types);
  out.info(table(['TYPE', 'STATE', 'ACKED', 'SENT', 'SUBSCRIBED'], types.map(([type, t]) => [
    type, syncState(t), t.ackedVersion ?? '-', t.sentVersion ?? '-', t.subscribed === '*' ? '*' : String(t.subscribed.length),
  ])));
  for (const [type, t] of types) {
    if (t.nack && syncState(t) === 'NACK') out.info(`${type} NACK of version ${t.nack.version} at ${t.nack.at}: ${t.nack.message}`);
  }
  if (c.genericXdsConfigs.length > 0) {
    out.info('');
    out.info(table(['TYPE', 'NAME', 'VERSION', 'STATUS', 'CLIENT'], c.genericXdsConfigs.map((g) => [
      SHORT[g.typeUrl] ?? g.typeUrl.split('.').pop()!, g.name, g.versionInfo ?? '-', g.configStatus, g.clientStatus,
    ])));
  }
  out.info('');
}
