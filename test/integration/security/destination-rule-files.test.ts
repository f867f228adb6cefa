// DestinationRule `tls.mode: MUTUAL` with clientCertificate / privateKey / caCertificates files
// (Istio's TLS origination to a service outside the mesh): the app calls http://db.example.com,
// the mesh reads the files and presents the client certificate to a real HTTPS server that
// requires one, verifying the server against the given CA and the SNI. Files that cannot be used
// (missing, not PEM, a key of another certificate, too large) fail the request with
// MESHLET_ERR_TLS_FILES; nothing is sent in the clear.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE, EchoClient, echoCall } from '../../../src/testing/echo.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { loadTlsFiles, MAX_TLS_FILE_BYTES } from '../../../src/security/tls/tls-files.js';
import { csrFor, tempDir, testCa } from '../../helpers/ca.js';
import { applyYaml, waitFor } from '../../helpers/wait.js';

describe('DestinationRule MUTUAL with certificate files', () => {
  let control: ControlServer;
  let mesh: Mesh;
  let https: Server;
  let dir: string;
  let grpcPort: number;
  const grpcPeers: string[] = [];
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  const seen: string[] = [];

  before(async () => {
    const ca = await testCa();
    cleanup.push(ca.close);
    const t = await tempDir();
    cleanup.push(t.remove);
    dir = t.dir;
    // A private CA (not the system's) issues the server's DNS certificate and the client certificate.
    const server = await ca.ca.issueServerCertificate({ dnsNames: ['db.example.com'], ipAddresses: [] });
    const clientId = 'spiffe://cluster.local/ns/default/sa/db-client';
    const { csr, key } = await csrFor([clientId]);
    const client = await ca.ca.signSvid(csr, clientId);
    const other = await csrFor([clientId]);
    await writeFile(join(dir, 'client.pem'), client.chain.join(''));
    await writeFile(join(dir, 'key.pem'), key.privateKeyPem);
    await writeFile(join(dir, 'other-key.pem'), other.key.privateKeyPem);
    await writeFile(join(dir, 'ca.pem'), ca.ca.roots().join(''));
    await writeFile(join(dir, 'junk.pem'), 'not pem');
    await writeFile(join(dir, 'huge.pem'), Buffer.alloc(MAX_TLS_FILE_BYTES + 1, 0x41));
    https = createServer({ key: server.keyPem, cert: server.chainPem, ca: ca.ca.roots(), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      seen.push(peer?.subjectAltName ?? 'none');
      res.end(`hello ${(req.socket as TLSSocket).servername}`);
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => https.close(r)));
    const port = (https.address() as AddressInfo).port;

    // The same files for gRPC: a grpc-js server that requires a client certificate from the CA.
    const g = new grpc.Server();
    g.addService(ECHO_SERVICE, {
      Call: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        grpcPeers.push(String(call.getAuthContext().sslPeerCertificate?.subjectaltname ?? 'none'));
        cb(null, { from: 'grpcdb', metadata: {}, body: call.request });
      },
    });
    const serverCreds = grpc.ServerCredentials.createSsl(Buffer.from(ca.ca.roots().join('')), [{ private_key: Buffer.from(server.keyPem), cert_chain: Buffer.from(server.chainPem) }], true);
    grpcPort = await new Promise<number>((resolve, reject) => g.bindAsync('127.0.0.1:0', serverCreds, (err, p) => (err ? reject(err) : resolve(p))));
    cleanup.push(() => g.forceShutdown());

    control = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5 });
    cleanup.push(() => control.close());
    const entry = (host: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${host.split('.')[0]} }
spec:
  hosts: [${host}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: ${port}, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1 }]
`;
    const rule = (host: string, tls: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host.split('.')[0]} }
spec:
  host: ${host}
  trafficPolicy: { tls: { mode: MUTUAL, sni: ${host}, subjectAltNames: [db.example.com], ${tls} } }
`;
    const f = (name: string) => join(dir, name);
    const hosts: Record<string, string> = {
      'db.example.com': `clientCertificate: ${f('client.pem')}, privateKey: ${f('key.pem')}, caCertificates: ${f('ca.pem')}`,
      'missing.example.com': `clientCertificate: ${f('client.pem')}, privateKey: ${f('absent.pem')}, caCertificates: ${f('ca.pem')}`,
      'mismatch.example.com': `clientCertificate: ${f('client.pem')}, privateKey: ${f('other-key.pem')}, caCertificates: ${f('ca.pem')}`,
      'junk.example.com': `clientCertificate: ${f('client.pem')}, privateKey: ${f('key.pem')}, caCertificates: ${f('junk.pem')}`,
      'huge.example.com': `clientCertificate: ${f('huge.pem')}, privateKey: ${f('key.pem')}, caCertificates: ${f('ca.pem')}`,
      // The system CAs do not know the private CA: the server is refused.
      'nocafile.example.com': `clientCertificate: ${f('client.pem')}, privateKey: ${f('key.pem')}`,
    };
    const grpcEntry = (host: string) => entry(host).replace(`number: ${port}, name: http, protocol: HTTP`, `number: ${grpcPort}, name: grpc, protocol: GRPC`);
    const grpcHosts: Record<string, string> = {
      'grpcdb.example.com': hosts['db.example.com']!,
      'grpcmissing.example.com': hosts['missing.example.com']!,
    };
    await applyYaml(control, [
      ...Object.entries(hosts).map(([h, tls]) => `${entry(h)}---\n${rule(h, tls)}`),
      ...Object.entries(grpcHosts).map(([h, tls]) => `${grpcEntry(h)}---\n${rule(h, tls)}`),
    ].join('---\n'));
    mesh = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, initialFetchTimeoutMs: 5000 });
    cleanup.push(() => mesh.close());
    for (const h of Object.keys(hosts)) {
      await waitFor(() => mesh.engine.route({ method: 'GET', path: '/', host: h, port, headers: {} }).kind === 'forward', 5000, `${h} routed`);
    }
  });
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  const port = () => (https.address() as AddressInfo).port;

  test('the mesh originates mTLS with the files: the server sees the client certificate, the SNI is the rule\'s', async () => {
    const res = await mesh.fetch(`http://db.example.com:${port()}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello db.example.com');
    // The server's certificate is for db.example.com: the rules name it in subjectAltNames, so
    // each host below fails only for its files.
    assert.deepEqual(seen, ['URI:spiffe://cluster.local/ns/default/sa/db-client']);
  });

  test('files that cannot be used fail the request (nothing reaches the server)', async () => {
    const before = seen.length;
    // fetch() rejects with the connector's error as its cause.
    const causeOf = async (host: string) => {
      const err = await mesh.fetch(`http://${host}.example.com:${port()}/`).then(() => undefined, (e: Error & { cause?: { code?: string; message: string } }) => e.cause);
      assert.ok(err, `${host}: the request must fail`);
      return err;
    };
    for (const [host, re] of [['missing', /absent\.pem cannot be read/], ['mismatch', /does not belong/], ['junk', /no PEM certificate/], ['huge', /larger than/]] as const) {
      const cause = await causeOf(host);
      assert.equal(cause.code, 'MESHLET_ERR_TLS_FILES', `${host}: ${cause.message}`);
      assert.match(cause.message, re);
    }
    assert.match(String((await causeOf('nocafile')).code), /SELF_SIGNED|UNABLE_TO|CERT/, 'without caCertificates the private CA is not trusted');
    assert.equal(seen.length, before);
  });

  test('loadTlsFiles says which file and why, with MESHLET_ERR_TLS_FILES', async () => {
    const f = (name: string) => join(dir, name);
    const rejects = (files: Parameters<typeof loadTlsFiles>[0], re: RegExp) => assert.rejects(loadTlsFiles(files), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_TLS_FILES' && re.test(e.message));
    await rejects({ certificateChain: f('client.pem'), privateKey: f('absent.pem') }, /privateKey .*absent\.pem cannot be read/);
    await rejects({ certificateChain: f('client.pem'), privateKey: f('other-key.pem') }, /does not belong to the certificate/);
    await rejects({ trustedCa: f('junk.pem') }, /caCertificates .*junk\.pem: no PEM certificate/);
    await rejects({ certificateChain: f('huge.pem'), privateKey: f('key.pem') }, /larger than/);
    const ok = await loadTlsFiles({ certificateChain: f('client.pem'), privateKey: f('key.pem'), trustedCa: f('ca.pem') });
    assert.ok(ok.cert && ok.key && ok.ca);
  });

  test('gRPC: the same files give channel credentials; unusable files fail the call, never plaintext', async () => {
    const ok = mesh.grpc.client(EchoClient, `grpcdb.example.com:${grpcPort}`) as unknown as grpc.Client;
    const bad = mesh.grpc.client(EchoClient, `grpcmissing.example.com:${grpcPort}`) as unknown as grpc.Client;
    try {
      assert.equal((await echoCall(ok)).from, 'grpcdb');
      assert.deepEqual(grpcPeers, ['URI:spiffe://cluster.local/ns/default/sa/db-client']);
      const err = await echoCall(bad, undefined, 2000).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.ok(err, 'the call must fail');
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.equal(grpcPeers.length, 1, 'nothing reached the server');
    } finally {
      ok.close();
      bad.close();
    }
  });
});
