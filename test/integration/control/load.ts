// Steady request load from mesh clients to services by name, counting every failure: a thrown
// error, a non-200, a timeout, or an answer from a backend the target cannot reach.
import type { Mesh } from '../../../src/mesh/types.js';

export interface Target {
  /** URL through the mesh, e.g. http://web/ (or a label, with `call`). */
  url: string;
  /** Makes the request another way (gRPC) and resolves the answering backend's name. */
  call?: (mesh: Mesh, client: number) => Promise<string>;
  /** Backends (response bodies) an answer may come from. */
  expect: ReadonlySet<string>;
}

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  /** Failure reason → count. */
  reasons: Map<string, number>;
  /** A few failures with when they happened, for the report. */
  samples: string[];
}

/**
 * Every `tickMs` each client sends one request per target (skipped, and counted, while
 * `maxInFlight` of its requests are still out: the load never piles up on a stalled VM).
 */
export class Load {
  readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, reasons: new Map(), samples: [] };
  skipped = 0;
  /** Per client and target URL: the backend that answered last, and since when it answers in a row. */
  readonly last = new Map<string, { backend: string; streak: number; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<Mesh, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly started = Date.now();

  constructor(
    private readonly clients: readonly Mesh[],
    private targets: readonly Target[],
    private readonly options: { tickMs: number; maxInFlight: number; timeoutMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
  }

  /** Replaces the targets (a config change moved where a name goes). */
  retarget(targets: readonly Target[]): void {
    this.targets = targets;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }

  key(client: number, url: string): string {
    return `${client} ${url}`;
  }

  private tick(): void {
    this.clients.forEach((mesh, i) => {
      for (const target of this.targets) {
        const n = this.inFlight.get(mesh) ?? 0;
        if (n >= this.options.maxInFlight) {
          this.skipped++;
          continue;
        }
        this.inFlight.set(mesh, n + 1);
        const p = this.one(mesh, i, target).finally(() => {
          this.inFlight.set(mesh, (this.inFlight.get(mesh) ?? 1) - 1);
          this.pending.delete(p);
        });
        this.pending.add(p);
      }
    });
  }

  private async one(mesh: Mesh, client: number, target: Target): Promise<void> {
    this.stats.sent++;
    try {
      let body: string;
      if (target.call) {
        body = await target.call(mesh, client);
      } else {
        const res = await mesh.fetch(target.url, { signal: AbortSignal.timeout(this.options.timeoutMs) });
        body = await res.text();
        if (res.status !== 200) return this.fail(`${target.url} → ${res.status} ${res.headers.get('x-meshlet-response-flags') ?? ''} ${body.slice(0, 80)}`);
      }
      if (!target.expect.has(body)) return this.fail(`${target.url} → answered by ${body.slice(0, 40)}`);
      this.stats.ok++;
      const key = this.key(client, target.url);
      const prev = this.last.get(key);
      if (prev && prev.backend === body) prev.streak++;
      else this.last.set(key, { backend: body, streak: 1, since: Date.now() });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      this.fail(`${target.url} → ${e.name}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
  }

  private fail(reason: string): void {
    this.stats.failed++;
    this.stats.reasons.set(reason, (this.stats.reasons.get(reason) ?? 0) + 1);
    if (this.stats.samples.length < 20) this.stats.samples.push(`+${((Date.now() - this.started) / 1000).toFixed(2)} s ${reason}`);
  }
}
