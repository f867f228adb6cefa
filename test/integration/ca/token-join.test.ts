// Join tokens end to end, through a real control server and real meshes: a `--uses 1` token joins
// one mesh, a second mesh with it fails createMesh with MESHLET_ERR_CA_TOKEN_USED, and the first
// keeps renewing (a renewal is authenticated by its SVID, not the token). A token revoked through
// the admin API (`meshlet token revoke --server`) joins no new mesh (MESHLET_ERR_CA_TOKEN_REVOKED),
// and the mesh that joined with it is not renewed — its current SVID stays in use until it
// expires — while a mesh of another token renews on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../src/cli/main.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { readTokenId } from '../../../src/control/ca/token-id.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { decodeJoinToken } from '../../../src/security/identity/join-token.js';
import type { MeshTls } from '../../../src/security/tls/mesh-tls.js';
import { X509Certificate } from 'node:crypto';
import { tempDir } from '../../helpers/ca.js';

const tlsOf = (m: Mesh) => (m as unknown as { tls: MeshTls }).tls;
const leafOf = (m: Mesh) => tlsOf(m).current()!.chainPem[0]!;

describe('join tokens through the control server', () => {
  let server: ControlServer;
  const meshes: Mesh[] = [];
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    server = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: 0, signerThreads: 1, debounceMs: 5, warmupMs: 0, stateDir: null });
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await server.close();
    for (const f of cleanup.reverse()) await f();
  });

  const join = async (token: string): Promise<Mesh> => {
    const m = await createMesh({ controlPlane: `127.0.0.1:${server.securePort}`, token, service: 'reviews', initialFetchTimeoutMs: 10_000, drainTimeoutMs: 500 });
    meshes.push(m);
    return m;
  };

  test('a one-time token joins one mesh; a second is refused with a coded error; the first renews on', async () => {
    const token = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews', maxUses: 1 });
    const first = await join(token);
    assert.equal(first.identity, 'spiffe://cluster.local/ns/default/sa/reviews');
    await assert.rejects(join(token), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_USED' && /already used 1 of 1 time/.test(e.message));
    const before = tlsOf(first).current()!.serialNumber;
    const renewed = await tlsOf(first).identity.rotateNow();
    assert.notEqual(renewed.serialNumber, before);
    assert.equal(readTokenId(new X509Certificate(renewed.chainPem[0]!).raw), decodeJoinToken(token).jti, 'the renewal still names its token');
    // The token is still used up after the renewal (renewals do not count, nor give uses back).
    await assert.rejects(join(token), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_USED');
  });

  test('a token revoked through the admin API joins nothing and its mesh is not renewed; another token\'s mesh is', async () => {
    const revokedToken = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    const otherToken = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'reviews' });
    const doomed = await join(revokedToken);
    const other = await join(otherToken);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['token', 'revoke', '--server', `127.0.0.1:${server.adminPort}`, revokedToken], { info: (l) => out.push(l), error: (l) => err.push(l) });
    assert.equal(code, 0, err.join('\n'));
    assert.match(out[0]!, /^revoked jti /);

    await assert.rejects(join(revokedToken), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED' && /revoked at/.test(e.message));
    const held = leafOf(doomed);
    await assert.rejects(tlsOf(doomed).identity.rotateNow(), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_TOKEN_REVOKED' && /not renewed/.test(e.message));
    assert.equal(leafOf(doomed), held, 'the current SVID stays in use until it expires');
    await tlsOf(other).identity.rotateNow();

    const list = await fetch(`http://127.0.0.1:${server.adminPort}/tokens/revoked`).then((r) => r.json()) as Array<{ jti: string; spiffeId?: string }>;
    assert.deepEqual(list.map((e) => e.jti), [decodeJoinToken(revokedToken).jti]);
    const bad = await fetch(`http://127.0.0.1:${server.adminPort}/tokens/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jti": 1}' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'MESHLET_ERR_USAGE');
  });
});
