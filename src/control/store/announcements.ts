import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMeshError, meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { Announcement } from '../model.js';

const log = trace('store');

/** File name of the announcement state inside a state directory. */
export const ANNOUNCEMENTS_FILE = 'announcements.json';

/** Largest state file read back (the registry's own limits keep real files far below it). */
const MAX_STATE_BYTES = 64 * 1024 * 1024;

interface StateFile {
  version: 1;
  savedAt: string;
  announcements: Announcement[];
}

/**
 * Announced endpoints persisted in a state directory, so that a restarted control server serves
 * every service that was in the mesh before it went down (Kubernetes keeps endpoints in etcd for
 * istiod; this file plays that part for announcements).
 *
 * Writes are atomic (temp file, fsync, rename): a SIGKILL mid-write leaves the previous file.
 * `save()` coalesces: while one write runs, later calls collapse into one more write of the
 * newest list, so churn costs at most one write in flight.
 *
 * @example
 * ```ts
 * const file = new AnnouncementFile('/var/lib/meshlet');
 * const before = await file.load();          // undefined on first start
 * registry.onChange(() => file.save(registry.list()));
 * await file.flush();                        // on close
 * ```
 */
export class AnnouncementFile {
  readonly path: string;
  private pending: Announcement[] | undefined;
  private writing: Promise<void> | undefined;

  constructor(readonly dir: string) {
    this.path = join(dir, ANNOUNCEMENTS_FILE);
  }

  /**
   * Reads the persisted announcements; `undefined` when there is no file yet. A corrupt file
   * throws MESHLET_ERR_STORE naming it (starting without it would silently drop services).
   */
  async load(): Promise<Announcement[] | undefined> {
    let text: string;
    try {
      // Only a file this user wrote counts: the default state dir sits in the shared temp dir.
      const s = await stat(this.path);
      const uid = process.getuid?.();
      if (uid !== undefined && s.uid !== uid) throw meshError('MESHLET_ERR_STORE', `${this.path} belongs to another user (uid ${s.uid}); refusing to load it`);
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (isMeshError(err)) throw err;
      throw meshError('MESHLET_ERR_STORE', `cannot read ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    if (text.length > MAX_STATE_BYTES) throw meshError('MESHLET_ERR_STORE', `${this.path} is over ${MAX_STATE_BYTES} bytes`);
    try {
      const parsed = JSON.parse(text) as Partial<StateFile>;
      if (parsed.version !== 1 || !Array.isArray(parsed.announcements)) throw new Error('not a meshlet announcement state (version 1)');
      const out = parsed.announcements.filter(isAnnouncement);
      log('loaded %d announcement(s) from %s (saved %s)', out.length, this.path, parsed.savedAt);
      return out;
    } catch (err) {
      throw meshError('MESHLET_ERR_STORE', `cannot parse ${this.path}: ${(err as Error).message}; move it away to start without the saved announcements`, { cause: err });
    }
  }

  /** Schedules a write of `announcements` (coalesced with writes already queued). */
  save(announcements: Announcement[]): void {
    this.pending = announcements;
    this.writing ??= this.drain();
  }

  /** Resolves once every scheduled write has reached the disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const list = this.pending;
        this.pending = undefined;
        await this.write(list).catch((err) => log('cannot persist announcements to %s: %o', this.path, err));
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async write(announcements: Announcement[]): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const body: StateFile = { version: 1, savedAt: new Date().toISOString(), announcements };
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(body));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

function isAnnouncement(v: unknown): v is Announcement {
  const a = v as Partial<Announcement> | null;
  return typeof a === 'object' && a !== null && typeof a.nodeId === 'string' && typeof a.service === 'string'
    && typeof a.namespace === 'string' && typeof a.address === 'string' && Array.isArray(a.ports)
    && typeof a.labels === 'object' && a.labels !== null;
}
