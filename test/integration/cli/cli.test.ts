// The CLI against a real control server: every user mistake is one coded line, never a stack.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/main.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { XdsClient } from '../../../src/xds/ads-client.js';
import { buildNode } from '../../../src/xds/node.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

const BOOKINFO = fileURLToPath(new URL('../../../../shared/istio-samples/bookinfo/', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/meshlet.js', import.meta.url));
const HOSTS = ['productpage:version=v1', 'reviews:version=v1', 'reviews:version=v2', 'reviews:version=v3', 'ratings:version=v1', 'details:version=v1']
  .flatMap((h) => ['--host', h]);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { info: (l) => out.push(l), error: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('meshlet analyze', () => {
  test('accepts each Istio bookinfo sample once the hosts it names are served', async () => {
    for (const vs of ['virtual-service-all-v1', 'virtual-service-reviews-80-20', 'virtual-service-reviews-jason-v2-v3', 'virtual-service-ratings-test-abort', 'virtual-service-ratings-test-delay']) {
      const r = await run(['analyze', '-f', join(BOOKINFO, 'destination-rule-all.yaml'), '-f', join(BOOKINFO, `${vs}.yaml`), ...HOSTS]);
      assert.equal(r.code, 0, `${vs}: ${r.err}`);
      assert.match(r.out, / 0 error\(s\)/);
    }
    for (const f of ['bookinfo-gateway.yaml', 'destination-rule-all-mtls.yaml', 'egress-rule-google-apis.yaml', 'fault-injection-details-v1.yaml']) {
      const r = await run(['analyze', '-f', join(BOOKINFO, f), ...HOSTS]);
      assert.equal(r.code, 0, `${f}: ${r.err}`);
    }
  });

  test('a route to an undefined subset fails with file:line and the field path', async () => {
    const r = await run(['analyze', '-f', join(BOOKINFO, 'virtual-service-reviews-80-20.yaml'), ...HOSTS]);
    assert.equal(r.code, 1);
    assert.match(r.err, /virtual-service-reviews-80-20\.yaml:12:9: error MESHLET_ERR_CONFIG_UNKNOWN_SUBSET: .*\(at spec\.http\[0\]\.route\[0\]\.destination\.subset\)/);
  });

  test('one pass reports everything: a schema error does not hide the cross-resource checks; the summary counts every resource', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-analyze-'));
    try {
      const file = join(dir, 'reviews.yaml');
      await writeFile(file, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: fifty
    - destination: { host: reviews, subset: v3 }
      weight: 50
`);
      const r = await run(['analyze', '-f', file, ...HOSTS]);
      assert.equal(r.code, 1);
      assert.match(r.err, /reviews\.yaml:16:15: error MESHLET_ERR_CONFIG_SCHEMA: .*\(at spec\.http\[0\]\.route\[0\]\.weight\)/);
      assert.match(r.err, /reviews\.yaml:17:\d+: error MESHLET_ERR_CONFIG_UNKNOWN_SUBSET: subset "v3" .*\(at spec\.http\[0\]\.route\[1\]\.destination\.subset\)/);
      assert.match(r.out, /1 file\(s\), 2 resource\(s\) \(1 with schema errors\): 2 error\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an unreadable path is one coded line', async () => {
    const r = await run(['analyze', '-f', '/nonexistent/meshlet.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^meshlet: MESHLET_ERR_FILE_READ: cannot read \/nonexistent\/meshlet\.yaml/);
    assert.doesNotMatch(r.err, /\n\s+at /);
  });
});

describe('meshlet against a running control server', () => {
  let server: ControlServer;
  let dir: string;
  let admin: string;

  before(async () => {
    server = await createControlServer({ xdsPort: 0, adminPort: 0 });
    admin = `127.0.0.1:${server.adminPort}`;
    dir = await mkdtemp(join(tmpdir(), 'meshlet-cli-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('apply, get and status', async () => {
    const applied = await run(['apply', '-f', join(BOOKINFO, 'destination-rule-all.yaml'), '-f', join(BOOKINFO, 'virtual-service-reviews-80-20.yaml'), '--server', admin]);
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /VirtualService\/default\/reviews configured/);
    assert.match(applied.out, /applied 5 resource\(s\) from 2 file\(s\)/);

    const got = await run(['get', 'vs', 'reviews', '-o', 'json', '--server', admin]);
    assert.equal(got.code, 0, got.err);
    const [vs] = JSON.parse(got.out) as Array<{ spec: { http: Array<{ route: Array<{ weight: number }> }> } }>;
    assert.deepEqual(vs!.spec.http[0]!.route.map((r) => r.weight), [80, 20]);
    const table = await run(['get', 'destinationrules', '--server', admin]);
    assert.match(table.out, /default\s+reviews/);

    const client = new XdsClient({ server: `127.0.0.1:${server.xdsPort}`, node: buildNode({ id: 'cli-status-probe' }) });
    try {
      const acked = new Promise<void>((resolve) => { const d = client.on('ack', () => { d.dispose(); resolve(); }); });
      client.watch(TYPE_URL.cluster, '*', { onChange() {} });
      await acked;
      const status = await run(['status', '--server', admin]);
      // Exit 1: nothing serves reviews yet, so the applied VirtualService's destinations are
      // analysis errors (status fails on config errors; conventions.test.ts covers the clean 0).
      assert.equal(status.code, 1, status.err);
      assert.match(status.out, /cli-status-probe\s+-\s+\S+\s+NOT SENT\s+NOT SENT\s+SYNCED\s+NOT SENT/);
      assert.match(status.out, /error MESHLET_ERR_CONFIG_UNKNOWN_HOST/);
    } finally {
      await client.close();
    }
  });

  test('apply sends nothing when a file has an error', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: broken }\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: { host: reviews }\n      weight: 150\n');
    const r = await run(['apply', '-f', bad, '--server', admin]);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.yaml:9:\d+: error MESHLET_ERR_CONFIG_SCHEMA/);
    const got = await run(['get', 'vs', 'broken', '--server', admin]);
    assert.equal(got.code, 1);
  });

  test('the xDS port already in use is one coded line', async () => {
    const r = await run(['control', '--xds-port', String(server.xdsPort), '--admin-port', '0']);
    assert.equal(r.code, 1);
    assert.equal(r.err, `meshlet: MESHLET_ERR_PORT_IN_USE: xDS port ${server.xdsPort} is already in use (127.0.0.1:${server.xdsPort}); stop the other process or pick another port`);
  });
});

describe('the meshlet binary', () => {
  let blocker: Server;
  let port: number;
  before(async () => {
    // A port nobody answers on: bind, note it, close.
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    port = (blocker.address() as { port: number }).port;
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  test('an unreachable server: exit 1, one line, no stack trace', () => {
    const r = spawnSync(process.execPath, [BIN, 'status', '--server', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^meshlet: MESHLET_ERR_CONTROL_UNREACHABLE: cannot reach the control server admin API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  test('an unknown command: usage and exit 2', () => {
    const r = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /MESHLET_ERR_USAGE: unknown command "frobnicate"/);
  });
});
