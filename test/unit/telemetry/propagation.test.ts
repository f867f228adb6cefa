// W3C Trace Context and B3 (single and multi-header) parsing: valid forms, the edge cases the
// specs call out, and malformed or oversized headers ignored (bounded, never thrown).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractTrace, formatTraceparent, parseB3Multi, parseB3Single, parseTraceparent, randomId } from '../../../src/telemetry/propagation.js';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';

test('W3C traceparent: version 00, sampled flag, tracestate kept', () => {
  assert.deepEqual(parseTraceparent(`00-${TID}-${SID}-01`, 'congo=t61rcWkgMzE'), { traceId: TID, spanId: SID, sampled: true, traceState: 'congo=t61rcWkgMzE' });
  assert.deepEqual(parseTraceparent(`00-${TID}-${SID}-00`), { traceId: TID, spanId: SID, sampled: false });
  assert.equal(parseTraceparent(`00-${TID}-${SID}-03`)?.sampled, true, 'other flag bits do not hide the sampled bit');
  // A later version may append fields after a dash (W3C §3.2.4).
  assert.equal(parseTraceparent(`01-${TID}-${SID}-01-what-the-future-holds`)?.traceId, TID);
});

test('W3C traceparent: malformed ones are ignored', () => {
  for (const bad of [
    `00-${TID}-${SID}-1`, // short flags
    `00-${TID.toUpperCase()}-${SID}-01`, // upper-case hex
    `00-${'0'.repeat(32)}-${SID}-01`, // all-zero trace id
    `00-${TID}-${'0'.repeat(16)}-01`, // all-zero span id
    `ff-${TID}-${SID}-01`, // forbidden version
    `00-${TID}-${SID}-01-extra`, // version 00 has exactly four fields
    `01-${TID}-${SID}-01x`, // a later version still needs a dash after the flags
    `00_${TID}_${SID}_01`,
    `00-${TID.slice(1)}g-${SID}-01`,
    '',
    `00-${TID}-${SID}-01`.padEnd(600, '-'), // over the bound
  ]) assert.equal(parseTraceparent(bad), undefined, bad.slice(0, 70));
  assert.equal(parseTraceparent(`00-${TID}-${SID}-01`, 'x'.repeat(600))?.traceState, undefined, 'an oversized tracestate is dropped');
});

test('B3 single header: full, with parent, decision only, 64-bit ids', () => {
  assert.deepEqual(parseB3Single(`${TID}-${SID}-1-05e3ac9a4f6e3b90`), { traceId: TID, spanId: SID, sampled: true });
  assert.deepEqual(parseB3Single(`${TID}-${SID}`), { traceId: TID, spanId: SID });
  assert.deepEqual(parseB3Single(`${TID}-${SID}-d`), { traceId: TID, spanId: SID, sampled: true }, 'debug implies sampled');
  assert.deepEqual(parseB3Single('a3ce929d0e0e4736-00f067aa0ba902b7-0'), { traceId: '0000000000000000a3ce929d0e0e4736', spanId: SID, sampled: false });
  assert.deepEqual(parseB3Single('0'), { sampled: false });
  assert.deepEqual(parseB3Single('1'), { sampled: true });
  for (const bad of ['x', `${TID}`, `${TID}-${SID}-2`, `${TID}-abc`, `${TID}-${SID}-1-zz`, `${TID}-${SID}-1-${SID}-more`, 'a'.repeat(200)]) {
    assert.equal(parseB3Single(bad), undefined, bad.slice(0, 60));
  }
});

test('B3 multi-header (x-b3-*): ids, sampled 1/0/true, flags=1 debug, malformed skipped', () => {
  const h = (m: Record<string, string>) => (name: string) => m[name];
  assert.deepEqual(parseB3Multi(h({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-sampled': '1', 'x-b3-parentspanid': '05e3ac9a4f6e3b90' })), { traceId: TID, spanId: SID, sampled: true });
  assert.deepEqual(parseB3Multi(h({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-sampled': 'true' })), { traceId: TID, spanId: SID, sampled: true });
  assert.deepEqual(parseB3Multi(h({ 'x-b3-traceid': TID, 'x-b3-spanid': SID })), { traceId: TID, spanId: SID });
  assert.deepEqual(parseB3Multi(h({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-flags': '1', 'x-b3-sampled': '0' })), { traceId: TID, spanId: SID, sampled: true });
  assert.deepEqual(parseB3Multi(h({ 'x-b3-sampled': '0' })), { sampled: false });
  assert.equal(parseB3Multi(h({ 'x-b3-traceid': TID })), undefined, 'no span id');
  assert.equal(parseB3Multi(h({ 'x-b3-traceid': 'nothex', 'x-b3-spanid': SID })), undefined);
  assert.equal(parseB3Multi(h({ 'x-b3-traceid': TID, 'x-b3-spanid': SID, 'x-b3-sampled': 'maybe' })), undefined);
  assert.equal(parseB3Multi(h({ 'x-b3-traceid': TID.repeat(20), 'x-b3-spanid': SID })), undefined, 'over the bound');
});

test('extractTrace: W3C wins; a malformed traceparent falls back to B3; nothing: undefined', () => {
  const h = (m: Record<string, string>) => (name: string) => m[name];
  const b3 = `463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1`;
  assert.equal(extractTrace(h({ traceparent: `00-${TID}-${SID}-01`, b3 }))?.traceId, TID);
  assert.equal(extractTrace(h({ traceparent: 'garbage', b3 }))?.traceId, '463ac35c9f6413ad48485a3953bb6124');
  assert.equal(extractTrace(h({ b3: 'garbage', 'x-b3-traceid': TID, 'x-b3-spanid': SID }))?.spanId, SID);
  assert.equal(extractTrace(h({})), undefined);
  assert.equal(extractTrace(h({ traceparent: 'garbage' })), undefined);
});

test('formatTraceparent round-trips; random ids have the right size and are not all zeros', () => {
  const t = randomId(16), s = randomId(8);
  assert.match(t, /^[0-9a-f]{32}$/);
  assert.match(s, /^[0-9a-f]{16}$/);
  assert.notEqual(randomId(16), t);
  assert.deepEqual(parseTraceparent(formatTraceparent(t, s, false)), { traceId: t, spanId: s, sampled: false });
});
