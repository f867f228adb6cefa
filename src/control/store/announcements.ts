import { join } from 'node:path';
import { meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { Announcement } from '../model.js';
import { CoalescingWriter, readOwnFile } from './state-file.js';

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
  private readonly writer: CoalescingWriter;

  constructor(readonly dir: string) {
    this.path = join(dir, ANNOUNCEMENTS_FILE);
    this.writer = new CoalescingWriter(dir, this.path);
  }

  /**
   * Reads the persisted announcements; `undefined` when there is no file yet. A corrupt file
   * throws MESHLET_ERR_STORE naming it (starting without it would silently drop services).
   */
  async load(): Promise<Announcement[] | undefined> {
    const text = await readOwnFile(this.path, MAX_STATE_BYTES);
    if (text === undefined) return undefined;
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
    this.writer.save(() => JSON.stringify({ version: 1, savedAt: new Date().toISOString(), announcements } satisfies StateFile));
  }

  /** Resolves once every scheduled write has reached the disk. */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}

/** Shape check of an announcement read back from disk or etcd (written by a meshlet server, but files and etcd can be edited). */
export function isAnnouncement(v: unknown): v is Announcement {
  const a = v as Partial<Announcement> | null;
  return typeof a === 'object' && a !== null && typeof a.nodeId === 'string' && typeof a.service === 'string'
    && typeof a.namespace === 'string' && typeof a.address === 'string' && Array.isArray(a.ports)
    && typeof a.labels === 'object' && a.labels !== null;
}
