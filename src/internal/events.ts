/**
 * A tiny typed event surface whose `on()` returns a disposable (cockatiel's `Event` habit), so
 * listeners are removed with `dispose()` and nobody has to keep a reference to the handler.
 */
import { trace } from './debug.js';

const log = trace('events');

/** Handle returned by every subscription; `dispose()` is idempotent. */
export interface Disposable {
  dispose(): void;
}

/**
 * A list of listeners for one event. Listener exceptions are swallowed (and traced by the
 * caller-supplied `onError`) so a faulty listener can never break the emitter's own work.
 *
 * @example
 * ```ts
 * const changed = new Emitter<void>();
 * const sub = changed.on(() => rebuild());
 * changed.fire();
 * sub.dispose();
 * ```
 */
export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onError?: (err: unknown) => void) {}

  /** Adds a listener; returns the handle that removes it. */
  on(fn: (value: T) => void): Disposable {
    // Wrap so the same function can be subscribed twice and each handle removes only its own.
    const entry = (value: T) => fn(value);
    this.listeners.add(entry);
    return { dispose: () => void this.listeners.delete(entry) };
  }

  /** Calls every listener synchronously with `value`. */
  fire(value: T): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(value);
      } catch (err) {
        this.onError?.(err);
      }
    }
  }

  /** Number of listeners (tests and leak checks). */
  get size(): number {
    return this.listeners.size;
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }
}

/**
 * Several named events on one object (a mesh's `on('request')`, the xDS client's `on('nack')`),
 * each an {@link Emitter}. A listener that throws is passed to `onError` and skipped.
 *
 * @example
 * ```ts
 * const events = new EventSet<{ ping: (n: number) => void }>();
 * const sub = events.on('ping', (n) => seen.push(n));
 * events.emit('ping', 1);
 * sub.dispose();
 * ```
 */
export class EventSet<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private readonly emitters = new Map<keyof Events, Emitter<Parameters<Events[keyof Events]>>>();

  constructor(private readonly onError: (event: string, err: unknown) => void = (event, err) => log('listener for %s threw: %o', event, err)) {}

  on<E extends keyof Events>(event: E, fn: Events[E]): Disposable {
    let emitter = this.emitters.get(event);
    if (!emitter) this.emitters.set(event, (emitter = new Emitter((err) => this.onError(String(event), err))));
    return emitter.on((args) => (fn as unknown as (...a: unknown[]) => void)(...args));
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    this.emitters.get(event)?.fire(args as Parameters<Events[keyof Events]>);
  }

  clear(): void {
    this.emitters.clear();
  }
}
