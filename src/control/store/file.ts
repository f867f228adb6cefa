import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../config/index.js';
import { DEFAULT_CONFIG_LIMITS, formatBytes } from '../../config/limits.js';
import { resourceKey, type Diagnostic, type IstioResource, type ResourceKind } from '../../config/types.js';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import { compareKeys, type ConfigStore } from './types.js';

const log = trace('store');

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** Namespace of resources whose YAML omits it. Default "default". */
  defaultNamespace?: string;
  /** Fallback poll interval in ms (fs.watch misses events on some file systems). Default 500. */
  pollMs?: number;
  /** Quiet time after a watch event before re-reading, so editors' bursts become one load. Default 50. */
  debounceMs?: number;
}

interface FileState {
  /** `mtimeMs:size`, what the poll compares. */
  sig: string;
  text: string | undefined;
  /** Resources of the last version of this file that validated. */
  good: IstioResource[];
  /** Diagnostics of the latest read (errors mean `good` is stale). */
  diagnostics: Diagnostic[];
}

const YAML_FILE = /\.ya?ml$/i;

/**
 * A {@link ConfigStore} over a directory of Istio YAML (`meshlet control --config DIR`). Every
 * `*.yaml`/`*.yml` below the directory is loaded (dot files and dot directories are skipped, so
 * editor swap files never count). Changes are picked up by `fs.watch` (recursive) plus a cheap
 * mtime poll, well within a second.
 *
 * - A file that stops validating keeps serving its LAST GOOD resources; its diagnostics
 *   (file:line) are reported by `errors()` until it is fixed. A deleted file removes its resources.
 * - The same key in two files: the file whose path sorts first wins, the other is reported as
 *   MESHLET_ERR_CONFIG_DUPLICATE.
 * - `apply()` keeps resources in memory beside the files (this store never writes them to disk;
 *   the control server keeps them in its state dir, see PersistentStore). An applied resource
 *   shadows a file resource with the same key until it is deleted; `delete()` only removes
 *   applied resources (a file resource is removed by editing its file).
 *
 * @example
 * ```ts
 * const store = new FileStore('./istio');
 * await store.start();            // throws MESHLET_ERR_FILE_READ if the directory is unreadable
 * store.onChange(() => rebuild(store.list()));
 * ```
 */
export class FileStore implements ConfigStore {
  private readonly files = new Map<string, FileState>();
  private readonly applied = new Map<string, IstioResource>();
  private readonly changed = new Emitter<void>((err) => log('onChange listener threw: %o', err));
  private view: IstioResource[] = [];
  private viewErrors: Diagnostic[] = [];
  private dirError: Diagnostic | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan: 'none' | 'poll' | 'force' = 'none';
  private started = false;
  private closed = false;
  private readonly pollMs: number;
  private readonly debounceMs: number;

  constructor(readonly dir: string, private readonly options: FileStoreOptions = {}) {
    this.pollMs = options.pollMs ?? 500;
    this.debounceMs = options.debounceMs ?? 50;
  }

  list(): IstioResource[] {
    return [...this.view];
  }

  errors(): Diagnostic[] {
    return this.dirError ? [this.dirError, ...this.viewErrors] : [...this.viewErrors];
  }

  async apply(resources: IstioResource[], origin?: string): Promise<void> {
    if (resources.length === 0) return;
    for (const r of resources) this.applied.set(resourceKey(r), r);
    log('applied %d resource(s) from %s (in memory, beside %s)', resources.length, origin ?? 'api', this.dir);
    this.rebuild(true);
  }

  async delete(kind: ResourceKind | string, namespace: string, name: string): Promise<boolean> {
    const key = `${kind}/${namespace}/${name}`;
    if (this.applied.delete(key)) {
      this.rebuild(true);
      return true;
    }
    for (const [file, state] of this.files) {
      if (state.good.some((r) => resourceKey(r) === key)) {
        throw meshError('MESHLET_ERR_STORE', `${key} is defined in ${file}; remove it from that file instead`, { detail: { file } });
      }
    }
    return false;
  }

  onChange(fn: () => void): Disposable {
    return this.changed.on(fn);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      const s = await stat(this.dir);
      if (!s.isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw meshError('MESHLET_ERR_FILE_READ', `cannot read config directory ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
    await this.scan(true);
    this.startWatching();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
    this.poller = this.debounce = undefined;
    await this.scanning;
    this.changed.clear();
  }

  private startWatching(): void {
    try {
      // Recursive watching is native on macOS/Windows and emulated on Linux since Node 20; where it
      // throws or misbehaves the poll below still catches every change.
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.schedule());
      this.watcher.on('error', (err) => {
        log('fs.watch failed on %s, relying on polling: %o', this.dir, err);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      log('fs.watch unavailable on %s, relying on polling: %o', this.dir, err);
    }
    this.poller = setInterval(() => this.requestScan('poll'), this.pollMs);
    this.poller.unref();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.requestScan('force');
    }, this.debounceMs);
    this.debounce.unref();
  }

  /** Runs one scan at a time; a request during a scan queues exactly one more. */
  private requestScan(kind: 'poll' | 'force'): void {
    if (this.closed) return;
    if (this.scanning) {
      if (this.rescan !== 'force') this.rescan = kind;
      return;
    }
    this.scanning = this.scan(kind === 'force')
      .catch((err) => log('scan of %s failed: %o', this.dir, err))
      .finally(() => {
        this.scanning = undefined;
        const next = this.rescan;
        this.rescan = 'none';
        if (next !== 'none') this.requestScan(next);
      });
  }

  /**
   * Re-reads the directory. `force` re-reads every file's text (after a watch event: a rewrite
   * within the same mtime tick and size would fool the stat signature); otherwise only files
   * whose signature changed are read.
   */
  private async scan(force: boolean): Promise<void> {
    let paths: string[];
    try {
      paths = (await walk(this.dir)).sort();
      this.setDirError(undefined);
    } catch (err) {
      // Keep serving what we had: a directory that vanished mid-rename is usually back soon.
      this.setDirError(`cannot read config directory ${this.dir}: ${(err as Error).message}`);
      return;
    }
    let dirty = false;
    const present = new Set(paths);
    for (const file of [...this.files.keys()]) {
      if (!present.has(file)) {
        this.files.delete(file);
        log('file removed: %s', file);
        dirty = true;
      }
    }
    for (const file of paths) {
      if (this.closed) return;
      if (await this.refreshFile(file, force)) dirty = true;
    }
    if (dirty) this.rebuild(true);
  }

  /** Reads one file if it changed; returns whether its resources or diagnostics changed. */
  private async refreshFile(file: string, force: boolean): Promise<boolean> {
    const prev = this.files.get(file);
    let sig: string;
    let text: string;
    try {
      const s = await stat(file);
      sig = `${s.mtimeMs}:${s.size}`;
      if (!force && prev && prev.sig === sig) return false;
      if (s.size > DEFAULT_CONFIG_LIMITS.maxFileBytes) {
        // Never read it into memory; keep the file's last good resources, as for any invalid file.
        const message = `file is larger than the ${formatBytes(DEFAULT_CONFIG_LIMITS.maxFileBytes)} limit (${s.size} bytes)`;
        const d: Diagnostic = { severity: 'error', code: 'MESHLET_ERR_CONFIG_LIMIT', message, file, line: 1, column: 1 };
        this.files.set(file, { sig, text: undefined, good: prev?.good ?? [], diagnostics: [d] });
        return true;
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Deleted between readdir and read: the next scan removes it.
        return false;
      }
      const d: Diagnostic = { severity: 'error', code: 'MESHLET_ERR_FILE_READ', message: `cannot read ${file}: ${(err as Error).message}`, file };
      this.files.set(file, { sig: '', text: undefined, good: prev?.good ?? [], diagnostics: [d] });
      return true;
    }
    if (prev && prev.text === text) {
      prev.sig = sig;
      return false;
    }
    // Diagnostics name the file as the user spelled the directory (relative stays relative).
    const parsed = parseConfig(text, file, this.options.defaultNamespace !== undefined ? { defaultNamespace: this.options.defaultNamespace } : {});
    const failed = parsed.diagnostics.some((d) => d.severity === 'error');
    if (failed) log('file %s has errors; keeping its last good resources (%d)', file, prev?.good.length ?? 0);
    else log('file loaded: %s (%d resources)', file, parsed.resources.length);
    this.files.set(file, {
      sig,
      text,
      good: failed ? (prev?.good ?? []) : parsed.resources,
      diagnostics: parsed.diagnostics,
    });
    return true;
  }

  private setDirError(message: string | undefined): void {
    const before = this.dirError?.message;
    this.dirError = message === undefined ? undefined : { severity: 'error', code: 'MESHLET_ERR_FILE_READ', message, file: this.dir };
    if (before !== message) this.changed.fire();
  }

  /** Recomputes the merged view: files in path order (first wins), then applied resources. */
  private rebuild(notify: boolean): void {
    const byKey = new Map<string, IstioResource>();
    const origin = new Map<string, string>();
    const errors: Diagnostic[] = [];
    for (const [file, state] of [...this.files.entries()].sort(([a], [b]) => compareKeys(a, b))) {
      errors.push(...state.diagnostics);
      for (const r of state.good) {
        const key = resourceKey(r);
        const first = origin.get(key);
        if (first !== undefined && first !== file) {
          errors.push({
            severity: 'error',
            code: 'MESHLET_ERR_CONFIG_DUPLICATE',
            message: `${key} is also defined in ${first}; this copy is ignored`,
            file: r.source?.file ?? file,
            ...(r.source ? { line: r.source.line } : {}),
            resource: key,
          });
          continue;
        }
        origin.set(key, file);
        byKey.set(key, r);
      }
    }
    for (const [key, r] of this.applied) byKey.set(key, r);
    this.view = [...byKey.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, r]) => r);
    this.viewErrors = errors;
    if (notify) this.changed.fire();
  }
}

/** Every YAML file below `dir`, skipping dot entries; follows symlinks to files. */
async function walk(dir: string, out: string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      await walk(full, out).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    } else if (YAML_FILE.test(e.name) && (e.isFile() || e.isSymbolicLink())) {
      out.push(full);
    }
  }
  return out;
}
