// Why the mesh builds each upstream dispatch's options as one object literal: undici's Request
// constructor on options made by a spread that adds a key the source lacked, vs the same options
// as a literal, vs a spread whose source already had the key. ns per constructor call.
//
//   node bench/undici-request-shape.cjs
'use strict';
const Request = require('undici/lib/core/request.js');

const handler = { onConnect() {}, onHeaders() {}, onData() {}, onComplete() {}, onError() {} };
const callerOpts = { origin: 'http://reviews', path: '/tiny', method: 'GET' };
const callerOptsWithHeaders = { origin: 'http://reviews', path: '/tiny', method: 'GET', headers: undefined };
const headers = () => { const h = {}; h.host = 'reviews.default.svc.cluster.local'; return h; };

const cases = {
  'spread adding headers: { ...opts, origin, path, headers }': () => ({ ...callerOpts, origin: 'http://127.0.0.1:1', path: '/tiny', headers: headers() }),
  'spread, source already had headers': () => ({ ...callerOptsWithHeaders, origin: 'http://127.0.0.1:1', path: '/tiny', headers: headers() }),
  'one literal (what upstreamOptions() does)': () => ({ origin: 'http://127.0.0.1:1', path: '/tiny', method: callerOpts.method, headers: headers() }),
};

const which = process.argv[2];
if (which === undefined) {
  // Each case in its own process: V8's feedback from one case would colour the next.
  const { execFileSync } = require('node:child_process');
  for (const name of Object.keys(cases)) process.stdout.write(execFileSync(process.execPath, [__filename, name], { encoding: 'utf8' }));
} else {
  const make = cases[which];
  for (let i = 0; i < 50_000; i++) new Request('http://127.0.0.1:1', make(), handler);
  const n = 300_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) new Request('http://127.0.0.1:1', make(), handler);
  console.log(`${which.padEnd(58)} ${(Number(process.hrtime.bigint() - t) / n).toFixed(0).padStart(6)} ns`);
}
