// Route hash policies hash the same bytes as Envoy's Http::HashPolicyImpl (xxHash64), and a
// cookie policy with a ttl generates the cookie (issue 9 item 5, issue 10 item 7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineHash, hashHi, hashLo, mod64 } from '../../../src/core/hash.js';
import { RequestView } from '../../../src/core/request.js';
import { requestHash, setCookieValue } from '../../../src/core/request-hash.js';
import { xxh64 } from '../../../src/core/xxhash.js';
import { req, seeded } from './fixtures.js';

test('xxHash64 matches the reference vectors (seed 0 and 1)', () => {
  assert.equal(xxh64(''), 0xef46db3751d8e999n);
  assert.equal(xxh64('hello'), 0x26c7827d889f6da3n);
  assert.notEqual(xxh64('hello', 1n), xxh64('hello'));
});

test('header, source-ip and query policies hash the raw value; several fold with rotl(h,1) ^ next', () => {
  const view = new RequestView(req({ headers: { 'x-user': 'jason' }, path: '/p?u=a%20b&u=second', sourceIp: '10.0.0.9' }));
  const header = { kind: 'header', name: 'x-user', terminal: false } as const;
  assert.equal(requestHash([header], view, seeded()).hash, xxh64('jason'));
  assert.equal(requestHash([{ kind: 'connection', sourceIp: true, terminal: false }], view, seeded()).hash, xxh64('10.0.0.9'));
  assert.equal(requestHash([{ kind: 'query_parameter', name: 'u', terminal: false }], view, seeded()).hash, xxh64('a%20b'), 'first value, not decoded');
  const both = requestHash([header, { kind: 'connection', sourceIp: true, terminal: false }], view, seeded()).hash;
  assert.equal(both, combineHash(xxh64('jason'), xxh64('10.0.0.9')));
  assert.equal(requestHash([{ ...header, terminal: true }, { kind: 'connection', sourceIp: true, terminal: false }], view, seeded()).hash, xxh64('jason'), 'terminal stops');
  const multi = new RequestView(req({ headers: { 'x-user': ['b', 'a'] } }));
  assert.equal(requestHash([header], multi, seeded()).hash, xxh64('ab'), 'several values: sorted, hashed as one string');
  assert.equal(requestHash([header], new RequestView(req()), seeded()).hash, undefined);
});

test('cookie policy: a quoted cookie is unquoted; with a ttl a missing cookie is generated as Envoy does', () => {
  const policy = { kind: 'cookie', name: 'session', ttlMs: 90_500, path: '/shop', terminal: false } as const;
  const quoted = new RequestView(req({ headers: { cookie: 'a=1; session="c0ffee"' } }));
  const withCookie = requestHash([policy], quoted, seeded());
  assert.equal(withCookie.hash, xxh64('c0ffee'));
  assert.equal(withCookie.setCookie, undefined, 'nothing to set when the request has the cookie');
  const fresh = requestHash([policy], new RequestView(req({ sourceIp: '10.0.0.9' })), seeded());
  const m = /^session="([0-9a-f]{16})"; Max-Age=90; Path=\/shop; HttpOnly$/.exec(fresh.setCookie ?? '');
  assert.ok(m, fresh.setCookie);
  assert.equal(fresh.hash, xxh64(m[1]!), 'the request is hashed by the cookie it will carry from now on');
  assert.equal(requestHash([{ kind: "cookie" as const, name: "session", terminal: false }], new RequestView(req()), seeded()).hash, undefined, 'no ttl: no cookie, no hash');
  assert.equal(setCookieValue('s', 'v', undefined, 0), 's="v"; HttpOnly', 'ttl 0: a session cookie');
});

test('64-bit hashes are handled as 32-bit halves: mod64 equals bigint modulo', () => {
  const random = seeded(3);
  for (let i = 0; i < 1000; i++) {
    const h = xxh64(`k${i}`);
    for (const m of [100, 65537, 4099, 5000011]) assert.equal(mod64(hashHi(h), hashLo(h), m), Number(h % BigInt(m)));
  }
  assert.equal(mod64(0xffff_ffff, 0xffff_ffff, 65537), Number(((1n << 64n) - 1n) % 65537n));
  assert.ok(random() >= 0);
});
