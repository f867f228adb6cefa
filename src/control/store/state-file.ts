import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMeshError, meshError } from '../../errors.js';
import { trace } from '../../internal/debug.js';

const log = trace('store');

/**
 * Writes `text` to `path` so that a reader (or a SIGKILL at any point) sees the old file or the
 * new one, never a torn one: temp file (0600) in the same directory, fsync, rename.
 */
export async function writeAtomic(dir: string, path: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * One state file written atomically, coalescing: while one write runs, later `save()` calls
 * collapse into one more write of the newest content, so churn costs at most one write in flight.
 * A failed write is logged (the next save tries again); the server keeps serving from memory.
 *
 * @example
 * ```ts
 * const w = new CoalescingWriter(dir, join(dir, 'state.json'));
 * w.save(() => JSON.stringify(state)); // serialised when the write starts, not per call
 * await w.flush();
 * ```
 */
export class CoalescingWriter {
  private pending: (() => string) | undefined;
  private writing: Promise<void> | undefined;
  private swept = false;

  constructor(readonly dir: string, readonly path: string) {}

  /** Schedules a write of `render()`'s text (called once the write starts). */
  save(render: () => string): void {
    this.pending = render;
    this.writing ??= this.drain();
  }

  /** Resolves once every scheduled write has reached the disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      if (!this.swept) {
        this.swept = true;
        await this.sweep();
      }
      while (this.pending) {
        const render = this.pending;
        this.pending = undefined;
        await writeAtomic(this.dir, this.path, render()).catch((err) => log('cannot persist %s: %o', this.path, err));
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Removes temp files a killed predecessor left mid-write (`<name>.<pid>.tmp`). */
  private async sweep(): Promise<void> {
    const prefix = `${basename(this.path)}.`;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith('.tmp') && name !== `${prefix}${process.pid}.tmp`) {
        await rm(join(this.dir, name), { force: true }).catch(() => {});
        log('removed %s, left by an earlier run', name);
      }
    }
  }
}

/**
 * Reads a state file this user wrote; `undefined` when there is none. Throws MESHLET_ERR_STORE
 * for a file owned by another user (the default state dir sits in the shared temp dir), one
 * over `maxBytes`, or one that cannot be read.
 */
export async function readOwnFile(path: string, maxBytes: number): Promise<string | undefined> {
  try {
    const s = await stat(path);
    const uid = process.getuid?.();
    if (uid !== undefined && s.uid !== uid) throw meshError('MESHLET_ERR_STORE', `${path} belongs to another user (uid ${s.uid}); refusing to load it`);
    if (s.size > maxBytes) throw meshError('MESHLET_ERR_STORE', `${path} is over ${maxBytes} bytes`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (isMeshError(err)) throw err;
    throw meshError('MESHLET_ERR_STORE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
