import { join } from 'node:path';
import { parseConfig } from '../../config/index.js';
import { resourceKey, type Diagnostic, type IstioResource, type ResourceKind } from '../../config/types.js';
import { trace } from '../../internal/debug.js';
import type { Disposable } from '../../internal/events.js';
import { CoalescingWriter, readOwnFile } from './state-file.js';
import { compareKeys, type ConfigStore } from './types.js';

const log = trace('store');

/** File name of the applied resources inside a state directory. */
export const APPLIED_FILE = 'applied.yaml';

/** Largest applied-state file read back (the admin API's own body limit keeps each apply far below). */
const MAX_APPLIED_BYTES = 64 * 1024 * 1024;

const HEADER = '# Written by meshlet control: resources applied through its API (meshlet apply), restored on start.\n';

/**
 * A {@link ConfigStore} that persists what is applied through it (`meshlet apply`, the admin
 * API, `server.store.apply()`) in a state directory, and applies it again on the next start.
 * Without it a restart loses every resource that was applied rather than written to a file,
 * and clients drop the services and routes those resources made (a ServiceEntry-only host goes
 * to DNS: `ENOTFOUND`). Kubernetes keeps `kubectl apply`ed objects in etcd for istiod; this file
 * plays that part. Resources defined by the inner store's own source (the files of a FileStore)
 * are not copied: the source has them.
 *
 * The file is multi-document YAML (one JSON document per resource), written atomically and
 * coalesced like the announcement state, and read back through `parseConfig`, so a resource
 * that no longer validates (a stricter schema after an upgrade) is reported by `errors()` with
 * file:line and skipped, while the others are restored. Restored resources cite their line in
 * that file (`source`), not the label they were first applied under.
 *
 * @example
 * ```ts
 * const store = new PersistentStore(new FileStore('./istio'), '/var/lib/meshlet');
 * await store.start();          // inner start, then what was applied before the restart
 * await store.apply(resources, 'admin:se.yaml'); // also written to /var/lib/meshlet/applied.yaml
 * ```
 */
export class PersistentStore implements ConfigStore {
  readonly path: string;
  private readonly applied = new Map<string, IstioResource>();
  /** Keys of `applied` in file order; undefined after a key was added or removed. */
  private order: string[] | undefined;
  /**
   * Each resource's document, serialized once: resources are immutable, and at 30k of them
   * re-serializing all (~10 MB) on every apply cost ~0.5 s of event loop (bench:translate --persist).
   */
  private readonly docs = new WeakMap<IstioResource, string>();
  private readonly writer: CoalescingWriter;
  private restoreErrors: Diagnostic[] = [];
  private started = false;

  constructor(readonly inner: ConfigStore, readonly dir: string) {
    this.path = join(dir, APPLIED_FILE);
    this.writer = new CoalescingWriter(dir, this.path);
  }

  list(): IstioResource[] {
    return this.inner.list();
  }

  errors(): Diagnostic[] {
    return this.restoreErrors.length === 0 ? this.inner.errors() : [...this.inner.errors(), ...this.restoreErrors];
  }

  async apply(resources: IstioResource[], origin?: string): Promise<void> {
    await this.inner.apply(resources, origin);
    for (const r of resources) {
      const key = resourceKey(r);
      if (!this.applied.has(key)) this.order = undefined;
      this.applied.set(key, r);
    }
    if (resources.length > 0) this.save();
  }

  async delete(kind: ResourceKind | string, namespace: string, name: string): Promise<boolean> {
    const deleted = await this.inner.delete(kind, namespace, name);
    if (this.applied.delete(`${kind}/${namespace}/${name}`)) {
      this.order = undefined;
      this.save();
    }
    return deleted;
  }

  onChange(fn: () => void): Disposable {
    return this.inner.onChange(fn);
  }

  /**
   * Starts the inner store, then applies the resources saved by the previous run (before the
   * first snapshot is built from `list()`). Throws MESHLET_ERR_STORE when the file cannot be read.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.inner.start();
    const text = await readOwnFile(this.path, MAX_APPLIED_BYTES);
    if (text === undefined) return;
    // Our own file holds everything ever applied (30k resources is ~10 MB): the per-file bounds
    // for user input do not fit it, the read bound above does.
    const { resources, diagnostics } = parseConfig(text, this.path, { limits: { maxFileBytes: MAX_APPLIED_BYTES, maxDocuments: Number.MAX_SAFE_INTEGER } });
    this.restoreErrors = diagnostics.filter((d) => d.severity === 'error');
    for (const d of this.restoreErrors) log('%s:%d: %s (not restored)', this.path, d.line ?? 0, d.message);
    for (const r of resources) this.applied.set(resourceKey(r), r);
    this.order = undefined;
    if (resources.length > 0) await this.inner.apply(resources, `state:${APPLIED_FILE}`);
    log('restored %d applied resource(s) from %s', resources.length, this.path);
  }

  /** Stops the inner store (when the caller owns it) after the last write reached the disk. */
  async close(): Promise<void> {
    await this.writer.flush();
    await this.inner.close();
  }

  private save(): void {
    this.writer.save(() => {
      this.order ??= [...this.applied.keys()].sort(compareKeys);
      const docs = this.order.map((key) => this.doc(this.applied.get(key) as IstioResource));
      return HEADER + docs.join('\n---\n') + '\n';
    });
  }

  private doc(resource: IstioResource): string {
    let text = this.docs.get(resource);
    if (text === undefined) {
      const { source: _, ...r } = resource;
      text = JSON.stringify(r);
      this.docs.set(resource, text);
    }
    return text;
  }
}
