// mTLS between meshes with identities from a real control server's CA (caDir, port 0, join
// tokens): STRICT refuses plaintext, PERMISSIVE serves TLS and plaintext on one port (HTTP and
// gRPC), the server sees the caller's verified principal, the control server takes the endpoint's
// identity from the ADS client certificate, and rotation under load fails no request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh, MeshOptions } from '../../../src/mesh/types.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { ECHO_SERVICE, EchoClient, echoCall } from '../../../src/testing/echo.js';
import { tempDir } from '../../helpers/ca.js';
import { waitFor } from '../../helpers/http-mesh.js';

const ns = 'default';
const id = (sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

describe('mesh mTLS', () => {
  let server: ControlServer;
  const meshes: Mesh[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];

  before(async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    server = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  });
  after(async () => {
    // Seen once in CI: this hook's promise was still pending when the event loop ran dry (something
    // awaited here waits on nothing that keeps the process alive). Name what was pending if so.
    const pending = new Set<string>();
    const step = <T>(name: string, p: Promise<T>) => { pending.add(name); return p.finally(() => pending.delete(name)); };
    const report = () => console.error(`mtls after hook: the event loop ran dry while awaiting ${[...pending].join(', ')}`);
    process.once('beforeExit', report);
    await Promise.all(meshes.map((m, i) => step(`mesh ${i} (${m.identity ?? 'no identity'}).close()`, m.close())));
    await step('server.close()', server.close());
    for (const f of cleanup.reverse()) await step('temp dir removal', f());
    process.off('beforeExit', report);
  });

  async function mesh(sa: string | undefined, options: MeshOptions = {}): Promise<Mesh> {
    const token = sa ? await server.ca!.createJoinToken({ namespace: ns, serviceAccount: sa }) : undefined;
    const m = await createMesh({
      controlPlane: `127.0.0.1:${sa ? server.securePort : server.xdsPort}`,
      ...(token ? { token } : {}),
      initialFetchTimeoutMs: 5000,
      drainTimeoutMs: 1000,
      xdsBackoff: { initialMs: 50, maxMs: 200 },
      ...options,
    });
    meshes.push(m);
    return m;
  }

  const whoAmI = (m: () => Mesh) => (req: IncomingMessage, res: ServerResponse) => {
    res.end(JSON.stringify({ principal: m().inbound.context(req)?.peer.identity ?? null, tls: Boolean((req.socket as { encrypted?: boolean }).encrypted) }));
  };

  /** The client's EDS entry for the host's port, with its transport-socket metadata. */
  function tlsModes(m: Mesh, host: string, port: number): string[] {
    const out: string[] = [];
    for (const [name, cla] of m.xds.all(TYPE_URL.endpoint)) {
      if (name !== `outbound|${port}||${host}.${ns}.svc.cluster.local`) continue;
      for (const l of cla.localities) for (const e of l.endpoints) out.push(String(e.metadata['envoy.transport_socket_match']?.['tlsMode'] ?? 'none'));
    }
    return out;
  }

  test('a mesh with a token has the token\'s SPIFFE identity; one without has none', async () => {
    const a = await mesh('ratings');
    assert.equal(a.identity, id('ratings'));
    const b = await mesh(undefined);
    assert.equal(b.identity, undefined);
  });

  test('mTLS between meshes: the server sees the caller\'s principal; the endpoint carries tlsMode istio from its certificate', async () => {
    let srv!: Mesh;
    srv = await mesh('reviews', { service: 'reviews', serviceAccount: 'forged' });
    await srv.listen(whoAmI(() => srv), { port: 0, servicePort: 9080 });
    const client = await mesh('productpage');
    await waitFor(() => tlsModes(client, 'reviews', 9080).length === 1, 5000, 'reviews in EDS');
    assert.deepEqual(tlsModes(client, 'reviews', 9080), ['istio']);
    const cluster = client.xds.all(TYPE_URL.cluster).get(`outbound|9080||reviews.${ns}.svc.cluster.local`);
    const match = cluster?.transport?.matches.find((m) => m.match['tlsMode'] === 'istio');
    assert.equal(match?.transport.kind, 'tls');
    // The SAN list is the identity the control server read from the certificate, not the forged claim.
    assert.deepEqual(match?.transport.kind === 'tls' ? match.transport.subjectAltNames : [], [id('reviews')]);
    await waitFor(() => client.engine.route({ method: 'GET', path: '/', host: 'reviews', port: 9080, headers: {} }).kind === 'forward', 5000, 'route');
    const res = await client.fetch('http://reviews:9080/');
    assert.deepEqual(await res.json(), { principal: id('productpage'), tls: true });
  });

  test('STRICT refuses a plaintext client; PERMISSIVE serves plaintext and mTLS on one port', async () => {
    let strict!: Mesh;
    strict = await mesh('details', { service: 'details', inboundTlsMode: () => 'STRICT' });
    const s = await strict.listen(whoAmI(() => strict), { port: 0, servicePort: 9080 });
    await assert.rejects(request(`http://127.0.0.1:${s.port}/`), (err: Error) => /other side closed|ECONNRESET|socket/i.test(`${err.message} ${(err.cause as Error)?.message ?? ''}`));
    let permissive!: Mesh;
    permissive = await mesh('ratings2', { service: 'ratings2' });
    const p = await permissive.listen(whoAmI(() => permissive), { port: 0, servicePort: 9080 });
    const plain = await request(`http://127.0.0.1:${p.port}/`);
    assert.deepEqual(await plain.body.json(), { principal: null, tls: false }, 'plaintext is served, unauthenticated');
    // A plaintext mesh (no token) calls the PERMISSIVE service through the mesh: plaintext, no principal.
    const anonymous = await mesh(undefined);
    await waitFor(() => anonymous.engine.route({ method: 'GET', path: '/', host: 'ratings2', port: 9080, headers: {} }).kind === 'forward' && tlsModes(anonymous, 'ratings2', 9080).length === 1, 5000, 'route');
    const anon = await anonymous.fetch('http://ratings2:9080/');
    assert.deepEqual(await anon.json(), { principal: null, tls: false }, 'a mesh without identity talks plaintext, like a workload without a sidecar');
    // …and a STRICT server refuses it.
    await waitFor(() => anonymous.engine.route({ method: 'GET', path: '/', host: 'details', port: 9080, headers: {} }).kind === 'forward' && tlsModes(anonymous, 'details', 9080).length === 1, 5000, 'route');
    const refused = await anonymous.fetch('http://details:9080/');
    assert.equal(refused.status, 503, 'connection closed by the STRICT server: Envoy-style 503');
    await refused.text();
    const caller = await mesh('productpage');
    await waitFor(() => caller.engine.route({ method: 'GET', path: '/', host: 'ratings2', port: 9080, headers: {} }).kind === 'forward' && tlsModes(caller, 'ratings2', 9080).length === 1, 5000, 'route');
    const viaMesh = await caller.fetch('http://ratings2:9080/');
    assert.deepEqual(await viaMesh.json(), { principal: id('productpage'), tls: true }, 'mTLS on the same port');
    // TLS without a client certificate is refused even under PERMISSIVE (ISTIO_MUTUAL requires one).
    await new Promise<void>((resolve, reject) => {
      const sock = tlsConnect({ host: '127.0.0.1', port: p.port, rejectUnauthorized: false });
      sock.once('secureConnect', () => { sock.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'); });
      sock.once('data', () => reject(new Error('served TLS without a client certificate')));
      sock.once('error', () => resolve());
      sock.once('close', () => resolve());
    });
  });

  test('gRPC: PERMISSIVE serves a plaintext client and an mTLS mesh client on one port; the handler sees the principal', async () => {
    const srv = await mesh('echo', { service: 'echo' });
    const g = srv.grpc.createServer();
    const seen: Array<string | undefined> = [];
    g.use({ onCall: (ctx) => void seen.push(ctx.view?.peer.principal) });
    g.server.addService(ECHO_SERVICE, { Call: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { from: 'echo', metadata: {}, body: call.request }) });
    const port = await g.bind('127.0.0.1:0');
    const plain = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    assert.equal((await echoCall(plain)).from, 'echo');
    plain.close();
    const caller = await mesh('frontend');
    await waitFor(() => tlsModes(caller, 'echo', port).length === 1, 5000, 'echo in EDS');
    const client = caller.grpc.client(EchoClient, `echo:${port}`);
    assert.equal((await echoCall(client as unknown as grpc.Client)).from, 'echo');
    (client as unknown as grpc.Client).close();
    assert.deepEqual(seen, [undefined, id('frontend')]);
  });

  test('rotation under load: short-lived SVIDs rotate while requests flow, and none fails', async () => {
    let srv!: Mesh;
    srv = await mesh('rotor', { service: 'rotor', identityTtlSeconds: 2, inboundTlsMode: () => 'STRICT' });
    await srv.listen(whoAmI(() => srv), { port: 0, servicePort: 9080 });
    const client = await mesh('loader', { identityTtlSeconds: 2 });
    await waitFor(() => tlsModes(client, 'rotor', 9080).length === 1 && client.engine.route({ method: 'GET', path: '/', host: 'rotor', port: 9080, headers: {} }).kind === 'forward', 5000, 'rotor');
    const serials = new Set<string>();
    const watch = (m: Mesh) => (m as unknown as { tls: { current(): { serialNumber: string } | undefined } }).tls.current()?.serialNumber;
    let failures = 0;
    let ok = 0;
    const deadline = async () => {
      // Until both sides rotated at least twice (each SVID lives 2 s, rotation at ~50%).
      while (serials.size < 5) {
        serials.add(`s${watch(srv)}`);
        serials.add(`c${watch(client)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const load = async (stop: () => boolean) => {
      while (!stop()) {
        try {
          const res = await client.fetch('http://rotor:9080/');
          const body = (await res.json()) as { principal: string };
          if (res.status === 200 && body.principal === id('loader')) ok++;
          else failures++;
        } catch {
          failures++;
        }
      }
    };
    let done = false;
    const workers = Array.from({ length: 4 }, () => load(() => done));
    await deadline();
    done = true;
    await Promise.all(workers);
    assert.equal(failures, 0);
    assert.ok(ok > 0);
  });
});
