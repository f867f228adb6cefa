import { formatDiagnostic } from '../../config/index.js';
import type { Diagnostic } from '../../config/types.js';
import { meshError } from '../../errors.js';
import { adminRequest } from '../admin-client.js';
import { adminUrl, parse } from '../args.js';
import { table, type Output } from '../output.js';
import { statusClientCommand } from './status-client.js';

export const statusUsage = 'meshlet status [CLIENT] [-o table|json|yaml] [--server HOST:ADMINPORT]';

export interface TypeStatus {
  subscribed?: string[] | '*';
  sentVersion?: string;
  ackedVersion?: string;
  nack?: { version?: string; message: string };
  pending?: boolean;
}
interface ClientStatus {
  id: string;
  peer?: string;
  announced?: { service: string; namespace: string; address: string };
  types: Record<string, TypeStatus | undefined>;
}

/** Istio proxy-status vocabulary: SYNCED, NOT SENT, STALE (sent, not ACKed yet), NACK. */
export function syncState(t: TypeStatus | undefined): string {
  if (!t || t.sentVersion === undefined) return 'NOT SENT';
  if (t.nack && t.ackedVersion !== t.sentVersion) return 'NACK';
  if (t.pending || t.ackedVersion !== t.sentVersion) return 'STALE';
  return 'SYNCED';
}

/**
 * `meshlet status`: per-client xDS sync state and current config errors of a running server.
 * Exit 1 when any config error (not a warning) is reported or any client's last response was
 * NACKed, so scripts and CI can gate on it; 0 when everything is clean.
 */
export async function statusCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, server: { type: 'string', short: 's' } });
  if (values.output !== undefined && values.output !== 'json' && values.output !== 'table' && !(values.output === 'yaml' && positionals.length > 0)) {
    throw meshError('MESHLET_ERR_USAGE', `-o must be table or json (or yaml with a CLIENT), got "${values.output}"`);
  }
  if (positionals.length > 1) throw meshError('MESHLET_ERR_USAGE', `one CLIENT at most\nusage: ${statusUsage}`);
  if (positionals[0] !== undefined) return statusClientCommand(adminUrl(values.server), positionals[0], values.output, out);
  const { body } = await adminRequest<{ version?: string; clients: ClientStatus[]; configErrors: Diagnostic[] }>(adminUrl(values.server), '/status');
  const nacks = body.clients.some((c) => Object.values(c.types).some((t) => syncState(t) === 'NACK'));
  const errors = body.configErrors.some((d) => d.severity === 'error');
  const code = nacks || errors ? 1 : 0;
  if (values.output === 'json') {
    out.info(JSON.stringify(body, null, 2));
    return code;
  }
  const rows = body.clients.map((c) => [
    c.id,
    c.announced ? `${c.announced.service}.${c.announced.namespace}` : '-',
    c.peer ?? '-',
    ...['LDS', 'RDS', 'CDS', 'EDS'].map((t) => syncState(c.types[t])),
  ]);
  out.info(table(['CLIENT', 'SERVICE', 'PEER', 'LDS', 'RDS', 'CDS', 'EDS'], rows));
  for (const c of body.clients) {
    for (const [type, t] of Object.entries(c.types)) {
      if (t?.nack && t.ackedVersion !== t.sentVersion) out.info(`${c.id} ${type} NACK: ${t.nack.message}`);
    }
  }
  if (body.configErrors.length > 0) {
    out.info(`config errors (last good resources still served):`);
    for (const d of body.configErrors) out.info('  ' + formatDiagnostic(d));
  }
  return code;
}
