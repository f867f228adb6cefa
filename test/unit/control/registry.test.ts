import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { Announcement } from '../../../src/control/model.js';
import { Registry } from '../../../src/control/registry/announcements.js';

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
});
