/**
 * Entry points that turn YAML text, files or directories into validated Istio resources plus
 * diagnostics. Bad user input never throws; only an unreadable path does.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../errors.js';
import { trace } from '../internal/debug.js';
import { DEFAULT_CONFIG_LIMITS, formatBytes, type ConfigLimits } from './limits.js';
import { validateDocument } from './resource.js';
import type { WalkContext } from './schema.js';
import type { Diagnostic, IstioResource } from './types.js';
import { parseYaml } from './yaml.js';

const log = trace('config');

/** Options for {@link parseConfig} and {@link loadConfigPath}. */
export interface ParseOptions {
  /** Namespace for resources whose metadata has none. Default `"default"`. */
  defaultNamespace?: string;
  /** Also return documents with errors in their spec, built without the invalid fields (`invalid`). */
  keepInvalid?: boolean;
  /** Input bounds (README "Config input"); unset fields keep {@link DEFAULT_CONFIG_LIMITS}. */
  limits?: Partial<ConfigLimits>;
}

/** Resources that passed validation, and every diagnostic found (errors and warnings). */
export interface ParseResult {
  resources: IstioResource[];
  diagnostics: Diagnostic[];
  /** With `keepInvalid`: resources whose spec had errors, minus the invalid fields (never applied). */
  invalid?: IstioResource[];
}

/**
 * Parses and validates a (multi-document) YAML text. A document with any error is left out of
 * `resources`; its valid siblings are kept. Each resource gets `source: { file, line }` and a
 * field-position table readable with {@link fieldSource}.
 *
 * @example
 * ```ts
 * const { resources, diagnostics } = parseConfig(readFileSync('reviews.yaml', 'utf8'), 'reviews.yaml');
 * for (const d of diagnostics) console.error(formatDiagnostic(d));
 * ```
 */
export function parseConfig(text: string, file: string, options: ParseOptions = {}): ParseResult {
  const defaultNamespace = options.defaultNamespace ?? 'default';
  const parsed = parseYaml(text, file, configLimits(options));
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const resources: IstioResource[] = [];
  const invalid: IstioResource[] | undefined = options.keepInvalid ? [] : undefined;
  for (const yd of parsed.documents) {
    const ctx: WalkContext = { file, lineCounter: parsed.lineCounter, doc: yd.doc, aliases: yd.aliases, diagnostics, fields: new Map(), errors: 0 };
    if (invalid) ctx.partials = invalid;
    const resource = validateDocument(yd, ctx, defaultNamespace);
    if (resource) resources.push(resource);
  }
  // Diagnostics in file order, whatever stage found them.
  diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  log('%s: %d resources, %d diagnostics', file, resources.length, diagnostics.length);
  return invalid ? { resources, diagnostics, invalid } : { resources, diagnostics };
}

function configLimits(options: ParseOptions): ConfigLimits {
  return options.limits ? { ...DEFAULT_CONFIG_LIMITS, ...options.limits } : DEFAULT_CONFIG_LIMITS;
}

/** {@link ParseResult} plus the files that were read, in the order they were read. */
export interface LoadResult extends ParseResult {
  files: string[];
}

/**
 * Loads a YAML file, or every `*.yaml`/`*.yml` file under a directory (recursively, sorted by
 * path so the result is deterministic). Throws `MeshError('MESHLET_ERR_FILE_READ')` only when a
 * path cannot be read; invalid content becomes diagnostics.
 *
 * @example
 * ```ts
 * const { resources, diagnostics, files } = await loadConfigPath('samples/bookinfo');
 * ```
 */
export async function loadConfigPath(path: string, options: ParseOptions = {}): Promise<LoadResult> {
  const files = (await isDirectory(path)) ? await listYaml(path) : [path];
  const out: LoadResult = { resources: [], diagnostics: [], files, ...(options.keepInvalid ? { invalid: [] } : {}) };
  const { maxFileBytes } = configLimits(options);
  for (const file of files) {
    const tooLarge = await sizeProblem(file, maxFileBytes);
    if (tooLarge) {
      out.diagnostics.push(tooLarge);
      continue;
    }
    const text = await readText(file);
    const r = parseConfig(text, file, options);
    out.resources.push(...r.resources);
    out.diagnostics.push(...r.diagnostics);
    if (r.invalid) out.invalid?.push(...r.invalid);
  }
  return out;
}

function readError(path: string, err: unknown): MeshError {
  // Node's message is "ENOENT: no such file or directory, stat '<path>'"; keep the middle part.
  const message = (err as Error).message ?? String(err);
  const reason = /^[A-Z]+: (.*?), \w+ '.*'$/.exec(message)?.[1] ?? message;
  return new MeshError('MESHLET_ERR_FILE_READ', `cannot read ${path}: ${reason}`, { cause: err, detail: { path } });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    throw readError(path, err);
  }
}

/**
 * A `MESHLET_ERR_CONFIG_LIMIT` diagnostic when `file` is larger than `maxBytes`, found from its
 * size alone so an oversized file is never read into memory.
 */
export async function sizeProblem(file: string, maxBytes: number): Promise<Diagnostic | undefined> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw readError(file, err);
  }
  if (size <= maxBytes) return undefined;
  return { severity: 'error', code: 'MESHLET_ERR_CONFIG_LIMIT', message: `file is larger than the ${formatBytes(maxBytes)} limit (${size} bytes)`, file, line: 1, column: 1 };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw readError(file, err);
  }
}

async function listYaml(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw readError(dir, err);
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listYaml(full)));
    else if (/\.ya?ml$/i.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(full);
  }
  return out;
}
