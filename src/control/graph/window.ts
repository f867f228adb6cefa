/**
 * Traffic over a sliding window, built from successive scrapes: each target keeps its previous
 * scrape's counter values, each scrape turns them into per-edge increases (requests, errors,
 * response codes, duration-bucket counts), and the window sums the increases of the last
 * `windowMs`, as `sum(rate(istio_requests_total[window])) by (edge)` would.
 */
import { counterIncrease, edgeId, edgeOf, isError, type EdgeRef } from './compute.js';
import { parseLabelText } from './prom-text.js';

/** The two metric families the graph reads (Istio's standard names). */
export const REQUESTS = 'istio_requests_total';
export const DURATION_BUCKET = 'istio_request_duration_milliseconds_bucket';

/** Increases of one edge over one scrape interval (or summed over the window). */
export interface EdgeTraffic {
  ref: EdgeRef;
  requests: number;
  errors: number;
  /** response_code (or grpc status for gRPC) → requests. */
  codes: Map<string, number>;
  /** Duration bucket upper bound (ms) → increase of its cumulative count. */
  buckets: Map<number, number>;
}

/** What a series contributes to, decided once per series (labels parsed once). */
type SeriesInfo =
  | { kind: 'requests'; edge: string; ref: EdgeRef; code: string; error: boolean }
  | { kind: 'bucket'; edge: string; ref: EdgeRef; le: number };

/**
 * One scrape target's counters between scrapes. `maxSeries` bounds what one target may make the
 * control server remember.
 *
 * @example
 * ```ts
 * const t = new TargetCounters(5000);
 * t.begin(); scanSamples(text, FAMILIES, 20_000, (n, l, v) => t.sample(n, l, v, into)); t.end();
 * ```
 */
export class TargetCounters {
  private prev = new Map<string, number>();
  private next = new Map<string, number>();
  private readonly info = new Map<string, { key: string; info: SeriesInfo | null }>();
  private scraped = false;
  /** Series of the latest scrape (for the status table). */
  series = 0;
  /** The latest scrape had more series than maxSeries: the rest were not counted. */
  truncated = false;

  constructor(private readonly maxSeries: number) {}

  begin(): void {
    this.next = new Map();
    this.truncated = false;
  }

  /** One sample of a scrape: its increase since the previous scrape goes into `into` (by edge id). */
  sample(name: string, labels: string, value: number, into: Map<string, EdgeTraffic>): void {
    const raw = name === REQUESTS ? labels : `b${labels}`;
    let entry = this.info.get(raw);
    if (entry === undefined) {
      if (this.info.size >= this.maxSeries) {
        this.truncated = true;
        return;
      }
      // `raw` is a slice of the scraped chunk and would keep all of it alive: keep a flat copy.
      entry = { key: Buffer.from(raw, 'utf8').toString('utf8'), info: describe(name, labels) };
      this.info.set(entry.key, entry);
    }
    const { key, info } = entry;
    if (info === null) return;
    this.next.set(key, value);
    const inc = counterIncrease(this.prev.get(key), value, this.scraped);
    // A bucket that did not grow still bounds the next one from below: keep its zero.
    if (inc <= 0 && (info.kind === 'requests' || !this.scraped)) return;
    let e = into.get(info.edge);
    if (!e) into.set(info.edge, (e = { ref: info.ref, requests: 0, errors: 0, codes: new Map(), buckets: new Map() }));
    if (info.kind === 'requests') {
      e.requests += inc;
      if (info.error) e.errors += inc;
      e.codes.set(info.code, (e.codes.get(info.code) ?? 0) + inc);
    } else {
      e.buckets.set(info.le, (e.buckets.get(info.le) ?? 0) + inc);
    }
  }

  /** The scrape is complete: its values are the next baseline. A failed scrape keeps the old one. */
  end(): void {
    this.prev = this.next;
    this.series = this.prev.size;
    this.scraped = true;
    // Series that vanished (a restarted target) are forgotten with their description.
    if (this.info.size > this.prev.size * 2 + 64) for (const k of this.info.keys()) if (!this.prev.has(k)) this.info.delete(k);
  }
}

function describe(name: string, raw: string): SeriesInfo | null {
  const l = parseLabelText(raw);
  if (!l) return null;
  const ref = edgeOf(l);
  if (!ref) return null;
  const edge = edgeId(ref);
  if (name === REQUESTS) {
    const grpc = l['grpc_response_status'] ?? '';
    const code = ref.protocol === 'grpc' && grpc !== '' ? `grpc:${grpc}` : l['response_code'] ?? '';
    return { kind: 'requests', edge, ref, code, error: isError(ref.protocol, l['response_code'] ?? '', grpc) };
  }
  const le = l['le'] === '+Inf' ? Infinity : Number(l['le']);
  return Number.isNaN(le) ? null : { kind: 'bucket', edge, ref, le };
}

/** One scrape round's increases. */
interface Round {
  start: number;
  end: number;
  edges: Map<string, EdgeTraffic>;
}

/**
 * The last `windowMs` of scrape rounds (at most `maxRounds`), summed on demand.
 *
 * @example
 * ```ts
 * const w = new TrafficWindow(60_000, 120);
 * w.add(t0, t1, edges);
 * const { edges, seconds } = w.sum(Date.now());
 * ```
 */
export class TrafficWindow {
  private rounds: Round[] = [];

  constructor(private readonly windowMs: number, private readonly maxRounds: number) {}

  add(start: number, end: number, edges: Map<string, EdgeTraffic>): void {
    this.rounds.push({ start, end, edges });
    if (this.rounds.length > this.maxRounds) this.rounds.shift();
  }

  /** Sums the rounds that ended within the window; `seconds` is the time they cover. */
  sum(now: number): { edges: Map<string, EdgeTraffic>; seconds: number } {
    this.rounds = this.rounds.filter((r) => r.end >= now - this.windowMs);
    const out = new Map<string, EdgeTraffic>();
    for (const r of this.rounds) {
      for (const [id, e] of r.edges) {
        let t = out.get(id);
        if (!t) out.set(id, (t = { ref: e.ref, requests: 0, errors: 0, codes: new Map(), buckets: new Map() }));
        t.requests += e.requests;
        t.errors += e.errors;
        for (const [c, n] of e.codes) t.codes.set(c, (t.codes.get(c) ?? 0) + n);
        for (const [le, n] of e.buckets) t.buckets.set(le, (t.buckets.get(le) ?? 0) + n);
      }
    }
    const first = this.rounds[0];
    const last = this.rounds[this.rounds.length - 1];
    return { edges: out, seconds: first && last ? Math.max(0.001, (last.end - first.start) / 1000) : 0 };
  }
}
