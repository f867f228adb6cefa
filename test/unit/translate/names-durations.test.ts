import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationNanos, toDuration } from '../../../src/control/translate/durations.js';
import { clusterName, hostMatch, parseClusterName, resolveHost, shortAliases } from '../../../src/control/translate/names.js';

test('durations: Go syntax to protobuf Duration', () => {
  assert.deepEqual(toDuration('7s'), { seconds: 7, nanos: 0 });
  assert.deepEqual(toDuration('250ms'), { seconds: 0, nanos: 250_000_000 });
  assert.deepEqual(toDuration('1h2m3.5s'), { seconds: 3723, nanos: 500_000_000 });
  assert.deepEqual(toDuration('0.1s'), { seconds: 0, nanos: 100_000_000 });
  assert.deepEqual(toDuration('10us'), { seconds: 0, nanos: 10_000 });
  assert.deepEqual(toDuration('0'), { seconds: 0, nanos: 0 });
  assert.equal(parseDurationNanos('1.5m'), 90_000_000_000n);
  for (const bad of ['', '5', 's', '1x', '-1s', '1s2']) assert.equal(toDuration(bad), undefined, bad);
  assert.equal(toDuration(undefined), undefined);
});

test('cluster names build and parse', () => {
  const name = clusterName(9080, 'v1', 'reviews.default.svc.cluster.local');
  assert.equal(name, 'outbound|9080|v1|reviews.default.svc.cluster.local');
  assert.deepEqual(parseClusterName(name), { direction: 'outbound', port: 9080, subset: 'v1', host: 'reviews.default.svc.cluster.local' });
  assert.equal(clusterName(443, undefined, 'www.googleapis.com'), 'outbound|443||www.googleapis.com');
  assert.equal(parseClusterName('outbound|443||www.googleapis.com')?.subset, '');
  assert.equal(parseClusterName('reviews:9080'), undefined);
  assert.equal(parseClusterName('outbound|x||h'), undefined);
});

test('host resolution, aliases and wildcard matching', () => {
  assert.equal(resolveHost('reviews', 'bookinfo', 'cluster.local'), 'reviews.bookinfo.svc.cluster.local');
  assert.equal(resolveHost('www.googleapis.com', 'bookinfo', 'cluster.local'), 'www.googleapis.com');
  assert.deepEqual(shortAliases('reviews.default.svc.cluster.local', 'cluster.local')?.aliases, ['reviews', 'reviews.default', 'reviews.default.svc']);
  assert.equal(shortAliases('www.googleapis.com', 'cluster.local'), undefined);
  assert.equal(hostMatch('*.googleapis.com', 'www.googleapis.com'), 'wildcard');
  assert.equal(hostMatch('www.googleapis.com', 'www.googleapis.com'), 'exact');
  assert.equal(hostMatch('*.example.com', 'www.googleapis.com'), undefined);
});
