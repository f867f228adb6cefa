// Config regexes are RE2 (Istio's and Envoy's engine): rejected where RE2 rejects them (at
// config load with file:line, at xDS decode with the field path), matched with RE2's meaning,
// and in time linear in the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { parseConfig } from '../../../src/config/index.js';
import { compileFullMatch, compileRewrite, regexProblem } from '../../../src/internal/regex.js';
import { decodeRouteConfig, validateRouteConfig } from '../../../src/xds/resources/route.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { encode, routeConfig } from '../../helpers/xds-resources.js';

test('what RE2 rejects is rejected, with RE2\'s reason', () => {
  assert.match(regexProblem('(?=a)b') ?? '', /invalid or unsupported Perl syntax: `\(\?=`/);
  assert.match(regexProblem('(a)\\1') ?? '', /invalid escape sequence: `\\1`/);
  assert.match(regexProblem('a{1001}') ?? '', /invalid repeat count/);
  assert.match(regexProblem('(?<!x)y') ?? '', /invalid named capture/);
  assert.match(regexProblem('x'.repeat(5000)) ?? '', /at most 4096/);
  for (const ok of ['(?s)a.b', '\\pL+', '\\Aabc\\z', '[[:alpha:]]+', '(?P<id>[0-9]+)', '(?i)jason', 'a{1000}', '/api/v[0-9]+/.*']) {
    assert.equal(regexProblem(ok), undefined, ok);
  }
});

test('RE2 meaning, not JavaScript\'s', () => {
  assert.equal(compileFullMatch('\\pL+').test('héllo'), true, '\\pL is a Unicode letter (in JS it is "pL")');
  assert.equal(compileFullMatch('\\pL+').test('pL'), true);
  assert.equal(compileFullMatch('\\pL+').test('h3llo'), false);
  assert.equal(compileFullMatch('[[:alpha:]]+').test('abc'), true, 'a POSIX class (in JS a set of [ : a l p h)');
  assert.equal(compileFullMatch('[[:alpha:]]+').test(':'), false);
  assert.equal(compileFullMatch('\\Aabc\\z').test('abc'), true, '\\A and \\z anchor (in JS they are the letters A and z)');
  assert.equal(compileFullMatch('(?s)a.b').test('a\nb'), true);
  assert.equal(compileFullMatch('a.b').test('a\nb'), false, '. stops at a newline');
  assert.equal(compileFullMatch('a.b').test('a\rb'), true, '. matches \\r in RE2 (not in JS)');
  assert.equal(compileFullMatch('(?i)JaSoN').test('jason'), true);
  assert.equal(compileFullMatch('/r/[0-9]+').test('/r/12/x'), false, 'full match, as safe_regex');
});

test('the literal fast path answers exactly as RE2 does', () => {
  const patterns = ['/health', '/api/.*', '.*\\.css', '.*jason.*', '.*', '\\..*', 'a\\.b', 'x-.*-y', '.*\\/v1\\/.*'];
  const inputs = ['', '/health', '/health/', '/api/', '/api/x\ny', 'a.css', 'x.css\n', 'jason', 'hi jason!', 'ja\nson jason', '\n', '.x', 'a.b', 'axb', 'x-a-y', '/v1/', 'p/v1/q'];
  for (const p of patterns) {
    const ours = compileFullMatch(p);
    const re2 = RE2JS.compile(p);
    for (const v of inputs) assert.equal(ours.test(v), re2.matches(v), `${JSON.stringify(p)} on ${JSON.stringify(v)}`);
  }
});

test('matching is linear: (a+)+b against 20 000 a\'s answers at once (RegExp would never finish)', () => {
  assert.equal(compileFullMatch('(a+)+b').test('a'.repeat(20_000)), false);
  assert.equal(compileFullMatch('(x+x+)+y').test('x'.repeat(20_000)), false);
});

test('rewrites substitute every match with $N groups', () => {
  assert.equal(compileRewrite('/v1/([a-z]+)').replaceAll('/v1/a/v1/b', '/v2/$1'), '/v2/a/v2/b');
  assert.equal(compileRewrite('^/(?P<x>[0-9]+)$').replaceAll('/42', '/id/$1'), '/id/42');
});

test('config load: an RE2-invalid regex is a schema error at its file:line', () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [r]
  http:
  - match:
    - uri: { regex: "/a(?=b)" }
    - headers: { x-user: { regex: "(a)\\\\1" } }
    - authority: { regex: "(?s).*" }
    - queryParams: { q: { regex: "x{2000}" } }
    route: [{ destination: { host: r } }]
`;
  const { diagnostics } = parseConfig(yaml, 'routes.yaml');
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors.map((d) => [d.code, d.line, d.path]), [
    ['MESHLET_ERR_CONFIG_SCHEMA', 8, 'spec.http[0].match[0].uri.regex'],
    ['MESHLET_ERR_CONFIG_SCHEMA', 9, 'spec.http[0].match[1].headers["x-user"].regex'],
    ['MESHLET_ERR_CONFIG_SCHEMA', 11, 'spec.http[0].match[3].queryParams.q.regex'],
  ], JSON.stringify(errors, null, 1));
  assert.match(errors[0]!.message, /RE2 syntax.*\(\?=/);
});

test('xDS decode: an RE2-invalid safe_regex NACKs with its field path', () => {
  const rc = routeConfig('rc', [
    { match: { safe_regex: { regex: '/ok/[0-9]+' } }, route: { cluster: 'c' } },
    { match: { prefix: '/', headers: [{ name: 'x', string_match: { safe_regex: { regex: '(a)\\1' } } }] }, route: { cluster: 'c' } },
  ]);
  const result = validateRouteConfig(decodeRouteConfig(encode(TYPE_URL.route, rc)));
  const errors = 'errors' in result ? result.errors : [];
  assert.ok(errors.some((e) => /^virtual_hosts\[0\]\.routes\[1\]\.match\.headers\[0\]\.string_match\.safe_regex\.regex: invalid regex "\(a\)\\\\1" \(RE2 syntax\)/.test(e)), JSON.stringify(errors));
});
