// The CA across two control servers on one real etcd: a token revoked through A's admin API is
// refused by B (a first join through B's secure port, and the renewal of a mesh that joined
// through B) as soon as B's watch has it, with no restart, the revocation kept in etcd under a
// lease; a bounded token's uses are one count for both servers (compare-and-swap in etcd); and a trust rotation made on A (root appended, A reloaded) is published
// to etcd, written into B's CA directory by B's watch, and reaches the next certificate of a mesh
// that is B's client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { CONTROL_SERVER_NAME } from '../../../src/control/ca/secure-server.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { connectEtcd, parseEtcdUrl } from '../../../src/control/store/etcd-client.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { requestCertificate } from '../../../src/security/identity/ca-client.js';
import { decodeJoinToken } from '../../../src/security/identity/join-token.js';
import { splitCertificates } from '../../../src/security/identity/pem.js';
import type { MeshTls } from '../../../src/security/tls/mesh-tls.js';
import { csrFor } from '../../helpers/ca.js';
import { EtcdCluster, haveEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const tlsOf = (m: Mesh) => (m as unknown as { tls: MeshTls }).tls;

describe('the CA on etcd, two control servers', () => {
  let etcd: EtcdCluster;
  let dir: string;
  let a: ControlServer;
  let b: ControlServer;
  const meshes: Mesh[] = [];

  before(async () => {
    assert.ok(haveEtcd(), 'these tests need /usr/bin/etcd (Debian etcd-server) or MESHLET_ETCD_BIN');
    etcd = await EtcdCluster.start(1);
    dir = await mkdtemp(join(tmpdir(), 'meshlet-ca-etcd-'));
    const keyFile = join(dir, 'store.key');
    await writeFile(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    const start = (name: string) => createControlServer({
      store: `${etcd.url}/ca1`, xdsPort: 0, adminPort: 0, caDir: join(dir, `ca-${name}`), securePort: 0, storeKeyFile: keyFile, warmupMs: 0, signerThreads: 1,
    });
    a = await start('a');
    b = await start('b');
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await Promise.all([a, b].map((s) => s?.close()));
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const rootOf = (s: ControlServer) => s.ca!.roots()[0]!;
  const bundleFrom = async (s: ControlServer, token: string): Promise<string[]> => {
    const chain = await requestCertificate({ address: `127.0.0.1:${s.securePort}`, serverName: CONTROL_SERVER_NAME, trustPem: rootOf(s), csr: (await csrFor([ID])).csr, token });
    return splitCertificates(chain[chain.length - 1]!);
  };
  const joinThrough = async (s: ControlServer, token: string): Promise<Mesh> => {
    const m = await createMesh({ controlPlane: `127.0.0.1:${s.securePort}`, token, service: 'reviews', initialFetchTimeoutMs: 10_000, drainTimeoutMs: 500 });
    meshes.push(m);
    return m;
  };

  test('revoked on A, refused by B: new joins and renewals', async () => {
    assert.equal(a.ca!.rootFingerprint, b.ca!.rootFingerprint, 'one CA, from etcd');
    const token = await a.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    const joined = await joinThrough(b, token);
    await bundleFrom(b, token);

    const res = await fetch(`http://127.0.0.1:${a.adminPort}/tokens/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { added: boolean }).added, true);
    const { jti } = decodeJoinToken(token);
    // Nothing of A's revocation is in B's CA directory: B has it from etcd.
    await assert.rejects(readFile(join(dir, 'ca-b', 'revoked-tokens.json')), { code: 'ENOENT' });
    await waitFor(() => b.ca!.revocations.check(jti), 15_000, "B's watch to bring the revocation");
    await assert.rejects(bundleFrom(b, token), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED');
    await assert.rejects(tlsOf(joined).identity.rotateNow(), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED');
    await assert.rejects(joinThrough(b, token), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED');
    const listed = await fetch(`http://127.0.0.1:${b.adminPort}/tokens/revoked`).then((r) => r.json()) as Array<{ jti: string }>;
    assert.deepEqual(listed.map((e) => e.jti), [jti]);

    // The key lives under a lease of its own, so etcd drops it when the entry may go.
    const conn = await connectEtcd(parseEtcdUrl(`${etcd.url}/ca1`));
    try {
      const { entries } = await conn.range('/ca1/revoked-tokens/');
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.key, `/ca1/revoked-tokens/${jti}`);
      assert.notEqual(entries[0]!.lease, '0');
    } finally {
      conn.close();
    }
    // A restarted B reads the revocation back from etcd.
    await b.close();
    b = await createControlServer({ store: `${etcd.url}/ca1`, xdsPort: 0, adminPort: 0, caDir: join(dir, 'ca-b'), securePort: 0, storeKeyFile: join(dir, 'store.key'), warmupMs: 0, signerThreads: 1 });
    assert.ok(await b.ca!.revocations.check(jti));
  });

  test('a bounded token\'s uses are counted once for every server', async () => {
    const once = await a.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews', maxUses: 1 });
    await joinThrough(a, once);
    await assert.rejects(joinThrough(b, once), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_USED', 'B knows A took the one use');
    // Six requests racing through both servers for two uses: exactly two certificates.
    const twice = await a.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews', maxUses: 2 });
    const results = await Promise.allSettled([a, b, a, b, a, b].map((s) => bundleFrom(s, twice)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'MESHLET_ERR_CA_TOKEN_USED');
    // Nothing went to the CA directories' ledgers.
    for (const name of ['ca-a', 'ca-b']) await assert.rejects(readFile(join(dir, name, 'token-uses.json')), { code: 'ENOENT' });
  });

  test('a trust rotation made on A reaches the clients of B', async () => {
    const token = await a.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    const client = await joinThrough(b, token);
    assert.equal(tlsOf(client).current()!.trustBundlePem.length, 1);
    // Root 2 of the same trust domain, made the way the server makes its own, appended on A.
    const other = await mkdtemp(join(tmpdir(), 'meshlet-ca-other-'));
    await (await CertificateAuthority.open({ dir: other, signerThreads: 0 })).close();
    const newRoot = await readFile(join(other, 'root-cert.pem'), 'utf8');
    await rm(other, { recursive: true, force: true });
    const rootFile = join(dir, 'ca-a', 'root-cert.pem');
    await writeFile(rootFile, (await readFile(rootFile, 'utf8')) + newRoot, { mode: 0o600 });
    const change = await a.reloadCa();
    assert.equal(change.rootsChanged, true);
    assert.equal(change.published, 1, 'root-cert.pem published to etcd');
    await waitFor(() => b.ca!.roots().length === 2, 15_000, "B's watch to bring the new root");
    assert.equal(await readFile(join(dir, 'ca-b', 'root-cert.pem'), 'utf8'), await readFile(rootFile, 'utf8'), "B's CA directory holds what A published");
    const renewed = await tlsOf(client).identity.rotateNow();
    assert.equal(renewed.trustBundlePem.length, 2, "B's client holds both roots with its next certificate");
    // Reloading A again changes nothing and publishes nothing.
    assert.equal((await a.reloadCa()).published, 0);
  });
});
