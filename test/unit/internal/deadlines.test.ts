import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { DeadlineQueue } from '../../../src/internal/deadlines.js';
import { MAX_TIMER_MS } from '../../../src/internal/timer.js';

const T0 = 1_700_000_000_000;

describe('DeadlineQueue', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
  afterEach(() => mock.timers.reset());

  function owners(log: string[], names: string[]) {
    return names.map((n) => ({ onDeadline: () => log.push(n) }));
  }

  it('fires each deadline at its time, in order, across durations', () => {
    const q = new DeadlineQueue();
    const log: string[] = [];
    const [a, b, c] = owners(log, ['a', 'b', 'c']).map((o) => q.timer(o));
    a!.set(T0 + 100);
    b!.set(T0 + 50);
    mock.timers.tick(10);
    c!.set(Date.now() + 100); // same duration as a, set later: due at T0 + 110
    mock.timers.tick(39);
    assert.deepEqual(log, []);
    mock.timers.tick(1);
    assert.deepEqual(log, ['b']);
    mock.timers.tick(50);
    assert.deepEqual(log, ['b', 'a']);
    mock.timers.tick(9);
    assert.deepEqual(log, ['b', 'a']);
    mock.timers.tick(1);
    assert.deepEqual(log, ['b', 'a', 'c']);
  });

  it('a cleared deadline never fires, and the ones behind it still do', () => {
    const q = new DeadlineQueue();
    const log: string[] = [];
    const ts = owners(log, ['a', 'b', 'c']).map((o) => q.timer(o));
    for (const t of ts) t.set(T0 + 100);
    ts[0]!.clear();
    ts[1]!.clear();
    mock.timers.tick(100);
    assert.deepEqual(log, ['c']);
    ts[2]!.clear(); // after firing: a no-op
  });

  it('moving a deadline earlier re-arms it; later keeps the earlier one (the owner re-arms)', () => {
    const q = new DeadlineQueue();
    const log: string[] = [];
    const [t] = owners(log, ['t']).map((o) => q.timer(o));
    t!.set(T0 + 1000);
    t!.set(T0 + 200);
    mock.timers.tick(200);
    assert.deepEqual(log, ['t']);
    t!.set(T0 + 300);
    t!.set(T0 + 5000); // later: ignored, fires at +300
    mock.timers.tick(100);
    assert.deepEqual(log, ['t', 't']);
  });

  it('a deadline set from inside onDeadline for the same duration fires on its own time', () => {
    const q = new DeadlineQueue();
    let n = 0;
    const t = q.timer({ onDeadline: () => { n++; if (n < 3) t.set(Date.now() + 100); } });
    t.set(T0 + 100);
    mock.timers.tick(100);
    assert.equal(n, 1);
    mock.timers.tick(100);
    assert.equal(n, 2);
    mock.timers.tick(100);
    assert.equal(n, 3);
    mock.timers.tick(1000);
    assert.equal(n, 3);
  });

  it('an owner that throws does not strand the deadlines due after it', () => {
    const q = new DeadlineQueue();
    const log: string[] = [];
    q.timer({ onDeadline: () => { throw new Error('boom'); } }).set(T0 + 10);
    q.timer({ onDeadline: () => log.push('after') }).set(T0 + 10);
    mock.timers.tick(10);
    assert.deepEqual(log, ['after']);
  });

  it('many distinct durations (jittered backoffs) and delays beyond Node\'s limit still fire', () => {
    const q = new DeadlineQueue();
    let fired = 0;
    for (let i = 1; i <= 600; i++) q.timer({ onDeadline: () => { fired++; } }).set(T0 + i);
    mock.timers.tick(600);
    assert.equal(fired, 600);
    const long = q.timer({ onDeadline: () => { fired++; } });
    long.set(T0 + 600 + MAX_TIMER_MS + 5);
    mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 600);
    mock.timers.tick(10);
    assert.equal(fired, 601);
  });
});
