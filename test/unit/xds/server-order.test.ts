// ServerOrder: which control server comes next (gRFC A71 priority order) and when to back off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../src/xds/backoff.js';
import { ServerOrder } from '../../../src/xds/server-order.js';

const order = (servers: string[]) => new ServerOrder(servers, new Backoff({ initialMs: 100, multiplier: 2, jitter: 0, maxMs: 1000 }), (s) => s);

test('one server: every failure backs off, as without failover', () => {
  const o = order(['a']);
  assert.deepEqual([o.failed(), o.failed(), o.failed()], [100, 200, 400]);
  assert.equal(o.current, 'a');
});

test('several: the next at once; a full round backs off and starts over at the primary', () => {
  const o = order(['a', 'b', 'c']);
  assert.equal(o.failed(), 0);
  assert.equal(o.current, 'b');
  assert.equal(o.failed(), 0);
  assert.equal(o.current, 'c');
  assert.equal(o.failed(), 100);
  assert.equal(o.current, 'a');
  assert.equal(o.failed(), 0);
  assert.equal(o.current, 'b');
  // b answers: the round starts over (a failure moves on at once again).
  o.answered(() => {});
  o.stopProbe();
  assert.equal(o.failed(), 0);
  assert.equal(o.current, 'c');
  o.toPrimary();
  assert.equal(o.current, 'a');
});
