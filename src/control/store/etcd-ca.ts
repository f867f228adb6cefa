import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CA_FILES, loadOrCreateCa } from '../ca/files.js';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { EtcdConnection } from './etcd-client.js';
import { open, seal } from './store-key.js';

const log = trace('store');

/** The key whose creation decides which server's CA every server uses. */
const GUARD = '.created';

/**
 * Makes every control server on one etcd sign with the same CA: the CA directory's files (root
 * or plug-in intermediate, its key, the join-token key) live in etcd under `<prefix>ca/`, each
 * sealed with the operator's store key (AES-256-GCM, store-key.ts), and are written into the
 * local CA directory (0600 files in a 0700 directory) before the CA opens it. The first server
 * to start on an empty etcd uploads its directory (created by the CA code, or an Istio plug-in
 * CA the operator put there) in one create-if-absent transaction; a server that loses that race
 * takes the winner's files instead. The CA itself is unchanged: it reads its directory as ever.
 *
 * @example
 * ```ts
 * await syncCaDir(etcd, '/var/lib/meshlet/ca', loadStoreKey({ file: 'store.key' }));
 * const ca = await CertificateAuthority.open({ dir: '/var/lib/meshlet/ca' });
 * ```
 */
export async function syncCaDir(etcd: EtcdConnection, dir: string, key: Buffer, options: { trustDomain?: string } = {}): Promise<'downloaded' | 'uploaded'> {
  const prefix = `${etcd.target.prefix}ca/`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await download(etcd, prefix, dir, key)) return 'downloaded';
  // Nothing in etcd yet: the CA code creates (or validates) the directory, then we offer it.
  await loadOrCreateCa(dir, options);
  const files: Array<{ key: string; value: Buffer }> = [];
  for (const name of Object.values(CA_FILES)) {
    const data = await readFile(join(dir, name)).catch(() => undefined);
    if (data) files.push({ key: prefix + name, value: seal(key, `ca/${name}`, data) });
  }
  files.push({ key: prefix + GUARD, value: Buffer.from(new Date().toISOString()) });
  if (await etcd.createIfAbsent(prefix + GUARD, files)) {
    log('uploaded the CA in %s to etcd (%d files, sealed)', dir, files.length - 1);
    return 'uploaded';
  }
  if (!(await download(etcd, prefix, dir, key))) throw meshError('MESHLET_ERR_ETCD', 'another server created the CA in etcd, but it cannot be read back');
  return 'downloaded';
}

/** Writes etcd's CA files into `dir` (removing CA files etcd does not have); false when etcd has none. */
async function download(etcd: EtcdConnection, prefix: string, dir: string, key: Buffer): Promise<boolean> {
  const { entries } = await etcd.range(prefix);
  if (!entries.some((e) => e.key === prefix + GUARD)) return false;
  const wanted = new Set<string>(Object.values(CA_FILES));
  const have = new Set<string>();
  for (const e of entries) {
    const name = e.key.slice(prefix.length);
    if (!wanted.has(name)) continue;
    await writeFile(join(dir, name), open(key, `ca/${name}`, e.value), { mode: 0o600 });
    have.add(name);
  }
  for (const name of wanted) if (!have.has(name)) await rm(join(dir, name), { force: true });
  log('wrote the CA from etcd into %s (%d files)', dir, have.size);
  return true;
}
