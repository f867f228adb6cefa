import type { Diagnostic } from '../config/types.js';
import { trace } from '../internal/debug.js';
import { shortTypeName } from '../xds/type-urls.js';
import { ConfigAnalysis, type AnalysisChanges } from './analysis.js';
import { Emitter, type Disposable } from '../internal/events.js';
import { DEFAULT_DOMAIN_SUFFIX, type ServiceModel } from './model.js';
import type { Registry } from './registry/announcements.js';
import { defaultServiceRegistry, type AggregateRegistry, type AnnouncementSource, type ServiceRegistry } from './registry/index.js';
import type { Proxy } from './proxy.js';
import { ProxySnapshots } from './snapshot-cache.js';
import { Snapshot } from './snapshot.js';
import type { ConfigStore } from './store/types.js';
import { IncrementalTranslator } from './translate/incremental.js';
import { translate, type TranslateInput, type TranslateOutput } from './translate/index.js';

const log = trace('ads');

/** Options of {@link SnapshotBuilder}. */
export interface SnapshotBuilderOptions {
  store: ConfigStore;
  /** Announced endpoints (the `announced` service source reads it). */
  registry: Registry;
  /** What the `announced` source reads instead of `registry` (every server's, from etcd). */
  announcements?: AnnouncementSource;
  /** More service sources, added after `config` and `announced` (Kubernetes sources go first). */
  serviceRegistries?: readonly ServiceRegistry[];
  domainSuffix?: string;
  /** Quiet time after a store/registry change before rebuilding, so bursts become one push. Default 20. */
  debounceMs?: number;
  /** Configs with more resources are analyzed in a worker thread (see analysis.ts). Default 2000. */
  analyzeInWorkerAbove?: number;
  /** Replaces the translator (tests); every build is then a full one. */
  translate?: (input: TranslateInput) => TranslateOutput;
  /**
   * Translate only what a change touches (default true); `false` re-translates everything on
   * every change (the reference the incremental path is checked against).
   */
  incremental?: boolean;
}

/**
 * Turns store + service registries into xDS snapshots: services come from the aggregate of every
 * source (config, announced, and any added; registry/aggregate.ts), are translated (one
 * generator per type), encoded once, and published when anything changed. By
 * default a change re-translates and re-encodes only the services it touches
 * (translate/incremental.ts) and patches the previous snapshot.
 * Translation problems never take the server down: the previous snapshot stays in service and
 * the problem is reported as a diagnostic.
 *
 * @example
 * ```ts
 * const builder = new SnapshotBuilder({ store, registry });
 * builder.start();
 * builder.onSnapshot((snap) => ads.push(snap));
 * ```
 */
export class SnapshotBuilder {
  private snap = Snapshot.empty();
  private svc: ServiceModel[] = [];
  private translateDiags: Diagnostic[] = [];
  private readonly analysis: ConfigAnalysis;
  private timer: NodeJS.Timeout | undefined;
  private lastBuild = -Infinity;
  private subs: Disposable[] = [];
  private readonly built = new Emitter<Snapshot>((err) => log('snapshot listener threw: %o', err));
  private readonly domainSuffix: string;
  private readonly debounceMs: number;
  private readonly translateFn: ((input: TranslateInput) => TranslateOutput) | undefined;
  private incremental: IncrementalTranslator | undefined;
  /** The store's list during a rebuild. */
  private building: ReturnType<ConfigStore['list']> | undefined;
  /** Every service source merged; the only place translation reads services from. */
  readonly serviceRegistry: AggregateRegistry;

  constructor(private readonly options: SnapshotBuilderOptions) {
    this.domainSuffix = options.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX;
    // The config source reads the list this build translates (not a second copy), so the diff of
    // the two lists is computed once (registry/resource-diff.ts) and both see the same config.
    const store = options.store;
    const resources = { list: () => this.building ?? store.list(), onChange: (fn: () => void) => store.onChange(fn) };
    this.serviceRegistry = defaultServiceRegistry(resources, options.announcements ?? options.registry, this.domainSuffix);
    for (const r of options.serviceRegistries ?? []) this.serviceRegistry.addRegistry(r);
    this.debounceMs = options.debounceMs ?? 20;
    this.translateFn = options.translate ?? (options.incremental === false ? translate : undefined);
    this.analysis = new ConfigAnalysis({
      domainSuffix: this.domainSuffix,
      onResult: () => this.onBuild.fire(),
      ...(options.analyzeInWorkerAbove !== undefined ? { workerAbove: options.analyzeInWorkerAbove } : {}),
    });
  }

  /** Builds the first snapshot synchronously and starts following changes. */
  start(): void {
    this.rebuild();
    this.subs.push(this.options.store.onChange(() => this.schedule()));
    this.subs.push(this.serviceRegistry.onChange(() => this.schedule()));
  }

  /** The snapshot currently served (to every proxy, unless routes depend on who asks). */
  get snapshot(): Snapshot {
    return this.snap;
  }

  private groups: ProxySnapshots | undefined;

  /**
   * The snapshot `proxy` is served: the shared one, or its proxy group's when a VirtualService
   * matches on `sourceLabels`/`sourceNamespace` (snapshot-cache.ts).
   */
  snapshotFor(proxy: Proxy | undefined, inbound?: readonly string[]): Snapshot {
    return this.groups?.forProxy(proxy, inbound) ?? this.snap;
  }

  /** Services (config + announced endpoints) the current snapshot was built from. */
  get services(): ServiceModel[] {
    return this.svc;
  }

  /** Duration of the latest build's steps, ms (benchmarks and debugging). */
  lastTimings: { translate: number; encode: number; analyze: number } = { translate: 0, encode: 0, analyze: 0 };

  /**
   * Translation problems of the latest build and cross-resource analysis of the latest
   * finished analysis (for large configs it runs in a worker and may lag by one build).
   */
  get diagnostics(): Diagnostic[] {
    return [...this.translateDiags, ...this.analysis.diagnostics];
  }

  /** Called after every build whose snapshot version differs from the previous one. */
  onSnapshot(fn: (snapshot: Snapshot) => void): Disposable {
    return this.built.on(fn);
  }

  /** A worker analysis of the latest build has not answered yet: `diagnostics` may still change (`onBuild` fires when it does). */
  get analysisPending(): boolean {
    return this.analysis.pending;
  }

  /** Called after every build, changed or not, and when a worker analysis finished (diagnostics may have changed). */
  readonly onBuild = new Emitter<void>((err) => log('build listener threw: %o', err));

  /**
   * Debounced rebuild with a leading edge: after a quiet period the rebuild runs on the next
   * turn of the event loop (a burst applied synchronously still coalesces), and at most once per
   * `debounceMs` while changes keep coming. A trailing-only timer would add its whole delay to
   * every single change.
   */
  schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastBuild + this.debounceMs - performance.now());
    if (wait === 0) {
      // Not unref'd: an unref'd immediate lets the loop block in poll until unrelated I/O arrives.
      this.timer = setImmediate(() => this.fireScheduled()) as unknown as NodeJS.Timeout;
    } else {
      this.timer = setTimeout(() => this.fireScheduled(), wait);
      this.timer.unref();
    }
  }

  private fireScheduled(): void {
    this.timer = undefined;
    this.rebuild();
  }

  private clearTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    clearImmediate(this.timer as unknown as NodeJS.Immediate);
    this.timer = undefined;
  }

  /** No rebuild is scheduled. */
  get idle(): boolean {
    return this.timer === undefined;
  }

  /** Rebuilds now. Never throws. */
  rebuild(): void {
    this.clearTimer();
    this.lastBuild = performance.now();
    const resources = this.options.store.list();
    this.building = resources;
    const diags: Diagnostic[] = [];
    let services = this.svc;
    let next = this.snap;
    let changes: AnalysisChanges | undefined;
    const t0 = performance.now();
    let t1 = t0;
    try {
      if (this.translateFn) {
        this.serviceRegistry.flush();
        services = this.serviceRegistry.services();
        const output = this.translateFn({ resources, services, domainSuffix: this.domainSuffix });
        t1 = performance.now();
        next = Snapshot.build(output, this.snap);
      } else {
        const translator = (this.incremental ??= this.freshTranslator());
        try {
          const result = translator.update(resources);
          services = translator.serviceList();
          changes = translator.lastChanges;
          t1 = performance.now();
          next = result.kind === 'full' ? Snapshot.build(result.output, this.snap) : Snapshot.patch(this.snap, result.delta);
        } catch (err) {
          // Its state may be half updated: the next build starts from scratch (and is a full one).
          this.incremental = undefined;
          throw err;
        }
      }
      for (const e of next.errors) {
        diags.push({ severity: 'error', code: 'MESHLET_ERR_XDS_INVALID', message: `${shortTypeName(e.typeUrl)} ${e.name} could not be encoded and is not served: ${e.message}`, resource: e.name });
      }
    } catch (err) {
      // A translator bug must not stop the server: keep serving the previous snapshot.
      log('snapshot build failed, keeping version %s: %o', this.snap.version, err);
      diags.push({ severity: 'error', code: 'MESHLET_ERR_XDS_INVALID', message: `translation failed; still serving the previous configuration: ${(err as Error).message}` });
    }
    const t2 = performance.now();
    this.building = undefined;
    this.svc = services;
    let changed = next.version !== this.snap.version;
    this.snap = next;
    // A security-only change leaves the shared snapshot as it was but changes inbound listeners.
    if ((this.groups ??= new ProxySnapshots(this.domainSuffix)).update(next, resources, services)) changed = true;
    if (changed) {
      log('snapshot %s built (%d resources in store, %d services)', next.version, resources.length, services.length);
      this.built.fire(next);
    }
    // Analysis only feeds diagnostics, so it runs after the push has been handed to the streams.
    const t3 = performance.now();
    this.analysis.update(resources, services, changes);
    this.lastTimings = { translate: t1 - t0, encode: t2 - t1, analyze: performance.now() - t3 };
    this.translateDiags = diags;
    this.onBuild.fire();
  }

  /** A translator that starts from scratch: its first update is a full build of every service the aggregate holds. */
  private freshTranslator(): IncrementalTranslator {
    return new IncrementalTranslator(this.domainSuffix, this.serviceRegistry);
  }

  close(): void {
    this.clearTimer();
    this.serviceRegistry.close();
    this.analysis.close();
    for (const s of this.subs) s.dispose();
    this.subs = [];
    this.built.clear();
    this.onBuild.clear();
  }
}
