import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { meshError, type MeshErrorCode, ERROR_CODES } from '../../errors.js';
import { trace } from '../../internal/debug.js';
import type { SignerInit, SignJob } from './sign.js';

const log = trace('ca');

/** Options of {@link SignerPool}. */
export interface SignerPoolOptions {
  init: SignerInit;
  /**
   * Worker threads. Default: one less than the cores this process may use
   * (`os.availableParallelism()`), at least 1 and at most 8 — the event loop keeps a core for xDS.
   */
  threads?: number;
  /** Jobs waiting for a worker before new ones are refused with MESHLET_ERR_CA_OVERLOADED. Default 10,000. */
  maxQueued?: number;
}

interface Pending {
  job: SignJob;
  resolve: (pem: string) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Pending>;
}

// Jobs handed to one worker ahead of time, so it never idles waiting for the next message.
const PIPELINE = 4;

/**
 * Signs certificates on worker threads so a burst of CSRs never stalls the control server's event
 * loop (xDS pushes share it). Workers start on the first job, and a worker that dies fails only
 * its own in-flight jobs (MESHLET_ERR_CA_SIGNER) and is replaced.
 *
 * @example
 * ```ts
 * const pool = new SignerPool({ init: { signingKeyPkcs8, signingCertDer } });
 * const leafPem = await pool.sign({ csrPem, profile: { kind: 'svid', spiffeId }, notBefore, notAfter });
 * await pool.close();
 * ```
 */
export class SignerPool {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly maxQueued: number;
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: SignerPoolOptions) {
    this.threads = Math.max(1, Math.min(8, Math.floor(options.threads ?? availableParallelism() - 1)));
    this.maxQueued = options.maxQueued ?? 10_000;
  }

  /** Signs one job on a worker; resolves the certificate PEM. */
  sign(job: SignJob): Promise<string> {
    if (this.closed) return Promise.reject(meshError('MESHLET_ERR_CLOSED', 'the CA signer is closed'));
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(meshError('MESHLET_ERR_CA_OVERLOADED', `${this.queue.length} certificate requests are already queued`));
    }
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Jobs waiting for a worker (not counting those in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /** Stops every worker; queued and in-flight jobs fail with MESHLET_ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closedError = () => meshError('MESHLET_ERR_CLOSED', 'the CA signer was closed');
    for (const p of this.queue.splice(0)) p.reject(closedError());
    const slots = this.slots.splice(0);
    for (const slot of slots) for (const p of slot.inFlight.values()) p.reject(closedError());
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.slots.length < this.threads && this.slots.length < this.queue.length + this.busy()) this.spawn();
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (const slot of this.slots) if (slot.inFlight.size < PIPELINE && (!best || slot.inFlight.size < best.inFlight.size)) best = slot;
      if (!best) return;
      const pending = this.queue.shift()!;
      const id = this.nextId++;
      best.inFlight.set(id, pending);
      best.worker.ref();
      best.worker.postMessage({ id, job: pending.job });
    }
  }

  private busy(): number {
    let n = 0;
    for (const slot of this.slots) n += slot.inFlight.size;
    return n;
  }

  private spawn(): void {
    const entry = workerEntry();
    const worker = new Worker(entry.code, { eval: entry.eval, workerData: { init: this.options.init, boot: entry.boot } });
    const slot: Slot = { worker, inFlight: new Map() };
    this.slots.push(slot);
    worker.unref();
    worker.on('message', (msg: { id?: number; pem?: string; error?: { code?: string; message: string } }) => {
      if (msg.id === undefined) return;
      const pending = slot.inFlight.get(msg.id);
      if (!pending) return;
      slot.inFlight.delete(msg.id);
      if (slot.inFlight.size === 0) worker.unref();
      if (msg.pem !== undefined) pending.resolve(msg.pem);
      else pending.reject(meshError(knownCode(msg.error?.code) ?? 'MESHLET_ERR_CA_SIGNER', msg.error?.message ?? 'signing failed'));
      this.dispatch();
    });
    const fail = (why: string) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      this.slots.splice(index, 1);
      log('signer worker failed: %s', why);
      for (const p of slot.inFlight.values()) p.reject(meshError('MESHLET_ERR_CA_SIGNER', `signing worker failed: ${why}`));
      slot.inFlight.clear();
      // A worker that cannot even start fails every queued job too rather than respawning forever.
      if (why.startsWith('error')) for (const p of this.queue.splice(0)) p.reject(meshError('MESHLET_ERR_CA_SIGNER', `signing worker failed: ${why}`));
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => fail(`error: ${err.message}`));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
  }
}

function knownCode(code: string | undefined): MeshErrorCode | undefined {
  return code !== undefined && code in ERROR_CODES ? (code as MeshErrorCode) : undefined;
}

/**
 * Where the worker's code is. From the bundle (dist/control/index.js, dist/cli/main.js) it is
 * dist/control/signer-worker.js; from the TypeScript sources it is signer-worker.ts, loaded through
 * tsx, whose hooks workers do not inherit — a tiny eval'd script registers them first.
 */
function workerEntry(): { code: string; eval: boolean; boot?: { tsx: string; entry: string } } {
  const here = import.meta.url;
  if (/\.[cm]?ts$/.test(here)) {
    const boot = { tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./signer-worker.ts', here).href };
    const code = `const { workerData } = require('node:worker_threads');
import(workerData.boot.tsx).then((m) => { m.register(); return import(workerData.boot.entry); });`;
    return { code, eval: true, boot };
  }
  for (const candidate of ['./signer-worker.js', '../control/signer-worker.js', './control/signer-worker.js']) {
    const file = fileURLToPath(new URL(candidate, here));
    if (existsSync(file)) return { code: file, eval: false };
  }
  throw meshError('MESHLET_ERR_CA_SIGNER', `the CA signer worker script was not found next to ${fileURLToPath(here)}`);
}
