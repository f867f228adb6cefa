// Bad-input corpora from the Istio and Envoy advisories: every case either is refused (400) or
// is decided on the normalized path, which is also the path the app receives. 0 bypasses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeForPolicy } from '../../../../src/security/authz/index.js';
import { engineFor, policy, view, type ViewInit } from '../../../helpers/authz.js';

const denyAdmin = engineFor([policy('deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin', '/admin/*'] } }] }] })]);
const allowPublic = engineFor([policy('allow-public', { rules: [{ to: [{ operation: { paths: ['/public/*'] } }] }] })]);

/** The decision for a raw request target: 400, or the policy's answer and the app's path. */
function decide(engine: typeof denyAdmin, target: string, init: ViewInit = {}): { status: number; appPath?: string } {
  const n = normalizeForPolicy(target);
  if ('status' in n) return { status: n.status };
  const d = engine.check(view({ ...init, path: n.path, query: n.query }));
  return { status: d.allowed ? 200 : 403, appPath: n.path };
}

const ADMIN_VARIANTS = [
  // CVE-2019-9901: dot segments
  '/public/../admin', '/public/./../admin', '/./admin', '/public/..//admin/x', '/a/b/../../admin',
  // CVE-2021-31920: escaped slashes and backslashes
  '/public%2F..%2Fadmin', '/public%2f..%2fadmin', '/admin%2Fusers', '/public%5C..%5Cadmin', '/public\\..\\admin', '/admin%5cusers',
  // encoded dots and unreserved characters
  '/%2e%2e/admin', '/public/%2E%2E/admin', '/%61dmin', '/%61%64%6d%69%6e/x', '/public/.%2e/admin',
  // merged slashes
  '//admin', '///admin//x', '/public/..///admin',
  // CVE-2020-8595 and CVE-2021-39156: query and fragment never hide the path
  '/admin?x=1', '/admin#frag', '/admin#/../public/x', '/admin/x?/public/', '/admin;x=1/../admin',
];

test('DENY /admin*: every bypass variant is denied or refused, never served', () => {
  for (const target of ADMIN_VARIANTS) {
    const r = decide(denyAdmin, target);
    assert.ok(r.status === 403 || r.status === 400, `${target} → ${r.status} (app would see ${r.appPath})`);
  }
});

test('ALLOW /public/*: a path that leaves /public is not allowed', () => {
  for (const target of ['/public/../admin', '/public/%2e%2e/admin', '/public%2F..%2Fadmin', '/public/..%5Cadmin', '/public/x/../../admin']) {
    assert.equal(decide(allowPublic, target).status, 403, target);
  }
  assert.deepEqual(decide(allowPublic, '/public/./x//y'), { status: 200, appPath: '/public/x/y' });
  assert.deepEqual(decide(allowPublic, '/public/%7Euser'), { status: 200, appPath: '/public/~user' });
});

test('NUL, control characters and malformed escapes are 400', () => {
  for (const target of ['/admin%00', '/public/\u0000/admin', '/a%0', '/a%', '/a%g1', '/a%%32%65', '/x\u0001', '/x\u007f', 'admin', '']) {
    assert.equal(decide(denyAdmin, target).status, 400, JSON.stringify(target));
  }
});

test('an escaped percent is never decoded twice', () => {
  assert.deepEqual(decide(denyAdmin, '/%252e%252e/admin'), { status: 200, appPath: '/%252e%252e/admin' });
  assert.deepEqual(decide(denyAdmin, '/x%252Fadmin'), { status: 200, appPath: '/x%252Fadmin' });
});

test('CVE-2021-39155: hosts match case-insensitively', () => {
  const e = engineFor([policy('deny-host', { action: 'DENY', rules: [{ to: [{ operation: { hosts: ['admin.example.com'] } }] }] })]);
  for (const host of ['admin.example.com', 'ADMIN.example.com', 'Admin.Example.Com']) assert.equal(e.check(view({ host })).allowed, false, host);
  assert.equal(e.check(view({ host: 'www.example.com' })).allowed, true);
});

test('CVE-2020-25017: every value of a repeated header is seen (joined with a comma)', () => {
  const allowAdmin = engineFor([policy('role', { rules: [{ when: [{ key: 'request.headers[x-role]', values: ['admin'] }] }] })]);
  assert.equal(allowAdmin.check(view({ headers: { 'x-role': 'admin' } })).allowed, true);
  assert.equal(allowAdmin.check(view({ headers: { 'x-role': 'guest,admin' } })).allowed, false);
  const denyGuest = engineFor([policy('g', { action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-role]', values: ['*guest'] }] }] })]);
  assert.equal(denyGuest.check(view({ headers: { 'x-role': 'admin,guest' } })).allowed, false);
});

test('spoofed identity headers never grant anything', () => {
  const e = engineFor([policy('p', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/admin'] } }] }] })]);
  for (const h of ['x-forwarded-client-cert', 'x-envoy-peer-metadata', 'x-istio-attributes', 'x-forwarded-for']) {
    assert.equal(e.check(view({ headers: { [h]: 'By=spiffe://cluster.local/ns/default/sa/admin;URI=spiffe://cluster.local/ns/default/sa/admin' } })).allowed, false, h);
  }
});

/** mulberry32: a seeded PRNG so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = ['/', '/', '//', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '\\', 'admin', 'admin', 'public', 'a', '%61', 'dmin', '%41', '?', '#', ';', '%25', '%00', '%', '%zz', '~', '%7e', 'x'];

test('fuzz: the policy decision always equals a plain check of the path the app receives', () => {
  const random = prng(0x5eed);
  let refused = 0;
  let denied = 0;
  for (let i = 0; i < 20_000; i++) {
    let target = '/';
    const n = 1 + Math.floor(random() * 10);
    for (let j = 0; j < n; j++) target += TOKENS[Math.floor(random() * TOKENS.length)];
    const r = decide(denyAdmin, target);
    if (r.status === 400) {
      refused++;
      continue;
    }
    const app = r.appPath as string;
    const reference = app === '/admin' || app.startsWith('/admin/');
    assert.equal(r.status === 403, reference, `${JSON.stringify(target)} → ${r.status}, app sees ${app}`);
    if (reference) denied++;
    // The app's path is canonical: normalizing it again changes nothing, and nothing in it can
    // be read two ways.
    const again = normalizeForPolicy(app);
    assert.ok(!('status' in again) && again.path === app && again.query === '', `${JSON.stringify(target)}: ${app} is not canonical`);
    assert.ok(!/\/\.\.?(\/|$)|\/\/|%2[fF]|%5[cC]|\\|%2[eE]|\u0000/.test(app), `${JSON.stringify(target)}: ${app} is ambiguous`);
  }
  assert.ok(refused > 0 && denied > 100, `refused ${refused}, denied ${denied}: the corpus reaches both outcomes`);
});
