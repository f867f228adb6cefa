import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from '../../../src/core/path.js';
import { compileHeaderMatch, compilePathMatch, compileQueryMatch, compileRouteMatch } from '../../../src/core/matchers.js';
import { RequestView } from '../../../src/core/request.js';
import { req, seeded } from './fixtures.js';
import { compileFullMatch } from '../../../src/internal/regex.js';

const view = (path: string, headers: Record<string, string | string[]> = {}, method = 'GET') => new RequestView(req({ path, headers, method }));

test('path normalization: dot segments, merged slashes, unreserved escapes', () => {
  assert.equal(normalizePath('/a/../admin'), '/admin');
  assert.equal(normalizePath('/a/./b/'), '/a/b/');
  assert.equal(normalizePath('/%2e%2e/admin'), '/admin');
  assert.equal(normalizePath('/public/%2E%2E/admin'), '/admin');
  assert.equal(normalizePath('/public/.%2e/admin'), '/admin');
  assert.equal(normalizePath('//x'), '/x');
  assert.equal(normalizePath('/a//b///c'), '/a/b/c');
  assert.equal(normalizePath('/../../etc'), '/etc');
  assert.equal(normalizePath('/a/..'), '/');
  assert.equal(normalizePath('/%7Euser/%41'), '/~user/A');
  assert.equal(normalizePath('/a%2fb'), '/a%2Fb', 'escaped slash stays encoded (hex upper-cased)');
  assert.equal(normalizePath('/a\\..\\admin'), '/admin');
  assert.equal(normalizePath('relative'), '/relative');
});

test('path matching uses the normalized path without the query', () => {
  const admin = compileRouteMatch({ path: { kind: 'prefix', value: '/admin', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false });
  const r = seeded();
  assert.equal(admin(view('/public/../admin/x'), r), true);
  assert.equal(admin(view('/public/%2e%2e/admin'), r), true);
  assert.equal(admin(view('//admin'), r), true);
  assert.equal(admin(view('/public?next=/admin'), r), false);
  const exact = compilePathMatch({ kind: 'exact', value: '/admin', caseSensitive: true });
  assert.equal(exact(view('/admin?x=1').path), true);
});

test('path matchers: exact, prefix, path_separated_prefix, regex, case sensitivity', () => {
  const exact = compilePathMatch({ kind: 'exact', value: '/Reviews', caseSensitive: true });
  assert.equal(exact('/Reviews'), true);
  assert.equal(exact('/reviews'), false);
  const exactCi = compilePathMatch({ kind: 'exact', value: '/Reviews', caseSensitive: false });
  assert.equal(exactCi('/REVIEWS'), true);
  const prefix = compilePathMatch({ kind: 'prefix', value: '/api', caseSensitive: true });
  assert.equal(prefix('/apiv2'), true);
  assert.equal(prefix('/API'), false);
  const prefixCi = compilePathMatch({ kind: 'prefix', value: '/api', caseSensitive: false });
  assert.equal(prefixCi('/API/x'), true);
  const sep = compilePathMatch({ kind: 'path_separated_prefix', value: '/api', caseSensitive: true });
  assert.equal(sep('/api'), true);
  assert.equal(sep('/api/x'), true);
  assert.equal(sep('/apiv2'), false);
  const regex = compilePathMatch({ kind: 'regex', value: '/r/\\d+', regex: compileFullMatch('/r/\\d+'), caseSensitive: true });
  assert.equal(regex('/r/12'), true);
  assert.equal(regex('/r/12/x'), false, 'full match only');
});

test('header matchers: string kinds, ignore case, regex, present, range, invert, missing', () => {
  const h = (m: Parameters<typeof compileHeaderMatch>[0], headers: Record<string, string | string[]>) => compileHeaderMatch(m)(view('/', headers), seeded());
  assert.equal(h({ name: 'x-user', invert: false, kind: 'exact', value: 'jason', ignoreCase: false }, { 'x-user': 'jason' }), true);
  assert.equal(h({ name: 'x-user', invert: false, kind: 'exact', value: 'jason', ignoreCase: false }, { 'x-user': 'Jason' }), false);
  assert.equal(h({ name: 'x-user', invert: false, kind: 'exact', value: 'jason', ignoreCase: true }, { 'x-user': 'JASON' }), true);
  assert.equal(h({ name: 'x-user', invert: false, kind: 'prefix', value: 'ja', ignoreCase: false }, { 'x-user': 'jason' }), true);
  assert.equal(h({ name: 'x-user', invert: false, kind: 'suffix', value: 'on', ignoreCase: false }, { 'x-user': 'jason' }), true);
  assert.equal(h({ name: 'x-user', invert: false, kind: 'contains', value: 'aso', ignoreCase: false }, { 'x-user': 'jason' }), true);
  assert.equal(h({ name: 'x-user', invert: false, kind: 'regex', value: 'j.*', regex: compileFullMatch('j.*') }, { 'x-user': 'jason' }), true);
  assert.equal(h({ name: 'x-user', invert: true, kind: 'exact', value: 'jason', ignoreCase: false }, { 'x-user': 'bob' }), true);
  // Multi-valued headers are joined with ','.
  assert.equal(h({ name: 'x-tag', invert: false, kind: 'exact', value: 'a,b', ignoreCase: false }, { 'x-tag': ['a', 'b'] }), true);
  // present / absent, with invert
  assert.equal(h({ name: 'x-a', invert: false, kind: 'present', present: true }, { 'x-a': '' }), true);
  assert.equal(h({ name: 'x-a', invert: false, kind: 'present', present: true }, {}), false);
  assert.equal(h({ name: 'x-a', invert: false, kind: 'present', present: false }, {}), true);
  assert.equal(h({ name: 'x-a', invert: true, kind: 'present', present: true }, {}), true);
  // Missing header: string matchers fail, inverted or not (Envoy).
  assert.equal(h({ name: 'x-a', invert: true, kind: 'exact', value: 'v', ignoreCase: false }, {}), false);
  // range [start, end)
  const range = { name: 'x-n', invert: false, kind: 'range' as const, start: -10, end: 0 };
  assert.equal(h(range, { 'x-n': '-1' }), true);
  assert.equal(h(range, { 'x-n': '0' }), false);
  assert.equal(h(range, { 'x-n': '1.5' }), false);
  assert.equal(h({ ...range, invert: true }, { 'x-n': '-1' }), false);
});

test('pseudo headers :method, :authority, :path', () => {
  const m = compileHeaderMatch({ name: ':method', invert: false, kind: 'exact', value: 'POST', ignoreCase: false });
  assert.equal(m(view('/', {}, 'POST'), seeded()), true);
  const a = compileHeaderMatch({ name: ':authority', invert: false, kind: 'exact', value: 'reviews', ignoreCase: false });
  assert.equal(a(view('/'), seeded()), true);
  const p = compileHeaderMatch({ name: ':path', invert: false, kind: 'exact', value: '/x?y=1', ignoreCase: false });
  assert.equal(p(view('/x?y=1'), seeded()), true);
});

test('query parameter matchers and grpc-only', () => {
  const present = compileQueryMatch({ name: 'debug', kind: 'present' });
  assert.equal(present(view('/?debug'), seeded()), true);
  assert.equal(present(view('/?x=1'), seeded()), false);
  const value = compileQueryMatch({ name: 'u', kind: 'exact', value: 'a b', ignoreCase: false });
  assert.equal(value(view('/?u=a%20b&u=c'), seeded()), true);
  const grpc = compileRouteMatch({ path: { kind: 'prefix', value: '/', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: true });
  assert.equal(grpc(view('/', { 'content-type': 'application/grpc+proto' }), seeded()), true);
  assert.equal(grpc(view('/', { 'content-type': 'application/json' }), seeded()), false);
});

test('runtime fraction matches that share of requests', () => {
  const m = compileRouteMatch({ path: { kind: 'prefix', value: '/', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false, fraction: { numerator: 25, denominator: 100 } });
  const r = seeded(3);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (m(view('/'), r)) hits++;
  assert.ok(Math.abs(hits - 2500) < 250, `hits ${hits}`);
});
