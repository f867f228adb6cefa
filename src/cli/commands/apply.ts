import { readFile } from 'node:fs/promises';
import { formatDiagnostic } from '../../config/index.js';
import { loadPaths } from '../load-paths.js';
import { meshError } from '../../errors.js';
import type { Diagnostic } from '../../config/types.js';
import { adminRequest } from '../admin-client.js';
import { adminUrl, parse } from '../args.js';
import type { Output } from '../output.js';

export const applyUsage = 'meshlet apply -f FILE|DIR [-f …] [--server HOST:ADMINPORT]';

/**
 * `meshlet apply`: validates locally first (nothing is sent if any file has an error), then
 * posts each file's text so the server reports problems with the same file:line.
 */
export async function applyCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, { filename: { type: 'string', short: 'f', multiple: true }, server: { type: 'string', short: 's' } });
  if (!values.filename?.length) throw meshError('MESHLET_ERR_USAGE', `missing -f FILE|DIR\nusage: ${applyUsage}`);
  const loaded = await loadPaths(values.filename);
  for (const d of loaded.diagnostics) out.error(formatDiagnostic(d));
  if (loaded.diagnostics.some((d) => d.severity === 'error')) {
    out.error(`meshlet apply: nothing applied; fix the errors above`);
    return 1;
  }
  const base = adminUrl(values.server);
  let applied = 0;
  for (const file of loaded.files) {
    const text = await readFile(file, 'utf8');
    const res = await adminRequest<{ applied?: string[]; diagnostics?: Diagnostic[] }>(base, '/apply', {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/yaml', 'x-meshlet-file': file },
    });
    if (res.status !== 200) {
      for (const d of res.body.diagnostics ?? []) out.error(formatDiagnostic(d));
      out.error(`meshlet apply: the server rejected ${file}`);
      return 1;
    }
    for (const key of res.body.applied ?? []) out.info(`${key} configured`);
    applied += res.body.applied?.length ?? 0;
  }
  out.info(`applied ${applied} resource(s) from ${loaded.files.length} file(s)`);
  return 0;
}
