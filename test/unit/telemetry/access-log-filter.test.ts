// The access log filter's CEL subset: the expressions people write in Telemetry
// accessLogging[].filter.expression, evaluated on entries; everything else refused with
// MESHLET_ERR_ACCESS_LOG_FILTER and a position; bounded input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAccessLogFilter } from '../../../src/telemetry/access-log-filter.js';
import { formatAccessLog, type AccessLogEntry } from '../../../src/telemetry/access-log.js';
import { isMeshError } from '../../../src/errors.js';

function entry(over: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    direction: 'inbound', start_time: '2026-12-03T18:00:00.000Z', method: 'GET', path: '/api/v1/products?x=1', protocol: 'HTTP/1.1',
    response_code: 200, grpc_status: null, response_flags: '-', bytes_received: 0, bytes_sent: 10, duration: 3, authority: 'productpage:9080',
    request_id: 'r1', trace_id: null, upstream_host: '10.0.0.1:9080', upstream_cluster: 'inbound|9080||', route_name: 'default',
    downstream_remote_address: '10.0.0.2:5555', downstream_peer_principal: null, user_agent: 'curl/8',
    requestHeader: (n) => (n === 'x-debug' ? '1' : undefined),
    ...over,
  };
}

test('the usual expressions', () => {
  const cases: Array<[string, Partial<AccessLogEntry>, boolean]> = [
    ['response.code >= 400', { response_code: 503 }, true],
    ['response.code >= 400', { response_code: 200 }, false],
    ['response.code >= 500 || response.code == 0', { response_code: 0 }, true],
    ['response.code != 200 && request.method == "GET"', { response_code: 404 }, true],
    ["request.method == 'POST'", {}, false],
    ['!(response.code < 400)', { response_code: 429 }, true],
    ['request.url_path.startsWith("/api")', {}, true],
    ['request.path.contains("x=1")', {}, true],
    ['request.url_path.endsWith("/x")', {}, false],
    ["request.headers['x-debug'] == '1'", {}, true],
    ["request.headers['x-missing'] == '1'", {}, false],
    ['response.flags != "-"', { response_flags: 'UH' }, true],
    ['connection.mtls == true', {}, false],
    ['request.duration_ms > 2 && response.size >= 10u', {}, true],
    ['response.grpc_status == 14', { grpc_status: 14 }, true],
    ['response.grpc_status == 14', {}, false],
    ['xds.cluster_name.startsWith("inbound")', {}, true],
    ['direction == "outbound"', {}, false],
  ];
  for (const [expr, over, want] of cases) assert.equal(compileAccessLogFilter(expr)(entry(over)), want, expr);
});

test('everything else is refused with a coded error naming the position', () => {
  for (const [expr, why] of [
    ['response.code', 'must be a condition'],
    ['response.code >= "400"', 'cannot compare'],
    ['response.bogus == 1', 'unknown or unsupported attribute'],
    ['request.path.matches("^/a")', 'unsupported function'],
    ['size(request.path) > 3', 'unknown or unsupported attribute size'],
    ['response.code >= 400 ||', 'unexpected end'],
    ['(response.code >= 400', 'expected ")"'],
    ['request.path == "a\\"b"', 'escapes'],
    ['request.path == "open', 'unterminated'],
    ['response.code >= 400 && 1', 'need conditions'],
    ['', 'empty'],
    ['('.repeat(40) + 'true' + ')'.repeat(40), 'nested deeper'],
    ['response.code == 1 || '.repeat(100) + 'true', 'longer than'],
  ] as const) {
    assert.throws(() => compileAccessLogFilter(expr), (err: unknown) => isMeshError(err, 'MESHLET_ERR_ACCESS_LOG_FILTER') && err.message.includes(why), `${expr.slice(0, 40)}: ${why}`);
  }
});

test('formatAccessLog: one JSON object with Istio field names, nulls for missing values, no internal fields', () => {
  const line = formatAccessLog(entry());
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.equal(parsed['response_code'], 200);
  assert.equal(parsed['trace_id'], null);
  assert.equal(parsed['request_id'], 'r1');
  assert.equal('requestHeader' in parsed, false);
  assert.equal(line.includes('\n'), false);
});
