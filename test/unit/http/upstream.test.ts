// The per-attempt dispatch options: everything undici's core reads is carried, the endpoint's
// origin/path/headers replace the caller's, API-layer options stay behind, and options meant for
// a user-supplied agent's interceptors pass through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { originOf, upstreamOptions } from '../../../src/http/upstream.js';
import { responseOutcome } from '../../../src/http/attempt.js';

test('upstreamOptions: core options carried, routed origin/path/headers win, API-layer options dropped', () => {
  const signal = new AbortController().signal;
  const opts = {
    origin: 'http://reviews:9080', path: '/a', method: 'PUT', body: 'x', headers: { a: '1' }, headersTimeout: 5, bodyTimeout: 6,
    reset: true, idempotent: true, blocking: false, expectContinue: false, maxRedirections: 0,
    dispatcher: {}, signal, opaque: 1, onInfo: () => {}, highWaterMark: 1, retryOptions: { maxRetries: 9 },
  } as unknown as Dispatcher.DispatchOptions;
  const out = upstreamOptions(opts, 'http://10.0.0.7:9080', '/b', { host: 'reviews:9080' }, 'reviews') as unknown as Record<string, unknown>;
  assert.equal(out['origin'], 'http://10.0.0.7:9080');
  assert.equal(out['path'], '/b');
  assert.deepEqual(out['headers'], { host: 'reviews:9080' });
  assert.equal(out['servername'], 'reviews');
  for (const k of ['method', 'body', 'headersTimeout', 'bodyTimeout', 'reset', 'idempotent', 'blocking', 'expectContinue', 'maxRedirections']) {
    assert.equal(out[k], (opts as unknown as Record<string, unknown>)[k], k);
  }
  for (const k of ['dispatcher', 'signal', 'opaque', 'onInfo', 'highWaterMark']) assert.equal(k in out, false, k);
  assert.deepEqual(out['retryOptions'], { maxRetries: 9 }, 'an unknown option is carried for the agent');
  // The caller's own servername wins over the derived one.
  const own = upstreamOptions({ ...opts, servername: 'tls.example' } as Dispatcher.DispatchOptions, 'http://x', '/', {}, 'reviews') as unknown as Record<string, unknown>;
  assert.equal(own['servername'], 'tls.example');
});

test('originOf builds one string per endpoint (IPv6 in brackets); responseOutcome is shared per status', () => {
  const ep = { key: '10.0.0.7:80', address: '10.0.0.7', port: 80, labels: {}, locality: { region: '', zone: '', subZone: '' } };
  assert.equal(originOf(ep), 'http://10.0.0.7:80');
  assert.equal(originOf(ep), originOf(ep));
  assert.equal(originOf({ ...ep, address: '::1' }), 'http://[::1]:80');
  assert.equal(responseOutcome(503), responseOutcome(503));
  assert.deepEqual(responseOutcome(503), { kind: 'response', status: 503 });
  assert.ok(Object.isFrozen(responseOutcome(200)));
  assert.deepEqual(responseOutcome(99.5), { kind: 'response', status: 99.5 });
});
