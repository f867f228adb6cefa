import { trace } from '../internal/debug.js';
import { Emitter, type Disposable } from './events.js';
import type { Announcement } from './model.js';

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

  constructor(options: { withdrawGraceMs?: number } = {}) {
    this.defaultGraceMs = options.withdrawGraceMs ?? DEFAULT_WITHDRAW_GRACE_MS;
  }

  /** Registers or refreshes a node's endpoint; cancels a pending withdrawal. */
  announce(a: Announcement, owner?: unknown): void {
    const slot = this.slots.get(a.nodeId);
    if (slot?.timer) clearTimeout(slot.timer);
    const same = slot !== undefined && JSON.stringify(slot.entry.announcement) === JSON.stringify(a);
    this.slots.set(a.nodeId, {
      entry: { announcement: a, since: same && slot ? slot.entry.since : new Date() },
      owner,
    });
    if (!same) {
      log('announce %s: %s.%s at %s ports %o', a.nodeId, a.service, a.namespace, a.address, a.ports.map((p) => p.number));
      this.changed.fire();
    }
  }

  /**
   * Schedules removal after `graceMs` (default from the constructor). Ignored when `owner` is
   * given and another stream has announced the node since.
   */
  withdraw(nodeId: string, options: { graceMs?: number; owner?: unknown } = {}): void {
    const slot = this.slots.get(nodeId);
    if (!slot || (options.owner !== undefined && slot.owner !== options.owner)) return;
    if (slot.timer) clearTimeout(slot.timer);
    const graceMs = options.graceMs ?? this.defaultGraceMs;
    if (graceMs <= 0) {
      this.deregister(nodeId);
      return;
    }
    slot.entry.withdrawingAt = new Date(Date.now() + graceMs);
    slot.timer = setTimeout(() => {
      if (this.slots.get(nodeId) === slot) this.deregister(nodeId);
    }, graceMs);
    slot.timer.unref();
    log('withdraw %s in %d ms', nodeId, graceMs);
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
