import type { SourceRef } from './types.js';

/**
 * Side table from a loaded resource to the source position of each of its fields. Kept off the
 * resource so the resource stays plain data (and JSON-serializable). The table lives behind a
 * `Symbol.for` key so the ESM and CJS builds loaded in one process share it.
 */
type FieldTable = WeakMap<object, Map<string, SourceRef>>;

const kTable = Symbol.for('meshlet.config.fieldSources');
const holder = globalThis as unknown as Record<symbol, FieldTable | undefined>;
const table: FieldTable = (holder[kTable] ??= new WeakMap());

/** Records the field positions of a resource (done by the loader). */
export function setFieldSources(resource: object, fields: Map<string, SourceRef>): void {
  table.set(resource, fields);
}

/**
 * Where a field of a loaded resource was written: the position of `path` or, when that exact
 * field has no entry (e.g. a defaulted value), of its closest ancestor, else the resource's own
 * `source`. `undefined` for resources that did not come from YAML.
 *
 * @example
 * ```ts
 * const { resources } = parseConfig(text, 'vs.yaml');
 * fieldSource(resources[0]!, 'spec.http[0].route[1].weight'); // { file: 'vs.yaml', line: 14, column: 7 }
 * ```
 */
export function fieldSource(resource: object, path: string): SourceRef | undefined {
  const fields = table.get(resource);
  if (fields) {
    for (let p: string | undefined = path; p; p = parentPath(p)) {
      const ref = fields.get(p);
      if (ref) return ref;
    }
  }
  return (resource as { source?: SourceRef }).source;
}

/** `a.b[2].c` → `a.b[2]` → `a.b` → `a` → undefined. */
export function parentPath(path: string): string | undefined {
  // A quoted map key (`labels["app.kubernetes.io/name"]`) may itself contain dots.
  const cut = path.endsWith('"]') ? path.lastIndexOf('["') : Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut > 0 ? path.slice(0, cut) : undefined;
}
