import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { clearLongTimeout, MAX_TIMER_MS, setLongTimeout } from '../../../src/internal/timer.js';

const HOUR = 3_600_000;

describe('setLongTimeout', () => {
  it('fires a 600h timer after 600h, not at once, in steps Node accepts', (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    t.after(() => mock.timers.reset());
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    let fired = 0;
    setLongTimeout(() => fired++, 600 * HOUR);
    mock.timers.tick(1);
    assert.equal(fired, 0);
    mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 0);
    mock.timers.tick(600 * HOUR - MAX_TIMER_MS - 2);
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1);
    mock.timers.tick(1000 * HOUR);
    assert.equal(fired, 1);
    assert.deepEqual(warnings, []);
  });

  it('can be cleared before or between its steps', (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    t.after(() => mock.timers.reset());
    let fired = 0;
    const a = setLongTimeout(() => fired++, 600 * HOUR);
    const b = setLongTimeout(() => fired++, 600 * HOUR);
    clearLongTimeout(a);
    mock.timers.tick(MAX_TIMER_MS + 5);
    clearLongTimeout(b);
    mock.timers.tick(1000 * HOUR);
    assert.equal(fired, 0);
  });

  it('treats short, zero and negative delays as setTimeout does', (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    t.after(() => mock.timers.reset());
    const seen: string[] = [];
    setLongTimeout(() => seen.push('neg'), -5);
    setLongTimeout(() => seen.push('ten'), 10);
    const never = setLongTimeout(() => seen.push('inf'), Infinity);
    mock.timers.tick(0);
    assert.deepEqual(seen, ['neg']);
    mock.timers.tick(10);
    assert.deepEqual(seen, ['neg', 'ten']);
    mock.timers.tick(MAX_TIMER_MS * 3);
    assert.deepEqual(seen, ['neg', 'ten']);
    clearLongTimeout(never);
  });
});
