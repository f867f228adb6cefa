import { parseConfig } from '../../config/index.js';
import { resourceKey, type Diagnostic, type IstioResource, type ResourceKind } from '../../config/types.js';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import type { EtcdConnection, EtcdEntry } from './etcd-client.js';
import { compareKeys, type ConfigStore } from './types.js';

const log = trace('store');

/** Most resources one etcd store holds (a bound on memory and on one range read). */
export const MAX_ETCD_RESOURCES = 100_000;

interface Item {
  resource: IstioResource;
  modRevision: number;
}

/**
 * A {@link ConfigStore} in etcd, what several control servers share (Istio keeps its config in
 * the Kubernetes API server, etcd underneath). One key per resource,
 * `<prefix>config/<Kind>/<namespace>/<name>`, holding the resource as JSON; `list()` serves a
 * view filled by one range read at `start()` and kept current by a prefix watch from that
 * revision (no polling). A watch that cannot resume (compaction) reloads with a fresh range.
 *
 * Every server reads the same bytes back through `parseConfig`, so the same etcd state is the
 * same `list()` on every server, and the content-hashed snapshot versions agree: a client that
 * fails over to another server gets responses whose versions it already holds. Writes update
 * the local view with their own revision at once (a later watch event for an older revision
 * is ignored), so `apply()` followed by `settled()` sees the change on the server that took it.
 *
 * @example
 * ```ts
 * const etcd = await connectEtcd(parseEtcdUrl('etcd://127.0.0.1:2379'));
 * const store = new EtcdStore(etcd);
 * await store.start();
 * await store.apply(parseConfig(yaml, 'vs.yaml').resources, 'admin');
 * ```
 */
export class EtcdStore implements ConfigStore {
  private readonly items = new Map<string, Item>();
  /** Keys deleted, with the revision of the delete, so a late watch put of an older revision is not resurrected. */
  private readonly tombstones = new Map<string, number>();
  private readonly bad = new Map<string, Diagnostic[]>();
  private readonly changed = new Emitter<void>((err) => log('onChange listener threw: %o', err));
  private sorted: IstioResource[] | undefined;
  private watch: { cancel(): Promise<void> } | undefined;
  private started: Promise<void> | undefined;
  private closed = false;
  private notifyQueued = false;
  readonly prefix: string;

  constructor(private readonly etcd: EtcdConnection) {
    this.prefix = `${etcd.target.prefix}config/`;
  }

  list(): IstioResource[] {
    this.sorted ??= [...this.items.keys()].sort(compareKeys).map((k) => this.items.get(k)!.resource);
    return [...this.sorted];
  }

  errors(): Diagnostic[] {
    return [...this.bad.values()].flat();
  }

  async apply(resources: IstioResource[], origin?: string): Promise<void> {
    if (resources.length === 0) return;
    const added = resources.filter((r) => !this.items.has(this.keyOf(resourceKey(r)))).length;
    if (this.items.size + added > MAX_ETCD_RESOURCES) throw meshError('MESHLET_ERR_STORE', `the etcd store holds at most ${MAX_ETCD_RESOURCES} resources`);
    const docs = resources.map((r) => {
      const { source: _, ...plain } = r;
      return { key: this.keyOf(resourceKey(r)), value: Buffer.from(JSON.stringify(plain)) };
    });
    let revision: number;
    try {
      revision = await this.etcd.commit(docs.map((d) => ({ put: d.key, value: d.value })));
    } catch (err) {
      throw meshError('MESHLET_ERR_STORE', `etcd write failed: ${(err as Error).message}`, { cause: err });
    }
    for (const d of docs) this.ingest({ key: d.key, value: d.value, modRevision: revision, lease: '0' });
    log('applied %d resource(s) from %s to etcd at revision %d', resources.length, origin ?? 'api', revision);
  }

  async delete(kind: ResourceKind | string, namespace: string, name: string): Promise<boolean> {
    const key = this.keyOf(`${kind}/${namespace}/${name}`);
    let existed: boolean;
    try {
      existed = await this.etcd.delete(key);
    } catch (err) {
      throw meshError('MESHLET_ERR_STORE', `etcd delete failed: ${(err as Error).message}`, { cause: err });
    }
    // The delete's own revision is unknown here; the watch brings it. Drop the key now so the
    // caller's next read agrees, and keep out any put older than what we have.
    const had = this.items.get(key);
    if (had) this.remove(key, had.modRevision + 1);
    return existed || had !== undefined;
  }

  onChange(fn: () => void): Disposable {
    return this.changed.on(fn);
  }

  /** Reads every resource, then watches from that revision. Throws MESHLET_ERR_ETCD when etcd does not answer. */
  start(): Promise<void> {
    this.started ??= this.load();
    return this.started;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watch?.cancel();
    this.watch = undefined;
    this.changed.clear();
  }

  private async load(): Promise<void> {
    let snapshot: Awaited<ReturnType<EtcdConnection['range']>>;
    try {
      snapshot = await this.etcd.range(this.prefix);
    } catch (err) {
      throw meshError('MESHLET_ERR_ETCD', `cannot read the config from etcd ${this.etcd.target.hosts.join(',')}: ${(err as Error).message}`, { cause: err });
    }
    if (this.closed) return;
    const seen = new Set<string>();
    for (const e of snapshot.entries.slice(0, MAX_ETCD_RESOURCES)) {
      seen.add(e.key);
      this.ingest(e, true);
    }
    // After a reload, keys that went while the watch was broken.
    for (const [key, item] of this.items) if (!seen.has(key) && item.modRevision <= snapshot.revision) this.remove(key, snapshot.revision);
    for (const key of this.bad.keys()) if (!seen.has(key)) this.bad.delete(key);
    this.notify();
    log('loaded %d resource(s) from etcd at revision %d', this.items.size, snapshot.revision);
    await this.watch?.cancel();
    this.watch = await this.etcd.watch(this.prefix, snapshot.revision + 1, {
      put: (e) => this.ingest(e),
      delete: (key, rev) => this.remove(key, rev),
      reset: () => void this.reload(),
    });
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    try {
      await this.load();
    } catch (err) {
      log('reload failed (%s); retrying in 1 s', (err as Error).message);
      setTimeout(() => void this.reload(), 1000).unref();
    }
  }

  /** One key's value (from a read, a watch event or our own write) into the view. */
  private ingest(e: EtcdEntry, loading = false): void {
    const current = this.items.get(e.key)?.modRevision ?? this.tombstones.get(e.key) ?? 0;
    if (e.modRevision < current || (e.modRevision === current && !loading && this.items.has(e.key))) return;
    this.tombstones.delete(e.key);
    const file = `etcd:${e.key}`;
    const { resources, diagnostics } = e.value.length > 1024 * 1024
      ? { resources: [], diagnostics: [{ severity: 'error', code: 'MESHLET_ERR_STORE', message: 'value over 1 MiB', file } as Diagnostic] }
      : parseConfig(e.value.toString('utf8'), file);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const r = resources[0];
    if (errors.length > 0 || resources.length !== 1 || this.keyOf(resourceKey(r!)) !== e.key) {
      this.bad.set(e.key, errors.length > 0 ? errors : [{ severity: 'error', code: 'MESHLET_ERR_STORE', message: `${e.key} does not hold exactly the resource its key names`, file } as Diagnostic]);
      log('%s skipped: %s', e.key, this.bad.get(e.key)![0]!.message);
      if (this.items.delete(e.key)) this.sorted = undefined;
    } else {
      this.bad.delete(e.key);
      this.items.set(e.key, { resource: r!, modRevision: e.modRevision });
      this.sorted = undefined;
    }
    if (!loading) this.notify();
  }

  private remove(key: string, revision: number): void {
    const item = this.items.get(key);
    if (item && item.modRevision > revision) return;
    this.tombstones.set(key, Math.max(revision, this.tombstones.get(key) ?? 0));
    // Tombstones only need to outlive the watch events in flight; keep their number bounded.
    if (this.tombstones.size > 10_000) this.tombstones.delete(this.tombstones.keys().next().value as string);
    const hadBad = this.bad.delete(key);
    if (!item && !hadBad) return;
    this.items.delete(key);
    this.sorted = undefined;
    this.notify();
  }

  /** Coalesces the events of one watch response into one change. */
  private notify(): void {
    if (this.notifyQueued || this.closed) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      this.changed.fire();
    });
  }

  private keyOf(resourceKeyText: string): string {
    return this.prefix + resourceKeyText;
  }
}
