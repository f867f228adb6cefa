// The CA in a real control server on port 0: CA files on disk (modes, reuse across restarts, an
// Istio plug-in intermediate), certificate signing over the real TLS port, a client
// IdentityManager that bootstraps trust from the token alone and rotates on a fake clock, and ADS
// over the same TLS port.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { CONTROL_SERVER_NAME } from '../../../src/control/ca/secure-server.js';
import { requestCertificate } from '../../../src/security/identity/ca-client.js';
import { verifyChain } from '../../../src/security/identity/chain.js';
import { IdentityManager, type RotateEvent } from '../../../src/security/identity/manager.js';
import { splitCertificates } from '../../../src/security/identity/pem.js';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { fetchPinnedRoot } from '../../../src/security/tls/pinned-root.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { csrFor, tempDir, writePlugInCa } from '../../helpers/ca.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { RawAds } from '../../helpers/raw-ads.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const start = (caDir: string) => createControlServer({ caDir, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1 });

describe('control server CA', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  test('creates its root key and certificate mode 0600 in a 0700 directory, and reuses them after a restart', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    const caDir = join(t.dir, 'ca');
    const first = await start(caDir);
    const fingerprint = first.ca!.rootFingerprint;
    assert.ok(first.securePort! > 0);
    await first.close();
    assert.equal((await stat(caDir)).mode & 0o777, 0o700);
    const files = (await readdir(caDir)).sort();
    assert.deepEqual(files, ['root-cert.pem', 'root-key.pem', 'token-key.pem']);
    for (const f of files) assert.equal((await stat(join(caDir, f))).mode & 0o777, 0o600, f);
    const second = await start(caDir);
    cleanup.push(() => second.close());
    assert.equal(second.ca!.rootFingerprint, fingerprint, 'the same root after a restart');
    assert.equal(second.ca!.mode, 'self-signed');
    // A token made before the restart still works after it.
    const token = await second.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    assert.equal((await second.ca!.tokens.verify(token)).rootFingerprint, fingerprint);
  });

  test('an Istio plug-in CA directory signs as that intermediate; the chain carries it', async () => {
    for (const rsa of [false, true]) {
      const t = await tempDir();
      cleanup.push(t.remove);
      const { rootPem, caCertPem } = await writePlugInCa(t.dir, { rsa, extraRoot: true });
      const server = await start(t.dir);
      cleanup.push(() => server.close());
      assert.equal(server.ca!.mode, 'plug-in');
      assert.equal(server.ca!.rootFingerprint, new X509Certificate(rootPem).fingerprint256.replace(/:/g, '').toLowerCase());
      const token = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
      const chain = await requestCertificate({
        address: `127.0.0.1:${server.securePort}`, serverName: CONTROL_SERVER_NAME, trustPem: rootPem, csr: (await csrFor([ID])).csr, token,
      });
      assert.equal(chain.length, 3, 'leaf, intermediate, root bundle');
      assert.equal(new X509Certificate(chain[1]!).fingerprint256, new X509Certificate(caCertPem).fingerprint256);
      assert.equal(splitCertificates(chain[2]!).length, 2, 'both roots of root-cert.pem are in the bundle');
      assert.deepEqual(lintSvid(chain[0]!, { spiffeId: ID }).problems, []);
      const leaf = new X509Certificate(chain[0]!);
      assert.ok(leaf.checkIssued(new X509Certificate(caCertPem)), `${rsa ? 'RSA' : 'EC'} intermediate issued the leaf`);
      const anchor = verifyChain([leaf, new X509Certificate(chain[1]!)], [new X509Certificate(rootPem)], Date.now());
      assert.equal(typeof anchor, 'object', String(anchor));
    }
  });

  test('a plug-in directory missing a file, or a key that does not match, is MESHLET_ERR_CA_DIR', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    await writePlugInCa(t.dir);
    const { rm, copyFile } = await import('node:fs/promises');
    await rm(join(t.dir, 'cert-chain.pem'));
    await assert.rejects(start(t.dir), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_DIR' && /cert-chain\.pem/.test(e.message));
    const other = await tempDir();
    cleanup.push(other.remove);
    await writePlugInCa(other.dir);
    await writePlugInCa(t.dir);
    await copyFile(join(other.dir, 'ca-key.pem'), join(t.dir, 'ca-key.pem'));
    await assert.rejects(start(t.dir), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_DIR' && /does not belong/.test(e.message));
  });
});

describe('a client over the real secure port', () => {
  let server: ControlServer;
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => { for (const f of cleanup.reverse()) await f(); });

  test('the TLS port is verified with only the token fingerprint; a wrong fingerprint is refused', async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    server = await start(t.dir);
    cleanup.push(() => server.close());
    const fingerprint = server.ca!.rootFingerprint;
    const root = await fetchPinnedRoot({ host: '127.0.0.1', port: server.securePort!, fingerprint, serverName: CONTROL_SERVER_NAME });
    assert.equal(root.fingerprint256.replace(/:/g, '').toLowerCase(), fingerprint);
    await assert.rejects(fetchPinnedRoot({ host: '127.0.0.1', port: server.securePort!, fingerprint: 'ab'.repeat(32), serverName: CONTROL_SERVER_NAME }), (e: { code?: string }) => e.code === 'MESHLET_ERR_TLS_PEER');
    await assert.rejects(fetchPinnedRoot({ host: '127.0.0.1', port: server.securePort!, fingerprint, serverName: 'evil.example.com' }), /not for evil\.example\.com/);
  });

  test('an IdentityManager obtains its SVID and rotates it (fake clock) over the real port, renewing with its certificate', async (t) => {
    // A one-minute token: by the rotation (30 fake minutes later) the manager no longer sends it,
    // so the renewal is authenticated by the client certificate alone.
    const token = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews', ttlMs: 60_000 });
    const clock = new FakeClock();
    const manager = new IdentityManager({ token, controlPlane: `127.0.0.1:${server.securePort}`, clock, random: () => 0.5, ttlSeconds: 3600 });
    t.after(() => manager.close());
    const first = await manager.start();
    assert.equal(first.spiffeId, ID);
    assert.deepEqual(lintSvid(first.chainPem[0]!, { spiffeId: ID }).problems, []);
    assert.ok(Math.abs(first.notAfter - Date.now() - 3600_000) < 5000, 'the requested lifetime');
    assert.deepEqual(first.trustBundlePem, server.ca!.roots());
    assert.deepEqual(clock.pending().map((d) => Math.round(d / 60_000)), [30]);
    const rotated = new Promise<RotateEvent>((resolve, reject) => {
      manager.on('rotate', resolve);
      manager.on('error', (e) => reject(e.error));
    });
    clock.advance(30 * 60_000);
    const { current, previous } = await rotated;
    assert.equal(previous!.serialNumber, first.serialNumber);
    assert.notEqual(current.serialNumber, first.serialNumber);
    assert.equal(current.spiffeId, ID);
  });

  test('tokens are refused over the wire when expired, for another trust domain, or used for another service account', async () => {
    const address = `127.0.0.1:${server.securePort}`;
    const trustPem = server.ca!.roots().join('');
    const call = async (token: string, uris = [ID]) => requestCertificate({ address, serverName: CONTROL_SERVER_NAME, trustPem, csr: (await csrFor(uris)).csr, token });
    const { JoinTokens } = await import('../../../src/control/ca/tokens.js');
    const key = (server.ca as unknown as { material: { tokenKey: never } }).material.tokenKey;
    const expired = await new JoinTokens(key, 'cluster.local', server.ca!.rootFingerprint, () => Date.now() - 3 * 3600_000).create({ namespace: 'default', serviceAccount: 'reviews', ttlMs: 3600_000 });
    await assert.rejects(call(expired), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_TOKEN' && /expired/.test(e.message));
    const foreign = await new JoinTokens(key, 'example.org', server.ca!.rootFingerprint).create({ namespace: 'default', serviceAccount: 'reviews' });
    await assert.rejects(call(foreign), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN');
    const reviews = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    await assert.rejects(call(reviews, ['spiffe://cluster.local/ns/default/sa/admin']), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
    await assert.rejects(requestCertificate({ address, serverName: CONTROL_SERVER_NAME, trustPem, csr: 'not a csr', token: reviews }), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_CSR');
  });

  test('ADS is served over the same TLS port', async (t) => {
    const ads = new RawAds(`127.0.0.1:${server.securePort}`, { id: 'tls-client' }, grpc.credentials.createSsl(Buffer.from(server.ca!.roots().join(''))), {
      'grpc.ssl_target_name_override': CONTROL_SERVER_NAME,
    });
    t.after(() => ads.close());
    ads.send({ typeUrl: TYPE_URL.cluster, resourceNames: [] });
    const res = await ads.next(TYPE_URL.cluster, 5000);
    assert.equal(res.type_url, TYPE_URL.cluster);
    assert.ok(server.clients().some((c) => c.id === 'tls-client'), 'the TLS stream is one of the server clients');
  });
});
