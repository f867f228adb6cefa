/**
 * The control server's side of the dashboard's edge figures: it scrapes the `/stats/prometheus`
 * endpoint every mesh announces (the same targets `GET /prometheus/targets` lists) and turns
 * successive scrapes into the service graph.
 *
 * Why scraping rather than clients reporting (LRS load reports, a stats stream on ADS): the
 * metrics already exist in every mesh that enables `metricsPort`, Prometheus reads the same
 * numbers, and the data plane pays nothing beyond answering one GET per interval — no new
 * protocol, no per-request work, no extra state in the client. It only runs while someone
 * watches (the first `GET /graph` starts it; it stops after `idleMs` without one), and every
 * dimension is bounded: targets per round, parallel scrapes, per-scrape timeout, response bytes,
 * series remembered per target, rounds kept.
 */
import { request } from 'node:http';
import type { ClientStatus } from '../ads-stream.js';
import { trace } from '../../internal/debug.js';
import { buildGraph, type ServiceGraph } from './graph.js';
import { scanSamples } from './prom-text.js';
import { DURATION_BUCKET, REQUESTS, TargetCounters, TrafficWindow, type EdgeTraffic } from './window.js';

const log = trace('graph');
const FAMILIES = new Set([REQUESTS, DURATION_BUCKET]);
const MAX_LINE = 64 * 1024;

/** Bounds of the scraper. */
export interface GraphScrapeOptions {
  /** Between scrape rounds, ms. Default 5000 (Kiali's fastest refresh is 10 s; Prometheus' default scrape 15–60 s). */
  intervalMs?: number;
  /** Window the figures are computed over, ms. Default 60 000 (Kiali's default "last 1m"). */
  windowMs?: number;
  /** Per-scrape timeout (connect to last byte), ms. Default 2000. */
  timeoutMs?: number;
  /** Scrapes in flight at once. Default 4. */
  concurrency?: number;
  /**
   * Largest response read, bytes; a larger one fails that target's scrape. Default 64 MiB: the
   * answer is read line by line as it streams (never held whole), and Istio's labels make text
   * large — about 54 KB per outbound series (three histograms of 22 lines × 25 labels), so
   * 1000 series answer ~52 MiB (bench/dashboard-scrape.ts).
   */
  maxBytes?: number;
  /** Targets scraped per round (the rest are listed as skipped). Default 256. */
  maxTargets?: number;
  /** Series remembered per target (~1 KB each: Istio's label text is the key). Default 20 000. */
  maxSeriesPerTarget?: number;
  /** Stop scraping after this long without a graph request, ms. Default 300 000. */
  idleMs?: number;
}

/** Per-target outcome of the latest round. */
export interface TargetState {
  target: string;
  client: string;
  ok: boolean;
  error?: string;
  bytes: number;
  series: number;
  /** More series than maxSeriesPerTarget: the rest were not counted. */
  truncated?: boolean;
  durationMs: number;
  at: string;
}

const DEFAULTS: Required<GraphScrapeOptions> = {
  intervalMs: 5000, windowMs: 60_000, timeoutMs: 2000, concurrency: 4, maxBytes: 64 * 1024 * 1024, maxTargets: 256, maxSeriesPerTarget: 20_000, idleMs: 300_000,
};

/**
 * Scrapes the announced metrics endpoints while the graph is watched.
 *
 * @example
 * ```ts
 * const scraper = new GraphScraper(() => ads.clients(), { intervalMs: 5000 });
 * const graph = scraper.graph(); // starts scraping; figures appear after two rounds
 * scraper.close();
 * ```
 */
export class GraphScraper {
  readonly options: Required<GraphScrapeOptions>;
  private readonly counters = new Map<string, TargetCounters>();
  private readonly window: TrafficWindow;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastRoundAt: number | undefined;
  private lastWatched = 0;
  private states: TargetState[] = [];
  /** Completed rounds since start. */
  rounds = 0;
  private closed = false;

  constructor(private readonly clients: () => ClientStatus[], options: GraphScrapeOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.window = new TrafficWindow(this.options.windowMs, Math.ceil(this.options.windowMs / this.options.intervalMs) + 2);
  }

  /** The graph now; (re)starts scraping, since someone is watching. */
  graph(): ServiceGraph & { scrape: { rounds: number; intervalMs: number; targets: TargetState[] } } {
    this.watch();
    const { edges, seconds } = this.window.sum(Date.now());
    return { ...buildGraph(edges, seconds, this.clients()), scrape: { rounds: this.rounds, intervalMs: this.options.intervalMs, targets: this.states } };
  }

  /** Runs one round now (or joins the running one). */
  scrapeOnce(): Promise<void> {
    this.running ??= this.round().finally(() => { this.running = undefined; });
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private watch(): void {
    this.lastWatched = Date.now();
    if (this.timer || this.closed) return;
    log('graph watched: scraping every %d ms', this.options.intervalMs);
    this.timer = setInterval(() => {
      if (Date.now() - this.lastWatched > this.options.idleMs) {
        log('graph not watched for %d ms: scraping stops', this.options.idleMs);
        clearInterval(this.timer);
        this.timer = undefined;
        // The baseline is stale once rounds stop: the next watch starts a fresh window.
        this.lastRoundAt = undefined;
        this.counters.clear();
        return;
      }
      void this.scrapeOnce();
    }, this.options.intervalMs);
    this.timer.unref();
    void this.scrapeOnce();
  }

  private async round(): Promise<void> {
    const all = this.clients().filter((c) => c.metrics);
    const targets = all.slice(0, this.options.maxTargets);
    const start = this.lastRoundAt;
    const edges = new Map<string, EdgeTraffic>();
    const states: TargetState[] = [];
    const live = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const c = targets[next++]!;
        const key = targetKey(c);
        live.add(key);
        states.push(await this.scrapeTarget(c, key, edges));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, targets.length) }, worker));
    for (const c of all.slice(this.options.maxTargets)) states.push({ target: targetKey(c), client: c.id, ok: false, error: `skipped: over maxTargets (${this.options.maxTargets})`, bytes: 0, series: 0, durationMs: 0, at: new Date().toISOString() });
    // Targets gone since the last round are forgotten (their counters restart with them).
    for (const k of this.counters.keys()) if (!live.has(k)) this.counters.delete(k);
    const end = Date.now();
    if (start !== undefined) this.window.add(start, end, edges);
    this.lastRoundAt = end;
    this.states = states.sort((a, b) => (a.target < b.target ? -1 : 1));
    this.rounds++;
  }

  private async scrapeTarget(c: ClientStatus, key: string, edges: Map<string, EdgeTraffic>): Promise<TargetState> {
    const t0 = performance.now();
    const state: TargetState = { target: key, client: c.id, ok: false, bytes: 0, series: 0, durationMs: 0, at: new Date().toISOString() };
    let counters = this.counters.get(key);
    if (!counters) this.counters.set(key, (counters = new TargetCounters(this.options.maxSeriesPerTarget)));
    try {
      // Read as it arrives, line by line: memory stays one chunk however large the answer.
      const scratch = new Map<string, EdgeTraffic>();
      let budget = this.options.maxSeriesPerTarget;
      counters.begin();
      state.bytes = await get(c.metrics!.address, c.metrics!.port, this.options.timeoutMs, this.options.maxBytes, (lines) => {
        if (budget > 0) budget -= scanSamples(lines, FAMILIES, budget, (name, labels, value) => counters!.sample(name, labels, value, scratch));
      });
      // Increases count only once the scrape completed: one that fails half-way adds nothing.
      counters.end();
      merge(edges, scratch);
      state.ok = true;
      state.series = counters.series;
      if (counters.truncated || budget <= 0) state.truncated = true;
    } catch (err) {
      state.error = (err as Error).message;
      log('scrape of %s failed: %s', key, state.error);
    }
    state.durationMs = Math.round((performance.now() - t0) * 100) / 100;
    return state;
  }
}

function targetKey(c: ClientStatus): string {
  const m = c.metrics!;
  return `${m.address.includes(':') ? `[${m.address}]` : m.address}:${m.port}`;
}

function merge(into: Map<string, EdgeTraffic>, from: Map<string, EdgeTraffic>): void {
  for (const [id, e] of from) {
    const t = into.get(id);
    if (!t) {
      into.set(id, e);
      continue;
    }
    t.requests += e.requests;
    t.errors += e.errors;
    for (const [c, n] of e.codes) t.codes.set(c, (t.codes.get(c) ?? 0) + n);
    for (const [le, n] of e.buckets) t.buckets.set(le, (t.buckets.get(le) ?? 0) + n);
  }
}

/**
 * GET /stats/prometheus with a deadline over the whole exchange and a cap on the body; complete
 * lines go to `onLines` as they arrive (a partial line waits for the next chunk). Resolves the
 * bytes read.
 */
function get(host: string, port: number, timeoutMs: number, maxBytes: number, onLines: (text: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/stats/prometheus', method: 'GET', agent: false, headers: { accept: 'text/plain' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`HTTP ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      let size = 0;
      let rest = '';
      res.on('data', (chunk: string) => {
        size += Buffer.byteLength(chunk);
        if (size > maxBytes) return void req.destroy(new Error(`response over ${maxBytes} bytes`));
        const text = rest + chunk;
        const cut = text.lastIndexOf('\n');
        if (cut < 0) {
          // Istio's lines are ~1 KB; a line without end would be copied on every chunk.
          if (text.length > MAX_LINE) return void req.destroy(new Error(`a line over ${MAX_LINE} bytes`));
          rest = text;
          return;
        }
        rest = text.slice(cut + 1);
        onLines(text.slice(0, cut + 1));
      });
      res.on('end', () => {
        if (rest) onLines(rest);
        resolve(size);
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}
