import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import type { Announcement } from '../model.js';
import type { AnnouncementSource } from '../registry/announced.js';
import type { EtcdConnection, EtcdEntry, EtcdLease, EtcdOp } from './etcd-client.js';
import { isAnnouncement } from './announcements.js';

const log = trace('store');

/** Default lease TTL: how long a killed server's announcements outlive it (its clients re-announce elsewhere within seconds). */
export const DEFAULT_ANNOUNCEMENT_LEASE_SECONDS = 15;
/** Most announcements read from etcd; more are ignored (a bound on memory). */
export const MAX_ETCD_ANNOUNCEMENTS = 100_000;
const MAX_ANNOUNCEMENT_BYTES = 64 * 1024;

interface Remote {
  nodeId: string;
  server: string;
  announcement: Announcement;
  modRevision: number;
}

/** Options of {@link SharedAnnouncements}. */
export interface SharedAnnouncementsOptions {
  /** This server's id in keys; default `<hostname>-<pid>-<random>` (new per start, so a restart never reuses a dead lease's keys). */
  serverId?: string;
  /** Lease TTL, seconds. Default 15. */
  leaseTtlSeconds?: number;
}

/**
 * The announced endpoints of every control server sharing one etcd: this server's own (its ADS
 * streams, the local {@link AnnouncementSource}) are written under
 * `<prefix>announcements/<node id>/<server id>` with this server's lease, and every server's are
 * read back through a prefix watch. `list()` is the union by node id (a node that failed over
 * is under two servers for a moment: the newest write wins; this server's own streams win over
 * etcd), what the `announced` service source reads.
 *
 * A server that dies stops renewing its lease and etcd deletes its announcements after the TTL,
 * by when its clients have re-announced through another server. A server that closes does not
 * revoke its lease either (its clients need the moment to move), it only stops renewing it.
 *
 * @example
 * ```ts
 * const shared = new SharedAnnouncements(etcd, registry);
 * await shared.start();
 * new AnnouncedRegistry(shared, 'cluster.local');
 * ```
 */
export class SharedAnnouncements implements AnnouncementSource {
  readonly serverId: string;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly remote = new Map<string, Remote>();
  private readonly changed = new Emitter<void>((err) => log('announcement listener threw: %o', err));
  private merged: Announcement[] | undefined;
  /** nodeId → JSON written under our lease. */
  private written = new Map<string, string>();
  private lease: EtcdLease | undefined;
  private leaseId: string | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  private watch: { cancel(): Promise<void> } | undefined;
  private subs: Disposable[] = [];
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly etcd: EtcdConnection, private readonly local: AnnouncementSource, options: SharedAnnouncementsOptions = {}) {
    this.serverId = options.serverId ?? `${hostname().replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.prefix = `${etcd.target.prefix}announcements/`;
    this.ttl = Math.max(2, Math.min(3600, options.leaseTtlSeconds ?? DEFAULT_ANNOUNCEMENT_LEASE_SECONDS));
  }

  /** Whether etcd held announcements when this server started (the view is a restart's, not a first start's). */
  restored = false;

  list(): readonly Announcement[] {
    if (this.merged) return this.merged;
    const byNode = new Map<string, Remote>();
    for (const r of this.remote.values()) {
      const had = byNode.get(r.nodeId);
      if (!had || r.modRevision > had.modRevision) byNode.set(r.nodeId, r);
    }
    const out = new Map<string, Announcement>([...byNode].map(([n, r]) => [n, r.announcement]));
    for (const a of this.local.list()) out.set(a.nodeId, a);
    this.merged = [...out.keys()].sort().map((n) => out.get(n)!);
    return this.merged;
  }

  onChange(listener: () => void): Disposable {
    return this.changed.on(listener);
  }

  /** Reads every server's announcements, watches them, grants the lease and writes ours. */
  async start(): Promise<void> {
    try {
      const { entries, revision } = await this.etcd.range(this.prefix);
      for (const e of entries.slice(0, MAX_ETCD_ANNOUNCEMENTS)) this.ingest(e);
      this.restored = this.remote.size > 0;
      this.watch = await this.etcd.watch(this.prefix, revision + 1, {
        put: (e) => this.ingest(e, true),
        delete: (key) => this.drop(key),
        reset: () => void this.reload(),
      });
      await this.grant();
    } catch (err) {
      throw meshError('MESHLET_ERR_ETCD', `cannot read announcements from etcd ${this.etcd.target.hosts.join(',')}: ${(err as Error).message}`, { cause: err });
    }
    this.subs.push(this.local.onChange(() => {
      this.touch();
      this.sync();
    }));
    this.sync();
    log('shared announcements: %d from etcd, server id %s, lease ttl %d s', this.remote.size, this.serverId, this.ttl);
  }

  /** Resolves once what the local source holds now is written (tests, close). */
  async flush(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /** Stops watching and renewing; the lease runs out on its own (see class doc). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const s of this.subs) s.dispose();
    await this.flush().catch(() => {});
    await this.watch?.cancel();
    this.lease?.release();
    this.changed.clear();
  }

  private async grant(): Promise<void> {
    const lease = this.etcd.lease(this.ttl);
    this.lease = lease;
    this.leaseId = await lease.id();
    lease.onLost(() => {
      if (this.closed || this.lease !== lease) return;
      // etcd dropped our keys with the lease: a new lease, everything written again.
      log('announcement lease lost; granting a new one');
      this.leaseId = undefined;
      this.written = new Map();
      void this.grant().then(() => this.sync(), () => this.later());
    });
  }

  /** Brings etcd in line with the local source; one write in flight, later calls coalesce. */
  private sync(): void {
    if (this.closed && this.syncing === undefined) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = this.write().finally(() => {
      this.syncing = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.sync();
      }
    });
  }

  private async write(): Promise<void> {
    const lease = this.leaseId;
    if (lease === undefined) return;
    const want = new Map(this.local.list().map((a) => [a.nodeId, JSON.stringify(a)]));
    const ops: EtcdOp[] = [];
    for (const [node, json] of want) if (this.written.get(node) !== json) ops.push({ put: this.keyOf(node), value: Buffer.from(json), lease });
    for (const node of this.written.keys()) if (!want.has(node)) ops.push({ delete: this.keyOf(node) });
    if (ops.length === 0) return;
    try {
      await this.etcd.commit(ops);
      this.written = want;
    } catch (err) {
      log('writing %d announcement op(s) failed: %s; retrying', ops.length, (err as Error).message);
      this.later();
    }
  }

  private later(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.leaseId === undefined) void this.grant().then(() => this.sync(), () => this.later());
      else this.sync();
    }, 1000);
    this.retry.unref();
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    try {
      const { entries, revision } = await this.etcd.range(this.prefix);
      this.remote.clear();
      for (const e of entries.slice(0, MAX_ETCD_ANNOUNCEMENTS)) this.ingest(e);
      await this.watch?.cancel();
      this.watch = await this.etcd.watch(this.prefix, revision + 1, { put: (e) => this.ingest(e, true), delete: (key) => this.drop(key), reset: () => void this.reload() });
      this.touch();
    } catch (err) {
      log('reloading announcements failed: %s', (err as Error).message);
      setTimeout(() => void this.reload(), 1000).unref();
    }
  }

  private ingest(e: EtcdEntry, notify = false): void {
    const rest = e.key.slice(this.prefix.length);
    const slash = rest.lastIndexOf('/');
    const server = rest.slice(slash + 1);
    if (slash <= 0 || server === this.serverId) return;
    if (!this.remote.has(e.key) && this.remote.size >= MAX_ETCD_ANNOUNCEMENTS) return;
    let a: unknown;
    try {
      a = e.value.length <= MAX_ANNOUNCEMENT_BYTES ? JSON.parse(e.value.toString('utf8')) : undefined;
    } catch {
      a = undefined;
    }
    let nodeId: string;
    try {
      nodeId = decodeURIComponent(rest.slice(0, slash));
    } catch {
      return;
    }
    if (!isAnnouncement(a) || a.nodeId !== nodeId) {
      log('%s ignored: not an announcement of node %s', e.key, nodeId);
      return;
    }
    const old = this.remote.get(e.key);
    if (old && old.modRevision >= e.modRevision) return;
    // Unchanged content keeps its object: the announced source diffs by identity.
    const same = old !== undefined && JSON.stringify(old.announcement) === JSON.stringify(a);
    this.remote.set(e.key, { nodeId, server, announcement: same ? old.announcement : a, modRevision: e.modRevision });
    if (notify) this.touch();
  }

  private drop(key: string): void {
    if (this.remote.delete(key)) this.touch();
  }

  private touch(): void {
    this.merged = undefined;
    if (!this.closed) this.changed.fire();
  }

  private keyOf(nodeId: string): string {
    return `${this.prefix}${encodeURIComponent(nodeId)}/${this.serverId}`;
  }
}
