// The dashboard's data on real meshes: GET /graph from the control server's scrapes of every
// announced /stats/prometheus (bookinfo traffic, counts equal to the requests sent, the aborted
// ratings calls as errors at the ratings service node), the page itself (CSP), and the CSDS-like
// GET /config_dump with `meshlet status <client>` and `meshlet dashboard`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../src/cli/main.js';
import type { ClientConfigDump } from '../../../src/control/admin/config-dump.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { Bookinfo, type Graph } from '../../helpers/bookinfo-graph.js';
import { RawAds } from '../../helpers/raw-ads.js';
import { waitFor } from '../../helpers/wait.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { info: (l) => out.push(l), error: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let b: Bookinfo;
before(async () => { b = await Bookinfo.start(); });
after(async () => { await b?.close(); });

const edge = (g: Graph, source: string, target: string) => g.edges.find((e) => e.source === source && e.target === target);

describe('GET /graph over bookinfo traffic', () => {
  test('edges count the requests sent, with rates, error rates and p50/p99', async (t) => {
    await b.scrapedBaseline();
    const plain = 12;
    const jason = 4;
    await b.drive(plain);
    await b.drive(jason, 'jason');
    const total = plain + jason;
    const g = await waitFor(async () => {
      const g = await b.graph();
      const counts = [
        edge(g, 'default/loadgen/v1', 'default/productpage/v1')?.requests,
        edge(g, 'default/productpage/v1', 'default/reviews/v3')?.requests,
        edge(g, 'default/productpage/v1', 'default/reviews/v2')?.requests,
        edge(g, 'default/reviews/v3', 'default/ratings/v1')?.requests,
        edge(g, 'default/reviews/v2', 'default/ratings/')?.requests,
      ];
      return JSON.stringify(counts) === JSON.stringify([total, plain, jason, plain, jason]) ? g : undefined;
    }, 20_000, 'the graph to count every request', 50);
    assert.equal(g.edges.length, 5, JSON.stringify(g.edges.map((e) => [e.id, e.requests])));
    for (const e of g.edges) {
      assert.ok(e.rps > 0, `${e.id} rps ${e.rps}`);
      assert.ok(e.p50Ms !== null && e.p99Ms !== null && e.p50Ms >= 0 && e.p99Ms >= e.p50Ms, `${e.id} p50 ${e.p50Ms} p99 ${e.p99Ms}`);
      assert.equal(e.protocol, 'http');
    }
    const aborted = edge(g, 'default/reviews/v2', 'default/ratings/')!;
    assert.equal(aborted.errorRate, 1, 'jason\'s ratings calls are aborted by the fault');
    assert.deepEqual(aborted.codes, { 500: jason });
    assert.equal(edge(g, 'default/loadgen/v1', 'default/productpage/v1')!.errorRate, 0);
    assert.equal(g.reporter, 'source (destination for callers outside the mesh)');
    // Nodes: each service version, plus the ratings service node the aborted calls ended at.
    assert.deepEqual(g.nodes.map((n) => n.id), ['default/loadgen/v1', 'default/productpage/v1', 'default/ratings/', 'default/ratings/v1', 'default/reviews/v2', 'default/reviews/v3']);
    assert.equal(g.nodes.find((n) => n.id === 'default/reviews/v2')!.workloads.length, 1);
    for (const s of g.scrape.targets) t.diagnostic(`scrape ${s.target} (${s.client}): ${s.bytes} bytes, ${s.series} series, ${s.durationMs} ms`);
  });
});

describe('the dashboard page', () => {
  test('GET / is a self-contained page under a strict CSP', async () => {
    const res = await fetch(`${b.admin}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img/, 'no external asset');
    assert.deepEqual([...new Set(html.match(/https?:\/\/[^'"\s]*/g))], ['http://www.w3.org/2000/svg'], 'no URL but the SVG namespace name');
  });
});

describe('GET /config_dump and meshlet status <client>', () => {
  test('a client\'s config per type and resource, as sent and ACKed', async () => {
    const res = await fetch(`${b.admin}/config_dump?client=reviews`);
    assert.equal(res.status, 200);
    const { config } = (await res.json()) as { config: ClientConfigDump[] };
    assert.equal(config.length, 2, 'reviews v2 and v3');
    for (const c of config) {
      assert.equal(c.node.service, 'reviews');
      const byType = new Set(c.genericXdsConfigs.map((g) => g.typeUrl));
      for (const t of [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]) assert.ok(byType.has(t), `has ${t}`);
      const ratings = c.genericXdsConfigs.find((g) => g.typeUrl === TYPE_URL.cluster && g.name === 'outbound|9080|v1|ratings.default.svc.cluster.local');
      assert.equal(ratings?.clientStatus, 'ACKED');
      assert.equal(ratings?.configStatus, 'SYNCED');
      assert.equal((ratings?.xdsConfig as { name?: string } | undefined)?.name, ratings?.name, 'the content is the cluster itself');
      assert.ok(c.genericXdsConfigs.every((g) => g.clientStatus === 'ACKED' || g.clientStatus === 'DOES_NOT_EXIST'), JSON.stringify(c.genericXdsConfigs.filter((g) => g.clientStatus !== 'ACKED')));
    }
    const node = config[0]!.node.id;
    const r = await run(['status', node, '--server', `127.0.0.1:${b.server.adminPort}`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^client ${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  service reviews\\.default`));
    assert.match(r.out, /^identity none \(no client certificate\)$/m);
    assert.match(r.out, /^CDS\s+SYNCED\s+\S+\s+\S+\s+\*$/m);
    assert.match(r.out, /^CDS\s+outbound\|9080\|v1\|ratings\.default\.svc\.cluster\.local\s+\S+\s+SYNCED\s+ACKED$/m);
    const json = await run(['status', node, '-o', 'json', '--server', `127.0.0.1:${b.server.adminPort}`]);
    assert.equal((JSON.parse(json.out) as { config: ClientConfigDump[] }).config[0]!.node.id, node);
    const missing = await run(['status', 'nobody', '--server', `127.0.0.1:${b.server.adminPort}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /MESHLET_ERR_ADMIN_REQUEST: no connected client "nobody"/);
    const noClient = await fetch(`${b.admin}/config_dump`);
    assert.equal(noClient.status, 400);
  });

  test('a NACK shows as NACKED with its error, and status <client> exits 1', async () => {
    const ads = new RawAds(`127.0.0.1:${b.server.xdsPort}`, { id: 'nacker-dump' });
    try {
      ads.send({ typeUrl: TYPE_URL.cluster });
      ads.nack(await ads.next(TYPE_URL.cluster), 'clusters[0]: rejected for the test');
      const admin = ['--server', `127.0.0.1:${b.server.adminPort}`];
      const r = await waitFor(async () => {
        const r = await run(['status', 'nacker-dump', ...admin]);
        return r.code === 1 ? r : undefined;
      }, 5000, 'the NACK to be recorded');
      assert.match(r.out, /^CDS\s+NACK\s/m);
      assert.match(r.out, /CDS NACK of version \S+ at \S+: clusters\[0\]: rejected for the test/);
      assert.match(r.out, /^CDS\s+outbound\|9080\|v1\|ratings\.default\.svc\.cluster\.local\s+-\s+ERROR\s+NACKED$/m);
    } finally {
      ads.close();
    }
  });

  test('meshlet dashboard prints the URL; --open outside a terminal only says so', async () => {
    const r = await run(['dashboard', '--server', `127.0.0.1:${b.server.adminPort}`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${b.admin}/`);
    const o = await run(['dashboard', '--open', '--server', `127.0.0.1:${b.server.adminPort}`]);
    assert.equal(o.code, 0);
    assert.match(o.err, /not opening a browser/);
    const down = await run(['dashboard', '--server', '127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.err, /MESHLET_ERR_CONTROL_UNREACHABLE/);
  });
});
