/**
 * A small schema DSL that validates a YAML AST node and builds the plain value at the same time.
 * Every problem becomes a {@link Diagnostic} with the field path (`spec.http[0].route[1].weight`)
 * and the line of the offending node; nothing throws. A schema returns the built value, or
 * `undefined` when the node is invalid (a diagnostic has then been recorded).
 */
import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type LineCounter, type Node } from './yaml-lib.js';
import type { MeshErrorCode } from '../errors.js';
import { isDurationOutOfRange, parseDuration } from './duration.js';
import type { Diagnostic, IstioResource, SourceRef } from './types.js';
import { nodePosition } from './yaml.js';
import { describeSchema } from './schema-meta.js';

/** State shared by one walk over one resource. */
export interface WalkContext {
  file: string;
  lineCounter: LineCounter;
  doc: Document.Parsed;
  /** Alias → anchored node, from {@link parseYaml}; aliases not in it resolve the slow way. */
  aliases?: ReadonlyMap<Alias, Node>;
  diagnostics: Diagnostic[];
  /** Field path → where it was written; becomes the resource's {@link fieldSource} table. */
  fields: Map<string, SourceRef>;
  /** `Kind/namespace/name`, once known. */
  resource?: string;
  /** Errors reported so far through {@link report} (cheaper than scanning `diagnostics`). */
  errors: number;
  /**
   * When set, a document whose spec has errors is still built (without its invalid fields) and
   * added here, so `meshlet analyze` can run its cross-resource checks on it too.
   */
  partials?: IstioResource[];
}

/** Validates `node` found at `path` and returns the plain value, or `undefined` if invalid. */
export type Schema = (node: Node, ctx: WalkContext, path: string) => unknown;

// ---------------------------------------------------------------- reporting

/**
 * Records a diagnostic at `path`. The position is the node's when given, else the closest
 * recorded position of the path or one of its ancestors.
 */
export function report(
  ctx: WalkContext,
  path: string,
  code: MeshErrorCode,
  message: string,
  options: { severity?: 'error' | 'warning'; node?: Node } = {},
): void {
  const pos = options.node ? nodePosition(ctx.lineCounter, options.node) : undefined;
  const ref = pos ? { file: ctx.file, line: pos.line, column: pos.column } : lookup(ctx.fields, path);
  const d: Diagnostic = { severity: options.severity ?? 'error', code, message, file: ctx.file };
  if (ref) {
    d.line = ref.line;
    if (ref.column !== undefined) d.column = ref.column;
  }
  if (path) d.path = path;
  if (ctx.resource) d.resource = ctx.resource;
  if (d.severity === 'error') ctx.errors++;
  ctx.diagnostics.push(d);
}

function lookup(fields: Map<string, SourceRef>, path: string): SourceRef | undefined {
  for (let p = path; ; ) {
    const ref = fields.get(p);
    if (ref) return ref;
    const cut = p.endsWith('"]') ? p.lastIndexOf('["') : Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return fields.get('');
    p = p.slice(0, cut);
  }
}

/** Number of errors recorded so far; compare before/after to know whether a subtree was valid. */
export function errorCount(ctx: WalkContext): number {
  return ctx.errors;
}

/** Appends a map key to a path: `a.b`, or `a["end-user"]` when the key is not an identifier. */
export function joinPath(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Records where `path` was written. */
export function mark(ctx: WalkContext, path: string, node: Node | null | undefined): void {
  const pos = nodePosition(ctx.lineCounter, node);
  if (pos) ctx.fields.set(path, { file: ctx.file, line: pos.line, column: pos.column });
}

/** Copies the recorded position of `from` to `to` (used when a deprecated field is migrated). */
export function moveMark(ctx: WalkContext, from: string, to: string): void {
  const ref = ctx.fields.get(from);
  if (ref && !ctx.fields.has(to)) ctx.fields.set(to, ref);
}

/** Follows YAML aliases (`*anchor`) to the node they name. */
export function deref(node: Node, ctx: WalkContext): Node {
  if (!isAlias(node)) return node;
  return ctx.aliases?.get(node) ?? (node.resolve(ctx.doc) as Node | undefined) ?? node;
}

/** Whether a node is an explicit YAML null (`field:` or `field: null`), which means "unset". */
export function isNull(node: Node | null | undefined): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

function describe(node: Node): string {
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    return `${typeof v} ${String(v)}`;
  }
  return 'an unsupported YAML node';
}

function scalarOf(node: Node, ctx: WalkContext, path: string, want: string, type: 'string' | 'number' | 'boolean'): unknown {
  const n = deref(node, ctx);
  if (isScalar(n) && typeof n.value === type) return n.value;
  report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `expected ${want}, got ${describe(n)}`, { node: n });
  return undefined;
}

// ---------------------------------------------------------------- scalars

/** A string; `check` returns an error message for values that are not acceptable. */
export function str(options: { nonEmpty?: boolean; upper?: boolean; check?: (value: string) => string | undefined } = {}): Schema {
  const info = { type: 'string', ...(options.nonEmpty ? { nonEmpty: true } : {}), ...(options.check ? { checked: true } : {}) } as const;
  return describeSchema((node, ctx, path) => {
    const v = scalarOf(node, ctx, path, 'a string', 'string') as string | undefined;
    if (v === undefined) return undefined;
    if (options.nonEmpty && v === '') {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'must not be empty', { node });
      return undefined;
    }
    const problem = options.check?.(v);
    if (problem) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', problem, { node });
      return undefined;
    }
    return options.upper ? v.toUpperCase() : v;
  }, info);
}

function numeric(integer: boolean, options: { min?: number; max?: number }): Schema {
  return describeSchema((node, ctx, path) => {
    const v = scalarOf(node, ctx, path, integer ? 'an integer' : 'a number', 'number') as number | undefined;
    if (v === undefined) return undefined;
    if (integer && !Number.isInteger(v)) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `expected an integer, got ${v}`, { node });
      return undefined;
    }
    const { min, max } = options;
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      const range = min !== undefined && max !== undefined ? `in range ${min}..${max}` : min !== undefined ? `>= ${min}` : `<= ${max}`;
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `must be ${range}, got ${v}`, { node });
      return undefined;
    }
    return v;
  }, { type: integer ? 'integer' : 'number', ...options });
}

/** An integer, optionally bounded (inclusive). */
export const int = (options: { min?: number; max?: number } = {}): Schema => numeric(true, options);
/** A number, optionally bounded (inclusive). */
export const num = (options: { min?: number; max?: number } = {}): Schema => numeric(false, options);
/** A port number 1..65535. */
export const port = (): Schema => numeric(true, { min: 1, max: 65535 });
/** A percentage 0..100 (fractions allowed). */
export const percentNumber = (): Schema => numeric(false, { min: 0, max: 100 });

/** A boolean. */
export function bool(): Schema {
  return describeSchema((node, ctx, path) => scalarOf(node, ctx, path, 'a boolean', 'boolean'), { type: 'boolean' });
}

/** One of Istio's enum names (case-sensitive, as the Istio API is). */
export function enumOf(values: readonly string[]): Schema {
  return describeSchema((node, ctx, path) => {
    const v = scalarOf(node, ctx, path, `one of ${values.join(', ')}`, 'string') as string | undefined;
    if (v === undefined) return undefined;
    if (values.includes(v)) return v;
    const hint = values.find((x) => x.toLowerCase() === v.toLowerCase());
    report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `invalid value ${JSON.stringify(v)}: expected one of ${values.join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}`, { node });
    return undefined;
  }, { type: 'enum', values });
}

/**
 * A duration string ("250ms", "1.5s", "1h30m"), kept as written. Like Istio, only millisecond
 * precision is accepted; `min` (in ms) rejects e.g. a zero per-try timeout.
 */
export function duration(options: { min?: number } = {}): Schema {
  return describeSchema((node, ctx, path) => {
    const n = deref(node, ctx);
    if (!isScalar(n) || typeof n.value !== 'string') {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `expected a duration string such as "1s" or "250ms", got ${describe(n)}`, { node: n });
      return undefined;
    }
    const ms = parseDuration(n.value);
    let problem: string | undefined;
    if (ms === undefined && isDurationOutOfRange(n.value)) problem = `duration ${JSON.stringify(n.value)} is out of range: at most 2562047h47m16.854775807s, as in Go`;
    else if (ms === undefined) problem = `invalid duration ${JSON.stringify(n.value)}: expected e.g. "1s", "250ms", "1.5s", "1m", "1h"`;
    else if (!Number.isInteger(ms)) problem = `duration ${JSON.stringify(n.value)} is finer than a millisecond; only millisecond precision is supported`;
    else if (options.min !== undefined && ms < options.min) problem = `duration ${JSON.stringify(n.value)} must be at least ${options.min}ms`;
    if (problem) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', problem, { node: n });
      return undefined;
    }
    return n.value;
  }, { type: 'duration', ...options });
}

// ---------------------------------------------------------------- collections

/** A list whose items all match `item`. */
export function arrayOf(item: Schema, options: { nonEmpty?: boolean } = {}): Schema {
  return describeSchema((node, ctx, path) => {
    const n = deref(node, ctx);
    if (!isSeq(n)) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `expected a list, got ${describe(n)}`, { node: n });
      return undefined;
    }
    if (options.nonEmpty && n.items.length === 0) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'must have at least one item', { node: n });
      return undefined;
    }
    const out: unknown[] = [];
    n.items.forEach((child, i) => {
      const p = `${path}[${i}]`;
      const c = child as Node | null;
      mark(ctx, p, c);
      if (c == null || isNull(c)) {
        report(ctx, p, 'MESHLET_ERR_CONFIG_SCHEMA', 'list item must not be null');
        return;
      }
      const v = item(c, ctx, p);
      if (v !== undefined) out.push(v);
    });
    return out;
  }, { type: 'list', item, ...options });
}

/** A map from string keys to values matching `value`; `key` may reject keys (returns a message). */
export function mapOf(value: Schema, options: { key?: (key: string) => string | undefined } = {}): Schema {
  return describeSchema((node, ctx, path) => {
    const n = deref(node, ctx);
    if (!isMap(n)) {
      report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `expected a map, got ${describe(n)}`, { node: n });
      return undefined;
    }
    const entries: Array<[string, unknown]> = [];
    for (const pair of n.items) {
      const k = pair.key as Node | null;
      if (!isScalar(k) || k.value === null || typeof k.value === 'object') {
        report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'map keys must be strings', { node: k ?? n });
        continue;
      }
      const key = String(k.value);
      const p = joinPath(path, key);
      mark(ctx, p, k);
      const problem = options.key?.(key);
      if (problem) {
        report(ctx, p, 'MESHLET_ERR_CONFIG_SCHEMA', problem, { node: k });
        continue;
      }
      const vn = pair.value as Node | null;
      if (vn == null || isNull(vn)) {
        report(ctx, p, 'MESHLET_ERR_CONFIG_SCHEMA', 'value must not be null', { node: k });
        continue;
      }
      const v = value(vn, ctx, p);
      if (v !== undefined) entries.push([key, v]);
    }
    // fromEntries defines own properties, so a `__proto__` key cannot touch the prototype.
    return Object.fromEntries(entries);
  }, { type: 'map', value });
}

export { obj, suggest, type ObjectSpec } from './schema-object.js';
