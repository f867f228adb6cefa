// Bookinfo on real meshes for the dashboard tests: loadgen → productpage → reviews (v2 for
// jason, else v3; Istio's virtual-service-reviews-jason-v2-v3.yaml) → ratings (jason's calls
// aborted with 500 at the caller by virtual-service-ratings-test-abort.yaml). Every mesh serves
// its metrics (metricsPort 0), so the control server's graph scraper finds them all.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { ServiceGraph } from '../../src/control/graph/graph.js';
import type { TargetState } from '../../src/control/graph/scraper.js';
import { createMesh } from '../../src/mesh/create.js';
import type { Mesh } from '../../src/mesh/types.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { waitFor } from './wait.js';

const BOOKINFO = new URL('../../../shared/istio-samples/bookinfo/', import.meta.url);
const FILES = ['destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml', 'virtual-service-ratings-test-abort.yaml'];
const SUBSETS = ['outbound|9080|v1|productpage', 'outbound|9080|v2|reviews', 'outbound|9080|v3|reviews', 'outbound|9080|v1|ratings'].map((c) => `${c}.default.svc.cluster.local`);

export type Graph = ServiceGraph & { scrape: { rounds: number; intervalMs: number; targets: TargetState[] } };
type Handler = (mesh: Mesh, req: IncomingMessage, res: ServerResponse) => Promise<void>;

async function forward(mesh: Mesh, req: IncomingMessage, url: string): Promise<number> {
  const user = req.headers['end-user'];
  const res = await mesh.fetch(url, { headers: typeof user === 'string' ? { 'end-user': user } : {} });
  await res.arrayBuffer();
  return res.status;
}

const HANDLERS: Record<string, Handler> = {
  productpage: async (mesh, req, res) => { res.end(`productpage (reviews ${await forward(mesh, req, 'http://reviews:9080/reviews/0')})`); },
  // Like bookinfo's reviews: a failed ratings call still answers 200 ("ratings unavailable").
  reviews: async (mesh, req, res) => { res.end(String(await forward(mesh, req, 'http://ratings:9080/ratings/0'))); },
  ratings: async (_mesh, _req, res) => { res.end('{"id":0,"ratings":{"Reviewer1":5}}'); },
};

export class Bookinfo {
  readonly meshes: Mesh[] = [];
  loadgen!: Mesh;
  private constructor(readonly server: ControlServer) {}

  get admin(): string {
    return `http://127.0.0.1:${this.server.adminPort}`;
  }

  /** Control server (graph scraped every `intervalMs`) plus ratings v1, reviews v2/v3, productpage v1 and loadgen. */
  static async start(intervalMs = 100): Promise<Bookinfo> {
    const server = await createControlServer({ xdsPort: 0, adminPort: 0, debounceMs: 5, withdrawGraceMs: 100, graph: { intervalMs, windowMs: 600_000 } });
    const b = new Bookinfo(server);
    try {
      for (const f of FILES) {
        const { resources, diagnostics } = parseConfig(await readFile(new URL(f, BOOKINFO), 'utf8'), f);
        assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
        await server.store.apply(resources, f);
      }
      for (const [service, version] of [['ratings', 'v1'], ['reviews', 'v2'], ['reviews', 'v3'], ['productpage', 'v1']] as const) await b.serve(service, version);
      b.loadgen = await b.mesh('loadgen', 'v1');
      for (const m of b.meshes) {
        await waitFor(() => SUBSETS.every((c) => (m.xds.all(TYPE_URL.endpoint).get(c)?.localities ?? []).some((l) => l.endpoints.length > 0)), 10_000, 'meshes to know bookinfo');
      }
    } catch (err) {
      await b.close();
      throw err;
    }
    return b;
  }

  private async mesh(service: string, version: string): Promise<Mesh> {
    const mesh = await createMesh({
      controlPlane: `127.0.0.1:${this.server.xdsPort}`, service, labels: { app: service, version }, metricsPort: 0,
      initialFetchTimeoutMs: 2000, drainTimeoutMs: 1000, xdsBackoff: { initialMs: 50, maxMs: 200 },
    });
    this.meshes.push(mesh);
    return mesh;
  }

  private async serve(service: string, version: string): Promise<void> {
    const mesh = await this.mesh(service, version);
    const handler = HANDLERS[service]!;
    await mesh.listen((req, res) => {
      handler(mesh, req, res).catch((err: Error) => { res.statusCode = 500; res.end(err.message); });
    }, { port: 0, servicePort: 9080 });
  }

  async graph(): Promise<Graph> {
    const res = await fetch(`${this.admin}/graph`);
    assert.equal(res.status, 200);
    return (await res.json()) as Graph;
  }

  /** Polls /graph (which starts the scraper) until every mesh's endpoint has been scraped twice: the baseline exists. */
  async scrapedBaseline(): Promise<void> {
    const first = (await this.graph()).scrape.rounds;
    await waitFor(async () => {
      const g = await this.graph();
      return g.scrape.rounds >= first + 2 && g.scrape.targets.length === this.meshes.length && g.scrape.targets.every((t) => t.ok);
    }, 15_000, 'every metrics endpoint scraped', 50);
  }

  /** `n` requests loadgen → productpage, as `user` when given. */
  async drive(n: number, user?: string): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await this.loadgen.fetch('http://productpage:9080/productpage', { headers: user ? { 'end-user': user } : {} });
      assert.equal(res.status, 200, await res.text());
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.meshes.map((m) => m.close()));
    await this.server.close();
  }
}
