// CertificateAuthority.reload(): the steps of a root rotation read from the CA directory (a root
// appended, then a new signing key and root), a directory that no longer loads or names another
// trust domain leaves the CA as it was, and jobs already on the old signer's workers finish.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { csrFor, tempDir } from '../../helpers/ca.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const f of cleanup.reverse()) await f(); });

async function caDir(trustDomain?: string): Promise<string> {
  const t = await tempDir();
  cleanup.push(t.remove);
  await (await CertificateAuthority.open({ dir: t.dir, signerThreads: 0, ...(trustDomain ? { trustDomain } : {}) })).close();
  return t.dir;
}

const issuerOf = (leafPem: string, roots: string[]) => roots.findIndex((r) => new X509Certificate(leafPem).verify(new X509Certificate(r).publicKey));

describe('CertificateAuthority.reload', () => {
  test('a root appended to root-cert.pem joins the bundle; a new key and root then sign', async () => {
    const dir = await caDir();
    const other = await caDir();
    const ca = await CertificateAuthority.open({ dir, signerThreads: 1 });
    cleanup.push(() => ca.close());
    const [rootA] = ca.roots();
    const rootB = await readFile(join(other, 'root-cert.pem'), 'utf8');
    const changes: unknown[] = [];
    ca.onChange((c) => changes.push(c));

    await writeFile(join(dir, 'root-cert.pem'), rootA! + rootB);
    assert.deepEqual(await ca.reload(), { rootsChanged: true, signerChanged: false });
    const step1 = await ca.signSvid((await csrFor([ID])).csr, ID);
    assert.equal(step1.roots.length, 2);
    assert.equal(issuerOf(step1.chain[0]!, [rootA!, rootB]), 0, 'still signed by root A');

    await writeFile(join(dir, 'root-key.pem'), await readFile(join(other, 'root-key.pem')));
    await writeFile(join(dir, 'root-cert.pem'), rootB + rootA!);
    const fingerprintA = ca.rootFingerprint;
    assert.deepEqual(await ca.reload(), { rootsChanged: true, signerChanged: true });
    const step2 = await ca.signSvid((await csrFor([ID])).csr, ID);
    assert.equal(issuerOf(step2.chain[0]!, [rootA!, rootB]), 1, 'now signed by root B');
    assert.notEqual(ca.rootFingerprint, fingerprintA, 'new join tokens pin root B');
    assert.equal(changes.length, 2);
  });

  test('a directory that no longer loads, or holds another trust domain, leaves the CA as it was', async () => {
    const dir = await caDir();
    const foreign = await caDir('example.org');
    const ca = await CertificateAuthority.open({ dir, signerThreads: 0 });
    cleanup.push(() => ca.close());
    const before = ca.roots();
    await writeFile(join(dir, 'root-cert.pem'), 'not a certificate');
    await assert.rejects(ca.reload(), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_DIR');
    await writeFile(join(dir, 'root-key.pem'), await readFile(join(foreign, 'root-key.pem')));
    await writeFile(join(dir, 'root-cert.pem'), await readFile(join(foreign, 'root-cert.pem')));
    await assert.rejects(ca.reload(), (e: { code?: string; message: string }) => e.code === 'MESHLET_ERR_CA_DIR' && /example\.org/.test(e.message));
    assert.deepEqual(ca.roots(), before);
    const issued = await ca.signSvid((await csrFor([ID])).csr, ID);
    assert.equal(issuerOf(issued.chain[0]!, before), 0);
  });

  test('jobs in flight on the old signer workers finish after a reload', async () => {
    const dir = await caDir();
    const ca = await CertificateAuthority.open({ dir, signerThreads: 1 });
    cleanup.push(() => ca.close());
    const csrs = await Promise.all(Array.from({ length: 8 }, () => csrFor([ID])));
    const inFlight = csrs.map((c) => ca.signSvid(c.csr, ID));
    await ca.reload();
    const done = await Promise.all([...inFlight, ca.signSvid(csrs[0]!.csr, ID)]);
    assert.equal(done.length, 9);
  });
});
