import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { Announcement } from '../../../src/control/model.js';
import { Registry } from '../../../src/control/registry/announcements.js';
import { RESTORED_KEEP_MS, restoredKeepMs } from '../../../src/control/warmup.js';

const ann = (nodeId: string, address = '10.0.0.1'): Announcement => ({ nodeId, service: 'reviews', namespace: 'default', labels: { version: 'v1' }, address, ports: [{ number: 9080 }] });

describe('Registry', () => {
  let registry: Registry;
  let changes = 0;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    registry = new Registry({ withdrawGraceMs: 2000 });
    changes = 0;
    registry.onChange(() => changes++);
  });
  afterEach(() => {
    registry.close();
    mock.timers.reset();
  });

  test('announce lists the node; an identical re-announce is not a change', () => {
    registry.announce(ann('b'));
    registry.announce(ann('a'));
    registry.announce(ann('a'));
    assert.deepEqual(registry.list().map((a) => a.nodeId), ['a', 'b']);
    assert.equal(changes, 2);
  });

  test('withdraw removes after the grace period', () => {
    registry.announce(ann('a'));
    registry.withdraw('a');
    mock.timers.tick(1999);
    assert.equal(registry.list().length, 1);
    mock.timers.tick(1);
    assert.equal(registry.list().length, 0);
    assert.equal(changes, 2);
  });

  test('a reconnect within the grace cancels the withdrawal', () => {
    const oldStream = {};
    const newStream = {};
    registry.announce(ann('a'), oldStream);
    registry.withdraw('a', { owner: oldStream });
    mock.timers.tick(1000);
    registry.announce(ann('a'), newStream);
    mock.timers.tick(5000);
    assert.equal(registry.list().length, 1);
    // The old stream's late end must not remove the new stream's endpoint.
    registry.withdraw('a', { owner: oldStream, graceMs: 0 });
    assert.equal(registry.list().length, 1);
  });

  test('deregister is immediate', () => {
    registry.announce(ann('a'));
    assert.equal(registry.deregister('a'), true);
    assert.equal(registry.deregister('a'), false);
    assert.deepEqual(registry.list(), []);
  });

  test('a restored announcement waits for its node from when the server serves, as long as the longest reconnect gap (not just the warm-up)', () => {
    const keep = restoredKeepMs(10_000, 2000);
    assert.equal(keep, RESTORED_KEEP_MS);
    assert.equal(RESTORED_KEEP_MS, 144_000, 'gRPC backoff cap 120 s + 20 % jitter');
    assert.equal(restoredKeepMs(0, 2000), 2000, 'warm-up disabled: only the grace');
    registry.restore([ann('a'), ann('b', '10.0.0.2')], keep);
    mock.timers.tick(5000); // loading state and binding the port
    registry.keepRestored(keep);
    registry.announce(ann('a'), {});
    mock.timers.tick(keep - 1);
    assert.deepEqual(registry.list().map((x) => x.nodeId), ['a', 'b'], 'b is kept the whole gap after serving started');
    mock.timers.tick(1);
    assert.deepEqual(registry.list().map((x) => x.nodeId), ['a'], 'b never came back: dropped');
  });
});
