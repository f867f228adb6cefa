// The signer pool: certificates built on worker threads, coded errors carried back, a dead
// worker failing only its own jobs, the queue bound, and close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignerPool } from '../../../src/control/ca/signer.js';
import { lintSvid } from '../../../src/security/identity/svid-lint.js';
import { csrFor, testCa } from '../../helpers/ca.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

async function pool(options: { threads?: number; maxQueued?: number } = {}) {
  const { ca, dir, close } = await testCa();
  const init = {
    signingKeyPkcs8: createPrivateKey(await readFile(join(dir, 'root-key.pem'), 'utf8')).export({ type: 'pkcs8', format: 'der' }),
    signingCertDer: new X509Certificate(ca.roots()[0]!).raw,
  };
  const p = new SignerPool({ init, threads: options.threads ?? 2, ...(options.maxQueued !== undefined ? { maxQueued: options.maxQueued } : {}) });
  const job = async (uris = [ID]) => ({ csrPem: (await csrFor(uris)).csr, profile: { kind: 'svid' as const, spiffeId: ID }, notBefore: Date.now(), notAfter: Date.now() + 3600_000 });
  return { p, job, close: async () => { await p.close(); await close(); } };
}

test('signs a burst on worker threads; each certificate is a valid SVID', async (t) => {
  const { p, job, close } = await pool();
  t.after(close);
  const j = await job();
  const pems = await Promise.all(Array.from({ length: 40 }, () => p.sign(j)));
  assert.equal(new Set(pems).size, 40);
  for (const pem of pems.slice(0, 3)) assert.deepEqual(lintSvid(pem, { spiffeId: ID }).problems, []);
});

test('a worker refusal keeps its MeshError code', async (t) => {
  const { p, job, close } = await pool();
  t.after(close);
  await assert.rejects(p.sign(await job(['spiffe://cluster.local/ns/default/sa/admin'])), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_IDENTITY');
  await assert.rejects(p.sign({ ...(await job()), csrPem: 'junk' }), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_CSR');
});

test('a worker that dies fails only its in-flight jobs, and a new one takes over', async (t) => {
  const { p, job, close } = await pool({ threads: 1 });
  t.after(close);
  const j = await job();
  await p.sign(j); // the worker is up
  const slots = (p as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots;
  const inFlight = Promise.allSettled([p.sign(j), p.sign(j)]);
  await slots[0]!.worker.terminate();
  const settled = await inFlight;
  assert.ok(settled.some((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'MESHLET_ERR_CA_SIGNER'), 'in-flight jobs fail with MESHLET_ERR_CA_SIGNER');
  assert.deepEqual(lintSvid(await p.sign(j), { spiffeId: ID }).problems, [], 'the next job is signed by a new worker');
});

test('a full queue is MESHLET_ERR_CA_OVERLOADED; close() fails what is left with MESHLET_ERR_CLOSED', async (t) => {
  const { p, job, close } = await pool({ threads: 1, maxQueued: 5 });
  t.after(close);
  const j = await job();
  const jobs = Array.from({ length: 12 }, () => p.sign(j).then(() => 'ok', (e: { code: string }) => e.code));
  await p.close();
  const codes = await Promise.all(jobs);
  assert.ok(codes.includes('MESHLET_ERR_CA_OVERLOADED'), codes.join());
  assert.ok(codes.includes('MESHLET_ERR_CLOSED'), codes.join());
  await assert.rejects(p.sign(j), (e: { code?: string }) => e.code === 'MESHLET_ERR_CLOSED');
});
