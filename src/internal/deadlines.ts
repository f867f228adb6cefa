/**
 * Per-request deadlines without a Node timer per request. A route with `timeout: 5s` arms a
 * deadline on every call; `setTimeout` + `clearTimeout` for each costs a Timeout object, a
 * closure and the timer list's insert and unenroll (~0.5 µs of client CPU per request here).
 * Deadlines of one duration are due in the order they were set, so each duration keeps an
 * intrusive linked list (the deadline object is the node, append and unlink are O(1)) and one
 * Node timer for its head — the same structure Node's own timer lists use, minus the per-call
 * objects. Durations above Node's limit fall back to {@link setLongTimeout}.
 */
import { clearLongTimeout, MAX_TIMER_MS, setLongTimeout, type LongTimer } from './timer.js';

/** Who a deadline calls when it is due. */
export interface DeadlineOwner {
  onDeadline(): void;
}

/** Lists with no deadline left are dropped; past this many durations new ones use plain timers. */
const MAX_LISTS = 256;

class DeadlineList {
  head: QueuedDeadline | null = null;
  tail: QueuedDeadline | null = null;
  timer: NodeJS.Timeout | undefined = undefined;
  timerAt = Infinity;

  constructor(private readonly queue: DeadlineQueue, readonly durationMs: number) {}

  append(d: QueuedDeadline): void {
    // Clocks can step back: keep the list sorted (walks at most past the few that are later).
    let after = this.tail;
    while (after !== null && after.at > d.at) after = after.prev;
    d.prev = after;
    d.next = after === null ? this.head : after.next;
    if (d.next !== null) d.next.prev = d;
    else this.tail = d;
    if (after !== null) after.next = d;
    else this.head = d;
    d.list = this;
    if (this.head === d) {
      if (d.next === null) this.timer?.ref(); // was empty: its idle timer holds the process again
      this.arm(d.at);
    }
  }

  unlink(d: QueuedDeadline): void {
    if (d.prev !== null) d.prev.next = d.next;
    else this.head = d.next;
    if (d.next !== null) d.next.prev = d.prev;
    else this.tail = d.prev;
    d.prev = d.next = null;
    d.list = null;
    // The timer stays armed: it fires early and finds nothing due. Calls come in bursts (a
    // batch of responses empties the list, the next batch refills it), so an emptied list keeps
    // its timer for the next one rather than a clearTimeout + setTimeout per burst; it is
    // unref'd meanwhile so an idle mesh never holds the process open.
    if (this.head === null) this.timer?.unref();
  }

  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
  }

  private dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.queue.drop(this);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let d = this.head;
    while (d !== null && d.at <= now) {
      this.unlink(d);
      d.at = Infinity;
      try {
        d.owner.onDeadline();
      } catch {
        // an owner's failure must not strand the deadlines behind it
      }
      d = this.head;
    }
    if (this.head !== null) this.arm(this.head.at);
    else this.dispose();
  };
}

/**
 * The deadlines of one dispatcher (or channel). Create one per owner of many calls and hand
 * each call a {@link QueuedDeadline} from {@link DeadlineQueue.timer}.
 *
 * @example
 * ```ts
 * const deadlines = new DeadlineQueue();
 * const t = deadlines.timer({ onDeadline: () => console.log('due') });
 * t.set(Date.now() + 5_000);
 * t.clear();
 * ```
 */
export class DeadlineQueue {
  private readonly lists = new Map<number, DeadlineList>();

  /** A re-armable deadline for one call (the same contract as DeadlineTimer). */
  timer(owner: DeadlineOwner): QueuedDeadline {
    return new QueuedDeadline(this, owner);
  }

  /** The list for a duration (undefined: too many distinct durations in use, use a plain timer). */
  list(durationMs: number): DeadlineList | undefined {
    let l = this.lists.get(durationMs);
    if (l === undefined) {
      if (this.lists.size >= MAX_LISTS) return undefined;
      l = new DeadlineList(this, durationMs);
      this.lists.set(durationMs, l);
    }
    return l;
  }

  drop(list: DeadlineList): void {
    if (this.lists.get(list.durationMs) === list) this.lists.delete(list.durationMs);
  }
}

/**
 * One call's nearest deadline (route, per-try, backoff). Moving it later keeps the earlier one
 * (it fires, the owner finds nothing due and re-arms), as DeadlineTimer does.
 */
export class QueuedDeadline {
  at = Infinity;
  prev: QueuedDeadline | null = null;
  next: QueuedDeadline | null = null;
  list: DeadlineList | null = null;
  private long: LongTimer | undefined = undefined;

  constructor(private readonly queue: DeadlineQueue, readonly owner: DeadlineOwner) {}

  /** Fire at `at` (epoch ms), or earlier if already armed earlier; Infinity cancels. */
  set(at: number): void {
    if (at === Infinity) return this.clear();
    if (this.at <= at) return;
    this.clear();
    this.at = at;
    const ms = Math.max(0, Math.round(at - Date.now()));
    const list = ms <= MAX_TIMER_MS ? this.queue.list(ms) : undefined;
    if (list) list.append(this);
    else this.long = setLongTimeout(() => this.fireLong(), at - Date.now());
  }

  clear(): void {
    if (this.list !== null) this.list.unlink(this);
    if (this.long !== undefined) {
      clearLongTimeout(this.long);
      this.long = undefined;
    }
    this.at = Infinity;
  }

  private fireLong(): void {
    this.long = undefined;
    this.at = Infinity;
    this.owner.onDeadline();
  }
}
