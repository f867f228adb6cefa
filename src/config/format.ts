import type { Diagnostic } from './types.js';

/**
 * One line per diagnostic, compiler style, omitting what is not known:
 * `file:line:col: error MESHLET_ERR_X: message (at spec.http[0].route) [VirtualService/default/reviews]`.
 *
 * @example
 * ```ts
 * formatDiagnostic({ severity: 'error', code: 'MESHLET_ERR_CONFIG_SCHEMA', message: 'must be in range 0..100, got 150',
 *   file: 'vs.yaml', line: 12, column: 15, path: 'spec.http[0].route[0].weight' });
 * // "vs.yaml:12:15: error MESHLET_ERR_CONFIG_SCHEMA: must be in range 0..100, got 150 (at spec.http[0].route[0].weight)"
 * ```
 */
export function formatDiagnostic(d: Diagnostic): string {
  let where = '';
  if (d.file !== undefined) {
    where = d.file;
    if (d.line !== undefined) {
      where += `:${d.line}`;
      if (d.column !== undefined) where += `:${d.column}`;
    }
    where += ': ';
  }
  const at = d.path ? ` (at ${d.path})` : '';
  const res = d.resource ? ` [${d.resource}]` : '';
  return `${where}${d.severity} ${d.code}: ${d.message}${at}${res}`;
}

/** Whether any diagnostic is an error (a CLI exits non-zero then). */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
