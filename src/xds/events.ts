/** A tiny typed event emitter whose subscriptions are disposables (cockatiel's Event style). */
import { trace } from '../internal/debug.js';

const log = trace('xds');

/** Something that can be undone: a subscription, a watch. Calling dispose twice is harmless. */
export interface Disposable {
  dispose(): void;
}

/**
 * Typed emitter. A listener that throws is logged (NODE_DEBUG=meshlet-xds) and skipped: one
 * faulty listener must not break the client or the other listeners.
 *
 * @example
 * ```ts
 * const events = new Emitter<{ ping: (n: number) => void }>();
 * const sub = events.on('ping', (n) => seen.push(n));
 * events.emit('ping', 1);
 * sub.dispose();
 * ```
 */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<E extends keyof Events>(event: E, fn: Events[E]): Disposable {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return { dispose: () => void set.delete(fn) };
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (err) {
        log('listener for %s threw: %o', String(event), err);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
