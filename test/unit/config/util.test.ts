import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, hostAliases, hostMatches, parseDuration, resolveHost } from '../../../src/config/index.js';

describe('parseDuration', () => {
  const ok: Array<[string, number]> = [
    ['1s', 1000], ['250ms', 250], ['1.5s', 1500], ['1m', 60_000], ['1h', 3_600_000], ['1h30m', 5_400_000],
    ['0', 0], ['0s', 0], ['500us', 0.5], ['.5s', 500], ['2s500ms', 2500],
  ];
  for (const [text, ms] of ok) it(`${text} → ${ms}ms`, () => assert.equal(parseDuration(text), ms));
  for (const text of ['', '7', 's', '1x', '-1s', '1 s', '1s ', 'abc', '1.2.3s']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseDuration(text), undefined));
  }
});

describe('hosts', () => {
  it('resolves short names against the namespace and keeps the rest literal', () => {
    assert.equal(resolveHost('reviews', 'default'), 'reviews.default.svc.cluster.local');
    assert.equal(resolveHost('reviews', 'prod', 'corp.internal'), 'reviews.prod.svc.corp.internal');
    assert.equal(resolveHost('reviews.prod', 'default'), 'reviews.prod');
    assert.equal(resolveHost('www.googleapis.com', 'default'), 'www.googleapis.com');
    assert.equal(resolveHost('*', 'default'), '*');
    assert.equal(resolveHost('*.example.com', 'default'), '*.example.com');
  });

  it('lists the names a client may dial', () => {
    assert.deepEqual(hostAliases('reviews.default.svc.cluster.local'), [
      'reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local',
    ]);
    assert.deepEqual(hostAliases('www.googleapis.com'), ['www.googleapis.com']);
    assert.deepEqual(hostAliases('a.b.c.svc.cluster.local'), ['a.b.c.svc.cluster.local']);
  });

  it('matches wildcard hosts', () => {
    assert.ok(hostMatches('*.example.com', 'api.example.com'));
    assert.ok(hostMatches('*.example.com', '*.eu.example.com'));
    assert.ok(!hostMatches('*.example.com', 'example.com'));
    assert.ok(hostMatches('*', 'anything'));
    assert.ok(!hostMatches('api.example.com', 'web.example.com'));
  });
});

describe('formatDiagnostic', () => {
  it('prints every known part', () => {
    assert.equal(
      formatDiagnostic({
        severity: 'error', code: 'MESHLET_ERR_CONFIG_SCHEMA', message: 'must be in range 0..100, got 150',
        file: 'vs.yaml', line: 12, column: 15, path: 'spec.http[0].route[0].weight', resource: 'VirtualService/default/reviews',
      }),
      'vs.yaml:12:15: error MESHLET_ERR_CONFIG_SCHEMA: must be in range 0..100, got 150 (at spec.http[0].route[0].weight) [VirtualService/default/reviews]',
    );
  });
  it('omits unknown parts', () => {
    assert.equal(formatDiagnostic({ severity: 'warning', code: 'MESHLET_ERR_CONFIG_EMPTY_SUBSET', message: 'm' }), 'warning MESHLET_ERR_CONFIG_EMPTY_SUBSET: m');
    assert.equal(formatDiagnostic({ severity: 'error', code: 'MESHLET_ERR_CONFIG_YAML', message: 'm', file: 'a.yaml', line: 3 }), 'a.yaml:3: error MESHLET_ERR_CONFIG_YAML: m');
  });
});
