/**
 * Cross-resource analysis of the served config (config/analyze.ts), kept off the event loop for
 * large configs: analyze() looks at the whole config on every change (at 30k resources it takes
 * seconds), and while it ran no xDS push went out and no admin request was answered. Small
 * configs are analyzed inline, so their diagnostics are current as soon as a build returns;
 * above `workerAbove` resources, or once an inline run took longer than `slowMs`, a worker
 * thread keeps a copy of the config (sent as deltas: unchanged resources are the same objects)
 * and answers with the diagnostics, which then lag the served snapshot by one analysis.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { analyze } from '../config/analyze.js';
import { fieldSource } from '../config/sources.js';
import type { Diagnostic, IstioResource } from '../config/types.js';
import { trace } from '../internal/debug.js';
import type { AnalysisDelta } from './analyze-worker.js';
import type { ServiceModel } from './model.js';
import { diffResources } from './registry/resource-diff.js';

const log = trace('ads');

/** Options of {@link ConfigAnalysis}. */
export interface ConfigAnalysisOptions {
  domainSuffix: string;
  /** Called when worker results replaced the diagnostics. */
  onResult: () => void;
  /** Configs with more resources are analyzed in a worker thread. Default 2000. */
  workerAbove?: number;
  /** An inline run slower than this moves analysis to the worker for good. Default 50 ms. */
  slowMs?: number;
}

/** What changed since `since` (the resources of the previous update), as the incremental translator saw it. */
export interface AnalysisChanges {
  since: readonly IstioResource[];
  resources: ReadonlyArray<readonly [string, IstioResource | undefined, IstioResource | undefined]>;
  services: ReadonlyArray<{ hostname: string; after: ServiceModel | undefined }>;
}

/** analyze()'s order: by file, then line. */
const byPlace = (a: Diagnostic, b: Diagnostic): number => ((a.file ?? '') < (b.file ?? '') ? -1 : (a.file ?? '') > (b.file ?? '') ? 1 : (a.line ?? 0) - (b.line ?? 0));

/**
 * Runs analyze() over each new (resources, services), inline or in a worker.
 *
 * @example
 * ```ts
 * const analysis = new ConfigAnalysis({ domainSuffix: 'cluster.local', onResult: () => report(analysis.diagnostics) });
 * analysis.update(store.list(), services);
 * ```
 */
export class ConfigAnalysis {
  private diags: Diagnostic[] = [];
  private worker: Worker | undefined;
  private useWorker = false;
  private seq = 0;
  private answered = 0;
  private sentResources: readonly IstioResource[] = [];
  private sentServices = new Map<string, ServiceModel>();
  private readonly current = new Map<string, IstioResource>();
  private readonly workerAbove: number;
  private readonly slowMs: number;
  private closed = false;

  constructor(private readonly options: ConfigAnalysisOptions) {
    this.workerAbove = options.workerAbove ?? 2000;
    this.slowMs = options.slowMs ?? 50;
  }

  /** Diagnostics of the latest finished analysis. */
  get diagnostics(): Diagnostic[] {
    return this.diags;
  }

  /** A worker analysis of the latest update has not answered yet. */
  get pending(): boolean {
    return this.worker !== undefined && this.answered !== this.seq;
  }

  /** Whether analysis runs in the worker thread. */
  get inWorker(): boolean {
    return this.useWorker;
  }

  /**
   * Analyzes this config: now (inline) or soon (worker; `onResult` tells when). `changes`, when
   * given, is what changed since `changes.since` (the previous resources), which spares
   * diffing the whole config again. Never throws.
   */
  update(resources: readonly IstioResource[], services: readonly ServiceModel[], changes?: AnalysisChanges): void {
    if (this.closed) return;
    if (!this.useWorker && resources.length > this.workerAbove) this.useWorker = true;
    if (this.useWorker && this.send(resources, services, changes)) return;
    const t0 = performance.now();
    try {
      this.diags = analyze(resources, { services, domainSuffix: this.options.domainSuffix });
    } catch (err) {
      log('analyze failed: %o', err);
    }
    if (performance.now() - t0 > this.slowMs) this.useWorker = true;
  }

  close(): void {
    this.closed = true;
    void this.worker?.terminate();
    this.worker = undefined;
  }

  /** Sends what changed since the last message; false when no worker can run. */
  private send(resources: readonly IstioResource[], services: readonly ServiceModel[], changes: AnalysisChanges | undefined): boolean {
    if (!this.worker && !this.spawn()) {
      this.useWorker = false;
      return false;
    }
    const delta: AnalysisDelta = { seq: ++this.seq, domainSuffix: this.options.domainSuffix, resources: [], removedResources: [], services: [], removedServices: [] };
    const known = changes !== undefined && changes.since === this.sentResources;
    for (const [key, , after] of known ? changes.resources : diffResources(this.sentResources, resources)) {
      if (after) {
        delta.resources.push([key, after]);
        this.current.set(key, after);
      } else {
        delta.removedResources.push(key);
        this.current.delete(key);
      }
    }
    if (known) {
      for (const { hostname, after } of changes.services) {
        if (after) {
          delta.services.push(after);
          this.sentServices.set(hostname, after);
        } else if (this.sentServices.delete(hostname)) delta.removedServices.push(hostname);
      }
    } else {
      const seen = new Set<string>();
      for (const s of services) {
        seen.add(s.hostname);
        if (this.sentServices.get(s.hostname) !== s) {
          delta.services.push(s);
          this.sentServices.set(s.hostname, s);
        }
      }
      for (const h of this.sentServices.keys()) {
        if (seen.has(h)) continue;
        delta.removedServices.push(h);
        this.sentServices.delete(h);
      }
    }
    this.sentResources = resources;
    try {
      this.worker!.postMessage(delta);
    } catch (err) {
      // An unclonable resource (not plain data): analyze inline from now on.
      log('analysis worker: cannot send the config (%s); analyzing inline', (err as Error).message);
      this.stopWorker();
      return false;
    }
    // Referenced while an answer is due, as a pending timer would be.
    this.worker!.ref();
    return true;
  }

  private spawn(): boolean {
    let worker: Worker;
    try {
      const entry = workerEntry();
      worker = new Worker(entry.code, { eval: entry.eval, workerData: { boot: entry.boot } });
    } catch (err) {
      log('analysis worker unavailable (%s); analyzing inline', (err as Error).message);
      return false;
    }
    worker.on('message', (msg: { seq: number; diagnostics?: Diagnostic[]; error?: string }) => {
      if (worker !== this.worker) return;
      this.answered = msg.seq;
      // Idle: an analysis nobody waits for must not keep the process alive.
      if (msg.seq === this.seq) worker.unref();
      if (msg.error !== undefined) return log('analyze failed in the worker: %s', msg.error);
      this.diags = this.withSources(msg.diagnostics ?? []);
      this.options.onResult();
    });
    const fail = (why: string) => {
      if (worker !== this.worker) return;
      log('analysis worker stopped (%s); a new one gets the whole config', why);
      this.stopWorker();
    };
    worker.on('error', (err) => fail(`error: ${err.message}`));
    worker.on('exit', (code) => fail(`exit ${code}`));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.worker = worker;
    return true;
  }

  private stopWorker(): void {
    const w = this.worker;
    this.worker = undefined;
    this.sentResources = [];
    this.sentServices.clear();
    this.current.clear();
    void w?.terminate();
  }

  /**
   * Field positions live in a side table of this thread (config/sources.ts), so the worker only
   * knew each resource's own `source`: put back what analyze() would have found here, in its order.
   */
  private withSources(diags: Diagnostic[]): Diagnostic[] {
    for (const d of diags) {
      const r = d.resource !== undefined ? this.current.get(d.resource) : undefined;
      if (!r || d.path === undefined) continue;
      delete d.file;
      delete d.line;
      delete d.column;
      const src = fieldSource(r, d.path);
      if (src) {
        d.file = src.file;
        d.line = src.line;
        if (src.column !== undefined) d.column = src.column;
      }
    }
    return diags.sort(byPlace);
  }
}

/**
 * Where the worker's code is: beside the bundle (dist/control/analyze-worker.js), or from the
 * TypeScript sources through tsx, whose hooks workers do not inherit (as ca/signer.ts does).
 */
function workerEntry(): { code: string; eval: boolean; boot?: { tsx: string; entry: string } } {
  const here = import.meta.url;
  if (/\.[cm]?ts$/.test(here)) {
    const boot = { tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./analyze-worker.ts', here).href };
    const code = `const { workerData } = require('node:worker_threads');
import(workerData.boot.tsx).then((m) => { m.register(); return import(workerData.boot.entry); });`;
    return { code, eval: true, boot };
  }
  for (const candidate of ['./analyze-worker.js', '../control/analyze-worker.js', './control/analyze-worker.js']) {
    const file = fileURLToPath(new URL(candidate, here));
    if (existsSync(file)) return { code: file, eval: false };
  }
  throw new Error(`analyze-worker.js not found next to ${fileURLToPath(here)}`);
}
