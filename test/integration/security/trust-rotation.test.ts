// A root rotation through a real control server (Istio's plug-in CA root rotation: add the new
// root to the bundle, switch the signer, remove the old root), while HTTP and gRPC requests flow
// between two STRICT mTLS meshes: no request fails, every step reaches the workloads with their
// next certificate, and afterwards the removed root is refused — by the client (a full handshake;
// the session it held from before is not offered) and by the server (a ticket from before the
// change does not resume; the full handshake then fails the chain check).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh, MeshOptions } from '../../../src/mesh/types.js';
import type { MeshTls } from '../../../src/security/tls/mesh-tls.js';
import type { Svid } from '../../../src/security/identity/manager.js';
import { meshConnector } from '../../../src/security/tls/connector.js';
import type { TlsTransportModel } from '../../../src/core/model/transport.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { ECHO_SERVICE, EchoClient, echoCall } from '../../../src/testing/echo.js';
import { csrFor, tempDir } from '../../helpers/ca.js';
import { waitFor } from '../../helpers/wait.js';

const ns = 'default';
const id = (sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
const tlsOf = (m: Mesh) => (m as unknown as { tls: MeshTls }).tls;
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('trust rotation through the control server', () => {
  let server: ControlServer;
  let dirA: string;
  let dirB: string;
  const meshes: Mesh[] = [];
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    const a = await tempDir();
    const b = await tempDir();
    cleanup.push(a.remove, b.remove);
    dirA = a.dir;
    dirB = b.dir;
    // Root B: another self-signed root of the same trust domain, made the way the server makes its own.
    await (await CertificateAuthority.open({ dir: dirB, signerThreads: 0 })).close();
    server = await createControlServer({ caDir: dirA, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await server.close();
    for (const f of cleanup.reverse()) await f();
  });

  async function mesh(sa: string, options: MeshOptions = {}): Promise<Mesh> {
    const token = await server.ca!.createJoinToken({ namespace: ns, serviceAccount: sa });
    const m = await createMesh({
      controlPlane: `127.0.0.1:${server.securePort}`, token, initialFetchTimeoutMs: 5000, drainTimeoutMs: 1000, xdsBackoff: { initialMs: 50, maxMs: 200 }, ...options,
    });
    meshes.push(m);
    return m;
  }

  /** An SVID signed by the CA as it is now (what a workload that never renewed would still hold). */
  async function staleSvid(sa: string): Promise<Svid> {
    const { csr, key } = await csrFor([id(sa)]);
    const issued = await server.ca!.signSvid(csr, id(sa), 3600_000);
    return { spiffeId: id(sa), keyPem: key.privateKeyPem, chainPem: issued.chain, trustBundlePem: issued.roots, notBefore: 0, notAfter: Date.now() + 3600_000, serialNumber: 'stale' };
  }

  /** One CA step, then every mesh renews (as it would at its next rotation) and holds `roots`. */
  async function step(files: { key?: string; roots: string[] }, workloads: Mesh[]): Promise<void> {
    if (files.key) await writeFile(join(dirA, 'root-key.pem'), files.key, { mode: 0o600 });
    await writeFile(join(dirA, 'root-cert.pem'), files.roots.join(''), { mode: 0o600 });
    await server.ca!.reload();
    await Promise.all(workloads.map((m) => tlsOf(m).identity.rotateNow()));
    for (const m of workloads) assert.deepEqual(tlsOf(m).current()!.trustBundlePem.map(fingerprint), files.roots.map(fingerprint));
  }

  test('add root B, sign with B, remove root A: no HTTP or gRPC request fails, and root A is refused after', async () => {
    const rootA = await readFile(join(dirA, 'root-cert.pem'), 'utf8');
    const rootB = await readFile(join(dirB, 'root-cert.pem'), 'utf8');
    const keyB = await readFile(join(dirB, 'root-key.pem'), 'utf8');

    let srv!: Mesh;
    srv = await mesh('rotor', { service: 'rotor', inboundTlsMode: () => 'STRICT' });
    const httpPort = (await srv.listen((_req, res) => res.end(srv.inbound.context(_req)?.peer.identity ?? 'none'), { port: 0, servicePort: 9080 })).port;
    const g = srv.grpc.createServer();
    g.server.addService(ECHO_SERVICE, { Call: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { from: 'rotor', metadata: {}, body: call.request }) });
    const grpcPort = await g.bind('127.0.0.1:0');
    const client = await mesh('loader');
    await waitFor(() => client.xds.all(TYPE_URL.endpoint).has(`outbound|${grpcPort}||rotor.${ns}.svc.cluster.local`)
      && client.engine.route({ method: 'GET', path: '/', host: 'rotor', port: 9080, headers: {} }).kind === 'forward', 5000, 'rotor in the client config');
    const echo = client.grpc.client(EchoClient, `rotor:${grpcPort}`) as unknown as grpc.Client;
    cleanup.push(() => echo.close());

    // What is refused at the end: a workload still presenting a root-A certificate, as a server
    // (a raw TLS server the client dials through its mesh connector) and as a client of `rotor`.
    const staleServer = await staleSvid('stale-server');
    const staleClient = await staleSvid('stale-client');
    const stale = createTlsServer({ key: staleServer.keyPem, cert: staleServer.chainPem.join(''), ca: [rootA, rootB], requestCert: true, rejectUnauthorized: true }, (s) => s.end('stale'));
    await new Promise<void>((r) => stale.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => stale.close(r)));
    const transport: TlsTransportModel = { kind: 'tls', sni: 'outbound_.9080_._.stale', identity: true, trust: 'mesh', subjectAltNames: [id('stale-server')], alpn: [] };
    const connect = meshConnector(tlsOf(client), () => transport);
    const dialStale = () => new Promise<TLSSocket>((resolve, reject) => connect(
      { hostname: '127.0.0.1', protocol: 'https:', port: String((stale.address() as AddressInfo).port), servername: transport.sni },
      (err, s) => (err ? reject(err) : resolve(s as TLSSocket)),
    ));
    const drain = (s: TLSSocket) => new Promise<void>((r) => { s.resume(); s.once('close', () => r()); });
    await drain(await dialStale());
    const resumed = await dialStale();
    assert.equal(resumed.isSessionReused(), true, 'before the change the client resumes its session with the stale server');
    await drain(resumed);
    const dialRotor = (session?: Buffer) => new Promise<{ ok: boolean; reused: boolean; session?: Buffer; error?: string }>((resolve) => {
      let saved: Buffer | undefined;
      const s = tlsConnect({
        host: '127.0.0.1', port: httpPort, key: staleClient.keyPem, cert: staleClient.chainPem.join(''), ca: [rootA, rootB], ALPNProtocols: ['http/1.1'],
        checkServerIdentity: () => undefined, ...(session ? { session } : {}),
      });
      let body = '';
      // Read at secureConnect: after a refused handshake the socket no longer answers. (Under
      // TLS 1.3 the client may see secureConnect before the server refuses its certificate.)
      let reused = false;
      s.on('session', (x: Buffer) => { saved = x; });
      s.on('data', (d) => { body += d; });
      s.once('secureConnect', () => {
        reused = s.isSessionReused();
        s.write('GET / HTTP/1.1\r\nHost: rotor\r\nConnection: close\r\n\r\n');
      });
      s.once('error', (err) => resolve({ ok: false, reused, error: err.message }));
      s.once('close', () => resolve({ ok: body.startsWith('HTTP/1.1 200'), reused, ...(saved ? { session: saved } : {}) }));
    });
    const first = await dialRotor();
    assert.equal(first.ok, true, 'before the change rotor serves the root-A client');
    assert.ok(first.session, 'rotor issued a session ticket');
    assert.equal((await dialRotor(first.session)).reused, true, 'before the change the ticket resumes');

    let done = false;
    const failures: string[] = [];
    let httpOk = 0;
    let grpcOk = 0;
    const httpLoad = async () => {
      while (!done) {
        try {
          const res = await client.fetch('http://rotor:9080/');
          const text = await res.text();
          if (res.status === 200 && text === id('loader')) httpOk++;
          else failures.push(`http ${res.status} ${text.slice(0, 80)}`);
        } catch (err) {
          failures.push(`http ${(err as Error).message}`);
        }
      }
    };
    const grpcLoad = async () => {
      while (!done) {
        try {
          if ((await echoCall(echo)).from === 'rotor') grpcOk++;
          else failures.push('grpc: wrong server');
        } catch (err) {
          failures.push(`grpc ${(err as Error).message}`);
        }
      }
    };
    const workers = [httpLoad(), httpLoad(), httpLoad(), grpcLoad(), grpcLoad()];
    try {
      await step({ roots: [rootA, rootB] }, [srv, client]);
      await step({ key: keyB, roots: [rootB, rootA] }, [srv, client]);
      for (const m of [srv, client]) {
        const leaf = new X509Certificate(tlsOf(m).current()!.chainPem[0]!);
        assert.ok(leaf.verify(new X509Certificate(rootB).publicKey), 'after step 2 the SVIDs are signed by root B');
      }
      await step({ key: keyB, roots: [rootB] }, [srv, client]);
      // Requests over connections made after the last step, too.
      const after = httpOk + grpcOk;
      await waitFor(() => httpOk + grpcOk > after + 20, 10_000, 'requests after the last step');
    } finally {
      done = true;
      await Promise.all(workers);
    }
    assert.deepEqual(failures, []);
    assert.ok(httpOk > 0 && grpcOk > 0);

    // The client no longer trusts root A: a full handshake with the stale server fails, and it
    // does not offer the session it resumed with before.
    assert.equal(tlsOf(client).session(`${transport.sni}|127.0.0.1:${(stale.address() as AddressInfo).port}`), undefined);
    await assert.rejects(dialStale(), /certificate|verify|issuer/i);
    // rotor no longer trusts root A: the ticket from before does not resume, and the full
    // handshake refuses the root-A client certificate.
    const replay = await dialRotor(first.session);
    assert.equal(replay.reused, false, 'a ticket from before the trust change does not resume');
    assert.equal(replay.ok, false, 'rotor refuses the root-A client');
    assert.equal((await dialRotor()).ok, false);

    // The control server's own port moved to root B: a workload joining now (its token pins B) gets an identity.
    assert.equal(server.ca!.rootFingerprint.replace(/:/g, '').toLowerCase(), fingerprint(rootB).replace(/:/g, '').toLowerCase());
    const late = await mesh('late');
    assert.equal(late.identity, id('late'));
    assert.deepEqual(tlsOf(late).current()!.trustBundlePem.map(fingerprint), [fingerprint(rootB)]);
  });
});
