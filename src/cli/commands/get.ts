import { stringify } from '../../config/yaml-lib.js';
import { RESOURCE_KINDS, type IstioResource, type ResourceKind } from '../../config/types.js';
import { meshError } from '../../errors.js';
import { adminRequest } from '../admin-client.js';
import { adminUrl, parse } from '../args.js';
import { table, type Output } from '../output.js';

export const getUsage = 'meshlet get KIND [NAME] [-n NAMESPACE] [-o table|yaml|json] [--server HOST:ADMINPORT]';

/** kubectl-style aliases: plural, lower case, and Istio's short names. */
const ALIASES: Record<string, ResourceKind> = {
  vs: 'VirtualService', dr: 'DestinationRule', se: 'ServiceEntry', we: 'WorkloadEntry', gw: 'Gateway',
  pa: 'PeerAuthentication', ap: 'AuthorizationPolicy', ra: 'RequestAuthentication',
};

export function resolveKind(input: string): ResourceKind {
  const lower = input.toLowerCase();
  const alias = ALIASES[lower];
  if (alias) return alias;
  const kind = RESOURCE_KINDS.find((k) => k.toLowerCase() === lower || `${k.toLowerCase()}s` === lower || `${k.toLowerCase()}es` === lower);
  if (!kind) throw meshError('MESHLET_ERR_USAGE', `unknown kind "${input}"; one of ${RESOURCE_KINDS.join(', ')} (or vs, dr, se, we, gw, pa, ap, ra)`);
  return kind;
}

/** `meshlet get`: lists resources held by a running control server. */
export async function getCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    namespace: { type: 'string', short: 'n' },
    output: { type: 'string', short: 'o' },
    server: { type: 'string', short: 's' },
  });
  const [kindArg, name] = positionals;
  if (!kindArg) throw meshError('MESHLET_ERR_USAGE', `missing KIND\nusage: ${getUsage}`);
  const kind = resolveKind(kindArg);
  const query = new URLSearchParams({ kind });
  if (name) query.set('name', name);
  if (values.namespace) query.set('namespace', values.namespace);
  const { body } = await adminRequest<IstioResource[]>(adminUrl(values.server), `/config?${query}`);
  if (name && body.length === 0) {
    out.error(`meshlet get: ${kind} "${name}" not found`);
    return 1;
  }
  const format = values.output ?? 'table';
  const plain = body.map(({ source: _source, ...r }) => r);
  if (format === 'json') out.info(JSON.stringify(plain, null, 2));
  else if (format === 'yaml') out.info(plain.map((r) => stringify(r)).join('---\n'));
  else if (format === 'table') {
    out.info(table(['NAMESPACE', 'NAME', 'SOURCE'], body.map((r) => [r.metadata.namespace, r.metadata.name, r.source ? `${r.source.file}:${r.source.line}` : 'apply'])));
  } else throw meshError('MESHLET_ERR_USAGE', `-o must be table, yaml or json, got "${format}"`);
  return 0;
}
