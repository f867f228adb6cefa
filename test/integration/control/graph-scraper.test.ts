// The graph scraper against real HTTP endpoints that misbehave: each failure stays that
// target's (an error in the targets table), never the control server's, and every bound holds —
// response size, line length, timeout, status, series per target, targets per round.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientStatus } from '../../../src/control/ads-stream.js';
import { GraphScraper } from '../../../src/control/graph/scraper.js';

const LABELS = 'reporter="source",source_workload="a-v1",source_canonical_service="a",source_canonical_revision="v1",source_workload_namespace="default",destination_workload="b-v1",destination_workload_namespace="default",destination_canonical_service="b",destination_canonical_revision="v1",destination_service_name="b",destination_service_namespace="default",request_protocol="http"';
let count = 0;

/** path → behaviour; the good one answers a growing counter in many small chunks. */
const behaviours: Record<string, (res: import('node:http').ServerResponse) => void> = {
  good: (res) => {
    const body = `# TYPE istio_requests_total counter\nistio_requests_total{${LABELS},response_code="200"} ${count}\nistio_requests_total{${LABELS},response_code="503"} 1\n`;
    res.writeHead(200);
    // In 37-byte pieces: lines span chunks.
    let i = 0;
    const next = (): void => {
      if (i >= body.length) return void res.end();
      res.write(body.slice(i, (i += 37)), () => next());
    };
    next();
  },
  huge: (res) => { res.writeHead(200); res.end(`istio_requests_total{${LABELS}} 1\n`.repeat(2000)); },
  endless: (res) => { res.writeHead(200); res.end('x'.repeat(100_000)); },
  silent: () => {},
  error: (res) => { res.writeHead(500); res.end('no'); },
  many: (res) => { res.writeHead(200); res.end(Array.from({ length: 50 }, (_, i) => `istio_requests_total{${LABELS},response_code="${200 + i}"} 1`).join('\n') + '\n'); },
};

const servers: Server[] = [];
const clients: ClientStatus[] = [];

before(async () => {
  // One port per behaviour: the scraper asks every target the same GET.
  for (const name of Object.keys(behaviours)) {
    const s = createServer((_req, res) => behaviours[name]!(res));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    clients.push({ id: name, peer: '', connectedAt: '', types: {}, metrics: { address: '127.0.0.1', port: (s.address() as AddressInfo).port, namespace: 'default', service: name, labels: { app: name, version: 'v1' } } });
  }
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

test('misbehaving targets fail alone, bounded; the good one counts across chunked answers', async () => {
  // The silent target gets its own short deadline; the others a long one (the machine may be loaded).
  const scraper = new GraphScraper(() => clients.filter((c) => c.id !== 'silent'), { intervalMs: 3_600_000, timeoutMs: 30_000, maxBytes: 128 * 1024, maxSeriesPerTarget: 10, concurrency: 2 });
  const silent = new GraphScraper(() => clients.filter((c) => c.id === 'silent'), { intervalMs: 3_600_000, timeoutMs: 300 });
  try {
    await silent.scrapeOnce();
    assert.match(silent.graph().scrape.targets[0]!.error ?? '', /timed out after 300 ms/);
    count = 5;
    await scraper.scrapeOnce();
    count = 12;
    await scraper.scrapeOnce();
    const g = scraper.graph();
    const by = Object.fromEntries(g.scrape.targets.map((t) => [t.client, t]));
    assert.equal(by['good']!.ok, true, by['good']!.error);
    assert.match(by['huge']!.error ?? '', /response over 131072 bytes/);
    assert.match(by['endless']!.error ?? '', /a line over 65536 bytes/);
    assert.match(by['error']!.error ?? '', /HTTP 500/);
    assert.equal(by['many']!.ok, true);
    assert.equal(by['many']!.truncated, true, 'over maxSeriesPerTarget');
    assert.equal(by['many']!.series, 10);
    const e = g.edges.find((x) => x.source === 'default/a/v1' && x.target === 'default/b/v1')!;
    // good: +7 requests (the 503 did not move); many: its 10 remembered series did not move either.
    assert.equal(e.requests, 7);
    assert.equal(e.errors, 0);
  } finally {
    scraper.close();
    silent.close();
  }
});

test('targets over maxTargets are listed as skipped', async () => {
  const scraper = new GraphScraper(() => clients.filter((c) => c.id === 'good' || c.id === 'error'), { intervalMs: 3_600_000, maxTargets: 1 });
  try {
    await scraper.scrapeOnce();
    const skipped = scraper.graph().scrape.targets.filter((t) => /skipped: over maxTargets \(1\)/.test(t.error ?? ''));
    assert.equal(skipped.length, 1);
  } finally {
    scraper.close();
  }
});
