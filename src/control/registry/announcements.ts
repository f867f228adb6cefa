import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import type { Announcement } from '../../xds/node.js';

const log = trace('registry');

/** Default time an announced endpoint survives its ADS stream, so a quick reconnect is seamless. */
export const DEFAULT_WITHDRAW_GRACE_MS = 2000;

/** One announced workload as the admin API shows it. */
export interface RegistryEntry {
  announcement: Announcement;
  /** When the current announcement was (re)made. */
  since: Date;
  /** Set while the owning stream is gone and the grace timer runs. */
  withdrawingAt?: Date;
}

interface Slot {
  entry: RegistryEntry;
  /** Identity of the ADS stream that announced it; only that stream may withdraw it. */
  owner: unknown;
  /** The owner's stream is still open: another stream cannot take the node id over. */
  live: boolean;
  /** Loaded from a previous run and not re-announced yet. */
  restored?: true;
  timer?: NodeJS.Timeout;
}

/**
 * Endpoints announced by mesh clients over ADS, keyed by xDS node id. Holds no config: the
 * snapshot builder merges `list()` with ServiceEntry/WorkloadEntry endpoints.
 *
 * A stream that ends calls `withdraw()` with a grace period; the endpoint stays until the timer
 * fires, and a reconnect (a new `announce()` for the node id) cancels it. `owner` guards the race
 * where the old stream's end is noticed after the new stream announced.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * registry.announce({ nodeId: 'n1', service: 'reviews', namespace: 'default', labels: {}, address: '10.0.0.5', ports: [{ number: 9080 }] });
 * registry.withdraw('n1', { graceMs: 2000 }); // gone in 2 s unless n1 reconnects
 * ```
 */
export class Registry {
  private readonly slots = new Map<string, Slot>();
  private readonly changed = new Emitter<void>((err) => log('onChange listener threw: %o', err));
  private readonly defaultGraceMs: number;
  /** Epoch ms before which nothing is withdrawn (warm-up after a start). */
  private keepUntil = 0;

  constructor(options: { withdrawGraceMs?: number } = {}) {
    this.defaultGraceMs = options.withdrawGraceMs ?? DEFAULT_WITHDRAW_GRACE_MS;
  }

  /**
   * Registers or refreshes a node's endpoint; cancels a pending withdrawal. Returns `false`, and
   * changes nothing, when another owner's stream that announced this node id is still open: a
   * node id read from `GET /status` cannot replace a connected process's endpoint.
   */
  announce(a: Announcement, owner?: unknown): boolean {
    const slot = this.slots.get(a.nodeId);
    if (slot && slot.live && slot.owner !== undefined && owner !== undefined && slot.owner !== owner) {
      log('announce %s refused: the node id is held by another open stream', a.nodeId);
      return false;
    }
    if (slot?.timer) clearTimeout(slot.timer);
    const same = slot !== undefined && JSON.stringify(slot.entry.announcement) === JSON.stringify(a);
    this.slots.set(a.nodeId, {
      entry: { announcement: a, since: same && slot ? slot.entry.since : new Date() },
      owner,
      live: owner !== undefined,
    });
    // A restored node coming back is news even when nothing changed (the warm-up counts them).
    if (!same || slot?.restored) {
      log('announce %s: %s.%s at %s ports %o', a.nodeId, a.service, a.namespace, a.address, a.ports.map((p) => p.number));
      this.changed.fire();
    }
    return true;
  }

  /**
   * Loads announcements saved by a previous run (see store/announcements.ts). Each is kept for
   * `keepMs` (its grace starts then) unless its node re-announces, which takes it over; node ids
   * already announced in this run are left alone.
   */
  restore(announcements: readonly Announcement[], keepMs: number): void {
    let added = 0;
    for (const a of announcements) {
      if (this.slots.has(a.nodeId)) continue;
      const slot: Slot = { entry: { announcement: a, since: new Date() }, owner: undefined, live: false, restored: true };
      this.slots.set(a.nodeId, slot);
      this.schedule(a.nodeId, slot, keepMs);
      added++;
    }
    if (added > 0) {
      log('restored %d announcement(s), kept %d ms unless re-announced', added, keepMs);
      this.changed.fire();
    }
  }

  /**
   * Restarts the keep of every restored announcement whose node has not re-announced yet, to
   * `keepMs` from now: called once the server serves, since its nodes can only come back from
   * then on (loading the rest of the state and binding the ports may take seconds).
   */
  keepRestored(keepMs: number): void {
    for (const [nodeId, slot] of this.slots) {
      if (!slot.restored) continue;
      if (slot.timer) clearTimeout(slot.timer);
      this.schedule(nodeId, slot, keepMs);
    }
  }

  /** Until `untilMs` (epoch ms), withdrawals wait at least until then (the warm-up after a start). */
  holdWithdrawalsUntil(untilMs: number): void {
    this.keepUntil = untilMs;
  }

  /** Node ids restored from a previous run that have not re-announced yet. */
  pendingRestored(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slot.restored) n++;
    return n;
  }

  /**
   * Schedules removal after `graceMs` (default from the constructor). Ignored when `owner` is
   * given and another stream has announced the node since.
   */
  withdraw(nodeId: string, options: { graceMs?: number; owner?: unknown } = {}): void {
    const slot = this.slots.get(nodeId);
    if (!slot || (options.owner !== undefined && slot.owner !== options.owner)) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.live = false;
    const graceMs = Math.max(options.graceMs ?? this.defaultGraceMs, this.keepUntil - Date.now());
    if (graceMs <= 0) {
      this.deregister(nodeId);
      return;
    }
    this.schedule(nodeId, slot, graceMs);
    log('withdraw %s in %d ms', nodeId, graceMs);
  }

  private schedule(nodeId: string, slot: Slot, graceMs: number): void {
    slot.entry.withdrawingAt = new Date(Date.now() + graceMs);
    slot.timer = setTimeout(() => {
      if (this.slots.get(nodeId) === slot) this.deregister(nodeId);
    }, graceMs);
    slot.timer.unref();
  }

  /** Removes a node's endpoint now (draining client). Returns whether it was registered. */
  deregister(nodeId: string, options: { owner?: unknown } = {}): boolean {
    const slot = this.slots.get(nodeId);
    if (!slot || (options.owner !== undefined && slot.owner !== options.owner)) return false;
    if (slot.timer) clearTimeout(slot.timer);
    this.slots.delete(nodeId);
    log('deregister %s', nodeId);
    this.changed.fire();
    return true;
  }

  /** Current announcements sorted by node id (deterministic snapshots). */
  list(): Announcement[] {
    return this.entries().map((e) => e.announcement);
  }

  /** Current entries with their timing, sorted by node id. */
  entries(): RegistryEntry[] {
    return [...this.slots.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => ({ ...s.entry }));
  }

  onChange(fn: () => void): Disposable {
    return this.changed.on(fn);
  }

  /** Cancels every grace timer; entries stay readable. */
  close(): void {
    for (const slot of this.slots.values()) if (slot.timer) clearTimeout(slot.timer);
    this.changed.clear();
  }
}
