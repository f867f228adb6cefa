import { analyze, formatDiagnostic, resolveHost } from '../../config/index.js';
import { loadPaths } from '../load-paths.js';
import { servicesFromConfig } from '../../control/services.js';
import type { ServiceModel } from '../../control/model.js';
import { meshError } from '../../errors.js';
import { adminRequest } from '../admin-client.js';
import { adminUrl, parse } from '../args.js';
import type { Output } from '../output.js';

export const analyzeUsage = 'meshlet analyze -f FILE|DIR [-f …] [--server HOST:ADMINPORT] [--host HOST[:label=value,...]]...';

/**
 * `meshlet analyze`: schema and cross-resource checks. Hosts count as served when a ServiceEntry
 * in the input serves them, when the control server named by --server knows them, or when given
 * with --host (`--host reviews:version=v1`). Exit 1 on any error.
 */
export async function analyzeCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    filename: { type: 'string', short: 'f', multiple: true },
    server: { type: 'string', short: 's' },
    host: { type: 'string', multiple: true },
  });
  if (!values.filename?.length) throw meshError('MESHLET_ERR_USAGE', `missing -f FILE|DIR\nusage: ${analyzeUsage}`);
  // Resources with schema errors still get the cross-resource checks (one pass reports all).
  const loaded = await loadPaths(values.filename, { keepInvalid: true });
  const invalid = loaded.invalid ?? [];
  const services: Array<Pick<ServiceModel, 'hostname'> & { endpoints: Array<{ labels: Record<string, string> }> }> = [
    ...servicesFromConfig(loaded.resources),
    ...(values.host ?? []).map(parseHostFlag),
  ];
  if (values.server) {
    const res = await adminRequest<ServiceModel[]>(adminUrl(values.server), '/registry');
    services.push(...res.body);
  }
  const diagnostics = [...loaded.diagnostics, ...analyze([...loaded.resources, ...invalid], { services })];
  for (const d of diagnostics) (d.severity === 'error' ? out.error : out.info)(formatDiagnostic(d));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const total = loaded.resources.length + invalid.length;
  const bad = invalid.length > 0 ? ` (${invalid.length} with schema errors)` : '';
  out.info(`${loaded.files.length} file(s), ${total} resource(s)${bad}: ${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 ? 1 : 0;
}

/** `host[:k=v,k2=v2]` → a served host (short names expand in "default") with one endpoint carrying those labels. */
function parseHostFlag(flag: string) {
  const colon = flag.indexOf(':');
  const hostname = resolveHost(colon < 0 ? flag : flag.slice(0, colon), 'default');
  const labelText = colon < 0 ? '' : flag.slice(colon + 1);
  const labels: Record<string, string> = {};
  for (const pair of labelText ? labelText.split(',') : []) {
    const [k, v] = pair.split('=');
    if (k) labels[k] = v ?? '';
  }
  return { hostname, endpoints: [{ labels }] };
}
