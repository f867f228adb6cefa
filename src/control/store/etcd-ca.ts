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

/**
 * Keeps one server's CA directory and etcd's sealed copy in step after start-up, so that a trust
 * rotation made on one server reaches every server (and so the clients of every server, with
 * their next certificate): {@link publish} uploads what changed in the local directory (after the
 * server reloaded it, on SIGHUP), and {@link follow} watches `<prefix>ca/` and, when another
 * server published, writes the new files into the local directory and calls `onChange` (the
 * server reloads its CA). A change this server published itself comes back through the watch as
 * files identical to the local ones and triggers nothing.
 *
 * @example
 * ```ts
 * const sync = new CaDirSync(etcd, caDir, storeKey);
 * await sync.follow(() => ca.reload().then(() => undefined));
 * await ca.reload(); await sync.publish(); // after editing caDir
 * ```
 */
export class CaDirSync {
  private readonly prefix: string;
  private watch: { cancel(): Promise<void> } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private onChange: () => Promise<void> = async () => {};

  constructor(private readonly etcd: EtcdConnection, private readonly dir: string, private readonly key: Buffer) {
    this.prefix = `${etcd.target.prefix}ca/`;
  }

  /** Brings the directory up to etcd's copy, then follows etcd. `onChange` runs after each change written into the directory. */
  async follow(onChange: () => Promise<void>): Promise<void> {
    this.onChange = onChange;
    const { revision } = await this.resyncOnce();
    if (this.closed) return;
    this.watch = await this.etcd.watch(this.prefix, revision + 1, {
      put: (e) => this.changed(e.key),
      delete: (key) => this.changed(key),
      reset: () => this.changed(this.prefix),
    });
  }

  /** Uploads the CA files of the directory that differ from etcd's (and deletes the ones it no longer has); resolves how many changed. */
  async publish(): Promise<number> {
    const { entries } = await this.etcd.range(this.prefix);
    const stored = new Map(entries.map((e) => [e.key.slice(this.prefix.length), e.value]));
    const ops: Array<{ put: string; value: Buffer } | { delete: string }> = [];
    for (const name of Object.values(CA_FILES)) {
      const local = await readFile(join(this.dir, name)).catch(() => undefined);
      const remote = stored.get(name);
      if (local && (!remote || !open(this.key, `ca/${name}`, remote).equals(local))) ops.push({ put: this.prefix + name, value: seal(this.key, `ca/${name}`, local) });
      else if (!local && remote) ops.push({ delete: this.prefix + name });
    }
    if (ops.length > 0) {
      try {
        await this.etcd.commit(ops);
      } catch (err) {
        throw meshError('MESHLET_ERR_ETCD', `cannot store the reloaded CA in etcd: ${(err as Error).message}`, { cause: err });
      }
      log('published %d changed CA file(s) from %s to etcd', ops.length, this.dir);
    }
    return ops.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watch?.cancel();
    this.watch = undefined;
    await this.running?.catch(() => undefined);
  }

  private changed(key: string): void {
    if (this.closed || key === this.prefix + GUARD) return;
    // One resync at a time; events meanwhile (the rest of a multi-file transaction) run one more.
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const { wrote } = await this.resyncOnce();
          if (wrote > 0 && !this.closed) await this.onChange();
        } catch (err) {
          log('following the CA in etcd failed: %s', (err as Error).message);
        }
      } while (this.again && !this.closed);
    })().finally(() => { this.running = undefined; });
  }

  /** Writes etcd's CA files that differ from the directory's; resolves how many, and the revision read. */
  private async resyncOnce(): Promise<{ wrote: number; revision: number }> {
    const { entries, revision } = await this.etcd.range(this.prefix);
    if (!entries.some((e) => e.key === this.prefix + GUARD)) return { wrote: 0, revision };
    const wanted = new Set<string>(Object.values(CA_FILES));
    const have = new Set<string>();
    let wrote = 0;
    for (const e of entries) {
      const name = e.key.slice(this.prefix.length);
      if (!wanted.has(name)) continue;
      have.add(name);
      const plain = open(this.key, `ca/${name}`, e.value);
      const local = await readFile(join(this.dir, name)).catch(() => undefined);
      if (local?.equals(plain)) continue;
      await writeFile(join(this.dir, name), plain, { mode: 0o600 });
      wrote++;
    }
    for (const name of wanted) {
      if (have.has(name)) continue;
      const existed = await readFile(join(this.dir, name)).then(() => true, () => false);
      if (existed) {
        await rm(join(this.dir, name), { force: true });
        wrote++;
      }
    }
    if (wrote > 0) log('wrote %d changed CA file(s) from etcd into %s', wrote, this.dir);
    return { wrote, revision };
  }
}
