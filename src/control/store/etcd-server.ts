/**
 * What `createControlServer({ store: 'etcd://…' })` loads (dynamically, so servers on files
 * never import etcd3): one etcd connection shared by the config store, the announcements and
 * the CA directory sync.
 */
import type { AnnouncementSource } from '../registry/announced.js';
import { connectEtcd, parseEtcdUrl } from './etcd-client.js';
import { EtcdStore } from './etcd.js';
import { SharedAnnouncements } from './etcd-announcements.js';
import { CaDirSync, syncCaDir } from './etcd-ca.js';
import { SharedRevocations } from './etcd-revocations.js';
import type { TokenRevocations } from '../ca/revocations.js';
import type { TokenUses } from '../ca/token-uses.js';
import { SharedTokenUses } from './etcd-token-uses.js';
import { loadStoreKey } from './store-key.js';

/** The parts of one etcd backend a control server wires in. */
export interface EtcdBackend {
  store: EtcdStore;
  announcements(local: AnnouncementSource): SharedAnnouncements;
  /** Brings `dir` to etcd's CA (or uploads it to an empty etcd); resolves what then keeps the two in step. */
  syncCa(dir: string, options: { storeKeyFile?: string; trustDomain?: string }): Promise<CaDirSync>;
  /** Counts the uses of bounded join tokens in etcd (one count for every server). */
  shareTokenUses(uses: TokenUses): void;
  /** Shares the CA's token revocations through etcd (read, watched, new ones written there). */
  shareRevocations(revocations: TokenRevocations): Promise<SharedRevocations>;
  close(): void;
}

/**
 * Connects to the etcd members of `url` (no request yet: the stores' `start()` makes the first).
 *
 * @example
 * ```ts
 * const etcd = await openEtcdBackend('etcd://127.0.0.1:2379', { leaseTtlSeconds: 10 });
 * await etcd.store.start();
 * ```
 */
export async function openEtcdBackend(url: string, options: { leaseTtlSeconds?: number }): Promise<EtcdBackend> {
  const conn = await connectEtcd(parseEtcdUrl(url));
  return {
    store: new EtcdStore(conn),
    announcements: (local) => new SharedAnnouncements(conn, local, options.leaseTtlSeconds !== undefined ? { leaseTtlSeconds: options.leaseTtlSeconds } : {}),
    async syncCa(dir, o) {
      const key = loadStoreKey(o.storeKeyFile !== undefined ? { file: o.storeKeyFile } : {});
      await syncCaDir(conn, dir, key, o.trustDomain !== undefined ? { trustDomain: o.trustDomain } : {});
      return new CaDirSync(conn, dir, key);
    },
    shareTokenUses: (uses) => uses.setShare(new SharedTokenUses(conn)),
    async shareRevocations(revocations) {
      const shared = new SharedRevocations(conn, revocations);
      await shared.start();
      return shared;
    },
    close: () => conn.close(),
  };
}
