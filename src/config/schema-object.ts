/**
 * The object combinator of the schema DSL: known fields, required fields, protobuf-style oneofs,
 * deprecated fields, and a semantic `check` hook. Unknown fields are errors, as with Istio's
 * validating webhook: a typo must never be silently dropped.
 */
import { isMap, isScalar, type Node } from './yaml-lib.js';
import { deref, errorCount, isNull, joinPath, mark, report, type Schema, type WalkContext } from './schema.js';
import { describeSchema } from './schema-meta.js';

export interface ObjectSpec {
  fields: Record<string, Schema>;
  required?: readonly string[];
  /** Groups of fields of which at most one may be set (protobuf oneof); `required` demands one. */
  oneOf?: ReadonlyArray<{ fields: readonly string[]; required?: boolean }>;
  /** Deprecated field → what to use instead. Still parsed (the field must be in `fields`). */
  deprecated?: Record<string, string>;
  /** Fields accepted and dropped without a word (e.g. Kubernetes-managed metadata). */
  ignored?: readonly string[];
  /**
   * Istio fields meshlet validates but does not apply, each with why: setting one is a
   * MESHLET_ERR_CONFIG_UNSUPPORTED warning (the field must be in `fields`).
   */
  unsupported?: Record<string, string>;
  /**
   * Istio fields meshlet (like Istio's own webhook) refuses, each with the error message: setting
   * one is a MESHLET_ERR_CONFIG_SCHEMA error (the field must be in `fields`).
   */
  rejected?: Record<string, string>;
  /** A note per field for docs/configuration.md (scripts/gen-config-docs.ts), e.g. where it applies. */
  notes?: Record<string, string>;
  /**
   * Semantic checks and normalization; runs only when every field was valid, and may mutate the
   * value (e.g. migrate a deprecated field into its modern form).
   */
  check?: (value: Record<string, unknown>, ctx: WalkContext, path: string) => void;
}

/**
 * An object with known fields.
 *
 * @example
 * ```ts
 * const percent = obj({ fields: { value: percentNumber() }, required: ['value'] });
 * ```
 */
export function obj(spec: ObjectSpec): Schema {
  const known = Object.keys(spec.fields);
  return describeSchema((node, ctx, path) => {
    const n = deref(node, ctx);
    if (!isMap(n)) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `expected a map (object), got ${isScalar(n) ? `${typeof n.value} ${JSON.stringify(n.value)}` : 'a list'}`, { node: n });
      return undefined;
    }
    const before = errorCount(ctx);
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    for (const pair of n.items) {
      const k = pair.key as Node | null;
      const key = isScalar(k) ? String(k.value) : undefined;
      if (key === undefined) {
        report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'field names must be strings', { node: k ?? n });
        continue;
      }
      const p = joinPath(path, key);
      mark(ctx, p, k);
      const schema = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
      if (!schema) {
        if (spec.ignored?.includes(key)) continue;
        const hint = suggest(key, known);
        report(ctx, p, 'MESHLET_ERR_CONFIG_UNKNOWN_FIELD', `unknown field ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`, { node: k ?? n });
        continue;
      }
      const vn = pair.value as Node | null;
      // An explicit null means "unset", as protobuf JSON and Kubernetes treat it.
      if (vn == null || isNull(vn)) continue;
      const dep = spec.deprecated?.[key];
      if (dep) report(ctx, p, 'MESHLET_ERR_CONFIG_DEPRECATED', `field ${JSON.stringify(key)} is deprecated; use ${dep}`, { severity: 'warning', node: k ?? n });
      const rejected = spec.rejected?.[key];
      if (rejected) report(ctx, p, 'MESHLET_ERR_CONFIG_SCHEMA', rejected, { node: k ?? n });
      const unsupported = spec.unsupported?.[key];
      if (unsupported) report(ctx, p, 'MESHLET_ERR_CONFIG_UNSUPPORTED', `${key} is not applied by meshlet: ${unsupported}`, { severity: 'warning', node: k ?? n });
      seen.add(key);
      const v = schema(vn, ctx, p);
      if (v !== undefined) out[key] = v;
    }
    for (const r of spec.required ?? []) {
      if (!seen.has(r)) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `missing required field ${JSON.stringify(r)}`, { node: n });
    }
    for (const group of spec.oneOf ?? []) {
      const set = group.fields.filter((f) => seen.has(f));
      if (set.length > 1) {
        report(ctx, joinPath(path, set[1] as string), 'MESHLET_ERR_CONFIG_SCHEMA', `only one of ${group.fields.join(', ')} may be set (found ${set.join(' and ')})`);
      } else if (set.length === 0 && group.required) {
        report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `exactly one of ${group.fields.join(', ')} must be set`, { node: n });
      }
    }
    if (spec.check && errorCount(ctx) === before) spec.check(out, ctx, path);
    return out;
  }, { type: 'object', spec });
}

/** The known field closest to a misspelt one: same letters ignoring case/underscores, or edit distance ≤ 2. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string): string => s.replace(/[_-]/g, '').toLowerCase();
  const exact = known.find((k) => norm(k) === norm(key));
  if (exact) return exact;
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 3;
}
