/**
 * The one place meshlet talks to etcd: `etcd://host:2379[,host:2379…][/prefix]` parsed, the
 * `etcd3` client (an optional peer dependency, loaded only when an etcd store is asked for)
 * wrapped in the few calls the stores need: a prefix range, puts and deletes in bounded
 * transactions, create-if-absent, a lease with keep-alive, and a prefix watch that resumes from
 * the last revision seen (and reloads when etcd compacted past it).
 *
 * Why `etcd3` and not hand-declared protos over grpc-js: it is maintained, already speaks the
 * whole v3 API (lease keep-alive streams, watch multiplexing and resumption, per-host circuit
 * breaking across the members), and as an *optional* peer it costs a meshlet install nothing
 * unless `--store etcd://` is used (issue 10 kept the dependencies at six).
 */
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';

const log = trace('etcd');

/** Largest value written or accepted from etcd (etcd's own default request limit is 1.5 MiB). */
export const MAX_ETCD_VALUE_BYTES = 1024 * 1024;
/** etcd's default `--max-txn-ops`. */
const MAX_TXN_OPS = 128;

/** A parsed `etcd://` store URL. */
export interface EtcdTarget {
  /** `http://host:port` per member. */
  hosts: string[];
  /** Key prefix every meshlet key lives under; ends with `/`. */
  prefix: string;
}

/**
 * Parses `etcd://host:2379[,host:2379…][/prefix]` (prefix default `/meshlet/`). Throws
 * MESHLET_ERR_USAGE on anything else.
 *
 * @example
 * ```ts
 * parseEtcdUrl('etcd://10.0.0.1:2379,10.0.0.2:2379/prod');
 * // { hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], prefix: '/prod/' }
 * ```
 */
export function parseEtcdUrl(url: string): EtcdTarget {
  const m = /^etcd:\/\/([^/]+)(\/[A-Za-z0-9._\-/]*)?$/.exec(url);
  if (!m || url.length > 2048) throw meshError('MESHLET_ERR_USAGE', `not an etcd store URL: ${JSON.stringify(url.slice(0, 200))}; expected etcd://host:2379[,host:2379…][/prefix]`);
  const hosts = m[1]!.split(',').map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0 || hosts.length > 32) throw meshError('MESHLET_ERR_USAGE', `etcd store URL needs 1-32 host:port members, got ${hosts.length}`);
  for (const h of hosts) {
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(h)) throw meshError('MESHLET_ERR_USAGE', `etcd member ${JSON.stringify(h)} is not host:port`);
  }
  const path = (m[2] ?? '').replace(/\/+$/, '');
  return { hosts: hosts.map((h) => `http://${h}`), prefix: `${path === '' ? '/meshlet' : path}/` };
}

/** One key-value as the stores see it. */
export interface EtcdEntry {
  key: string;
  value: Buffer;
  /** etcd mod_revision (a decimal string in etcd's API; numbers fit up to 2^53). */
  modRevision: number;
  lease: string;
}

/** A put (with an optional lease) or a delete inside one transaction. */
export type EtcdOp = { put: string; value: Buffer; lease?: string } | { delete: string };

/** Handlers of {@link EtcdConnection.watch}. */
export interface EtcdWatchHandlers {
  put(entry: EtcdEntry): void;
  delete(key: string, modRevision: number): void;
  /** The watch could not resume (compaction, a lost member): reload with a fresh range. */
  reset(): void;
}

/** A lease this process holds; `lost` fires when etcd expired it (keys under it are gone). */
export interface EtcdLease {
  id(): Promise<string>;
  onLost(fn: () => void): void;
  /** Revokes the lease (its keys go at once); best effort. */
  revoke(): Promise<void>;
  /** Stops renewing: etcd expires the lease (and its keys) after its TTL. */
  release(): void;
}

/** What the etcd stores use; {@link connectEtcd} makes one. */
export interface EtcdConnection {
  readonly target: EtcdTarget;
  /** Every key under `prefix` (relative to nothing: full keys) and the revision of the read. */
  range(prefix: string): Promise<{ entries: EtcdEntry[]; revision: number }>;
  /** Runs ops in transactions of at most 128 ops each; resolves the last header revision. */
  commit(ops: EtcdOp[]): Promise<number>;
  /** Deletes one key; resolves whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Writes every entry only when none of `guardKey` exists yet; resolves whether it did. */
  createIfAbsent(guardKey: string, entries: Array<{ key: string; value: Buffer }>): Promise<boolean>;
  lease(ttlSeconds: number): EtcdLease;
  /**
   * Puts `key` only if its mod revision is still `expectedModRevision` (0: only if it does not
   * exist); resolves whether it did (etcd's compare-and-swap, one transaction).
   */
  compareAndPut(key: string, expectedModRevision: number, value: Buffer, lease?: string): Promise<boolean>;
  /** A lease nobody renews: keys put under it go when `ttlSeconds` have passed. Resolves its id. */
  grantLease(ttlSeconds: number): Promise<string>;
  /** Watches `prefix` from `fromRevision` (inclusive). */
  watch(prefix: string, fromRevision: number, handlers: EtcdWatchHandlers): Promise<{ cancel(): Promise<void> }>;
  close(): void;
}

/** The bit of the etcd3 module we use (typed locally: meshlet's own types must not need etcd3). */
interface Etcd3Module {
  Etcd3: new (options: Record<string, unknown>) => Etcd3Client;
}
interface Etcd3Client {
  kv: {
    range(req: Record<string, unknown>): Promise<{ header: { revision: string }; kvs: RawKv[] }>;
    txn(req: Record<string, unknown>): Promise<{ header: { revision: string }; succeeded: boolean }>;
    deleteRange(req: Record<string, unknown>): Promise<{ deleted: string }>;
  };
  lease(ttl: number, options?: Record<string, unknown>): RawLease;
  watch(): { prefix(p: string): { startRevision(r: string): { create(): Promise<RawWatcher> } } };
  close(): void;
}
interface RawKv { key: Buffer; value: Buffer; mod_revision: string; lease: string }
interface RawLease { grant(): Promise<string>; revoke(): Promise<void>; release(): void; on(e: 'lost', fn: (err: Error) => void): void }
interface RawWatcher {
  on(e: 'put' | 'delete', fn: (kv: RawKv) => void): void;
  on(e: 'error' | 'disconnected', fn: (err: Error) => void): void;
  cancel(): Promise<void>;
}

/** `prefix` + 1 on the last byte: the range_end of "every key starting with prefix". */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  b[b.length - 1] = b[b.length - 1]! + 1;
  return b;
}

/** A cockatiel-shaped backoff (what etcd3's watch manager calls): 100 ms doubling, capped at 5 s, ±20 % jitter. */
function watchBackoff(ms: number): { duration: number; next(): unknown } {
  return { duration: Math.round(ms * (0.8 + 0.4 * Math.random())), next: () => watchBackoff(Math.min(ms * 2, 5000)) };
}

function entryOf(kv: RawKv): EtcdEntry {
  return { key: kv.key.toString(), value: kv.value ?? Buffer.alloc(0), modRevision: Number(kv.mod_revision), lease: String(kv.lease ?? '0') };
}

/**
 * Loads `etcd3` and connects to the members of `target`. Throws MESHLET_ERR_ETCD when the
 * package is missing (it is an optional peer dependency: `npm install etcd3`).
 *
 * @example
 * ```ts
 * const etcd = await connectEtcd(parseEtcdUrl('etcd://127.0.0.1:2379'));
 * const { entries } = await etcd.range(etcd.target.prefix + 'config/');
 * ```
 */
export async function connectEtcd(target: EtcdTarget, options: { dialTimeoutMs?: number } = {}): Promise<EtcdConnection> {
  let mod: Etcd3Module;
  try {
    mod = (await import('etcd3' as string)) as Etcd3Module;
  } catch (err) {
    throw meshError('MESHLET_ERR_ETCD', 'the etcd store needs the optional peer dependency etcd3: run `npm install etcd3`', { cause: err });
  }
  const client = new mod.Etcd3({
    hosts: target.hosts,
    dialTimeout: options.dialTimeoutMs ?? 3000,
    // Bounded watch reconnects: 100 ms doubling to 5 s, so a watch is back within seconds of a
    // member returning, and a dead cluster costs one attempt per 5 s.
    faultHandling: { watchBackoff: watchBackoff(100) },
  });
  log('etcd client for %o, prefix %s', target.hosts, target.prefix);
  const check = (key: string, value?: Buffer): void => {
    if (value && value.length > MAX_ETCD_VALUE_BYTES) throw meshError('MESHLET_ERR_STORE', `value of ${key} is ${value.length} bytes, over the ${MAX_ETCD_VALUE_BYTES}-byte limit`);
  };
  return {
    target,
    async range(prefix) {
      const res = await client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) });
      return { entries: res.kvs.map(entryOf), revision: Number(res.header.revision) };
    },
    async commit(ops) {
      let revision = 0;
      for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
        const success = ops.slice(i, i + MAX_TXN_OPS).map((op) => {
          if ('delete' in op) return { request_delete_range: { key: Buffer.from(op.delete) } };
          check(op.put, op.value);
          return { request_put: { key: Buffer.from(op.put), value: op.value, ...(op.lease ? { lease: op.lease } : {}) } };
        });
        const res = await client.kv.txn({ compare: [], success, failure: [] });
        revision = Number(res.header.revision);
      }
      return revision;
    },
    async delete(key) {
      const res = await client.kv.deleteRange({ key: Buffer.from(key) });
      return Number(res.deleted) > 0;
    },
    async createIfAbsent(guardKey, entries) {
      for (const e of entries) check(e.key, e.value);
      const res = await client.kv.txn({
        compare: [{ key: Buffer.from(guardKey), target: 'Create', result: 'Equal', create_revision: 0 }],
        success: entries.map((e) => ({ request_put: { key: Buffer.from(e.key), value: e.value } })),
        failure: [],
      });
      return res.succeeded;
    },
    lease(ttlSeconds) {
      const raw = client.lease(ttlSeconds, { autoKeepAlive: true });
      const lost: Array<() => void> = [];
      raw.on('lost', (err) => {
        log('lease lost: %s', err.message);
        for (const fn of lost) fn();
      });
      return { id: () => raw.grant(), onLost: (fn) => void lost.push(fn), revoke: () => raw.revoke().catch(() => {}), release: () => raw.release() };
    },
    async compareAndPut(key, expectedModRevision, value, lease) {
      check(key, value);
      const compare = expectedModRevision === 0
        ? { key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 }
        : { key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: expectedModRevision };
      const res = await client.kv.txn({
        compare: [compare],
        success: [{ request_put: { key: Buffer.from(key), value, ...(lease && lease !== '0' ? { lease } : {}) } }],
        failure: [],
      });
      return res.succeeded;
    },
    async grantLease(ttlSeconds) {
      const raw = client.lease(ttlSeconds, { autoKeepAlive: false });
      try {
        return await raw.grant();
      } finally {
        raw.release();
      }
    },
    async watch(prefix, fromRevision, handlers) {
      const w = await client.watch().prefix(prefix).startRevision(String(fromRevision)).create();
      w.on('put', (kv) => handlers.put(entryOf(kv)));
      w.on('delete', (kv) => handlers.delete(kv.key.toString(), Number(kv.mod_revision)));
      w.on('error', (err) => {
        log('watch of %s failed: %s; reloading', prefix, err.message);
        handlers.reset();
      });
      return { cancel: () => w.cancel().catch(() => {}) };
    },
    close: () => client.close(),
  };
}
