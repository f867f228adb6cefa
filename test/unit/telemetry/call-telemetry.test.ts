// CallTelemetry's decisions without I/O: an unsampled call sends traceparent with the flag off
// under the inbound request's trace id and allocates nothing else (no x-request-id unless
// something reads it); disableSpanReporting keeps a sampled decision going downstream without a
// span; custom tags (literal, environment, header with default) land on the span; access logs
// per direction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CallTelemetry } from '../../../src/telemetry/call-telemetry.js';
import { loadTracing } from '../../../src/telemetry/tracing.js';
import { AccessLogger, type AccessLogEntry } from '../../../src/telemetry/access-log.js';
import { SCOPE_KEY, type CallScope } from '../../../src/telemetry/context.js';

const LOCAL = { service: 'reviews', namespace: 'default', domainSuffix: 'cluster.local', address: '127.0.0.1' };

async function setup(random: number, log?: AccessLogger) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracing = (await loadTracing({ provider }))!;
  return { exporter, t: new CallTelemetry(LOCAL, tracing, log, false, () => random) };
}

function outboundCall(headers: Record<string, string> = {}, callerScope?: CallScope) {
  return {
    headers,
    protocol: 'http' as const, method: 'GET', authority: 'ratings', path: '/r', routeName: 'r', clusterName: 'outbound|9080||ratings.default.svc.cluster.local',
    flags: [], attempts: 1, status: 200, grpcStatus: undefined, endpoint: undefined, responseBytes: 0, durationMs: 1, callerScope,
    requestHeader(name: string) { return headers[name]; },
    setRequestHeader(name: string, value: string) { headers[name] = value; },
  };
}

function inboundCall(headers: Record<string, string>) {
  const view = { protocol: 'http', method: 'GET', path: '/', query: '', host: 'reviews:9080', localPort: 9080, tls: false, peer: { address: '127.0.0.1', port: 1 }, header: (n: string) => headers[n] };
  return { view, startTime: performance.now(), flags: [], state: {} as Record<string, unknown>, native: undefined };
}

test('unsampled: traceparent with the flag off under the inbound trace id; no x-request-id, no state', async () => {
  const { t, exporter } = await setup(0.5);
  t.sampling = { client: 1, server: 1 };
  const inbound = inboundCall({});
  t.stage.onRequest!(inbound as never);
  const scope = inbound.state[SCOPE_KEY] as CallScope;
  assert.equal(scope.sampled, false);
  assert.match(scope.traceId!, /^[0-9a-f]{32}$/);
  assert.equal(scope.requestId, undefined, 'nothing reads an id: none is made');
  const call = outboundCall({}, scope);
  const state = t.onStart(call as never);
  assert.equal(state, undefined, 'no per-call state for an unsampled call that logs nothing');
  assert.match(call.headers['traceparent']!, new RegExp(`^00-${scope.traceId}-[0-9a-f]{16}-00$`));
  assert.equal(call.headers['x-request-id'], undefined);
  // A caller's id is still passed on.
  const withId = inboundCall({ 'x-request-id': 'abc' });
  t.stage.onRequest!(withId as never);
  const forwarded = outboundCall({}, withId.state[SCOPE_KEY] as CallScope);
  t.onStart(forwarded as never);
  assert.equal(forwarded.headers['x-request-id'], 'abc');
  // A caller's sampled=0 wins over 100%.
  t.sampling = { client: 100, server: 100 };
  const declined = inboundCall({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' });
  t.stage.onRequest!(declined as never);
  assert.deepEqual({ ...(declined.state[SCOPE_KEY] as CallScope) }, { requestId: undefined, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', sampled: false });
  assert.equal(exporter.getFinishedSpans().length, 0);
});

test('disableSpanReporting: sampled, propagated with the flag on, no span; the other side still reports', async () => {
  const { t, exporter } = await setup(0);
  t.spans('client', { report: false, customTags: [] });
  const call = outboundCall();
  t.onEnd(t.onStart(call as never), call as never);
  assert.match(call.headers['traceparent']!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(exporter.getFinishedSpans().length, 0);
  const inbound = inboundCall({ traceparent: call.headers['traceparent']! });
  t.stage.onRequest!(inbound as never);
  t.stage.onEnd!(inbound as never, { status: 200, requestBytes: 0, responseBytes: 0, durationMs: 1 } as never);
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 1, 'the server side reports');
  assert.equal(spans[0]!.spanContext().traceId, call.headers['traceparent']!.slice(3, 35));
});

test('custom tags: literal, environment (default when unset), header (default when absent)', async () => {
  const { t, exporter } = await setup(0);
  t.spans('server', {
    report: true,
    customTags: [
      { tag: 'team', kind: 'literal', value: 'bookinfo' },
      { tag: 'region', kind: 'environment', name: 'REGION', defaultValue: 'nowhere' },
      { tag: 'zone', kind: 'environment', name: 'ZONE', defaultValue: 'z0' },
      { tag: 'user', kind: 'header', name: 'x-user', defaultValue: 'anonymous' },
      { tag: 'tenant', kind: 'header', name: 'x-tenant', defaultValue: '' },
    ],
  }, { REGION: 'eu' });
  for (const headers of [{ 'x-user': 'alice' }, {}] as Array<Record<string, string>>) {
    const inbound = inboundCall(headers);
    t.stage.onRequest!(inbound as never);
    t.stage.onEnd!(inbound as never, { status: 200, requestBytes: 0, responseBytes: 0, durationMs: 1 } as never);
  }
  const [a, b] = exporter.getFinishedSpans();
  assert.deepEqual([a!.attributes['team'], a!.attributes['region'], a!.attributes['zone'], a!.attributes['user']], ['bookinfo', 'eu', 'z0', 'alice']);
  assert.equal(b!.attributes['user'], 'anonymous');
  assert.equal('tenant' in b!.attributes, false, 'no value and no default: no tag');
});

test('access logs per direction: a SERVER-only policy logs inbound requests, not calls', async () => {
  const entries: AccessLogEntry[] = [];
  const log = new AccessLogger({ sink: (e) => void entries.push(e) });
  log.apply({ enabled: true }, { enabled: false });
  const { t } = await setup(0.5, log);
  t.sampling = { client: 0, server: 0 };
  const inbound = inboundCall({});
  t.stage.onRequest!(inbound as never);
  const scope = inbound.state[SCOPE_KEY] as CallScope;
  assert.match(scope.requestId!, /^[0-9a-f-]{36}$/, 'an inbound line reads the id: one is made');
  const call = outboundCall({}, scope);
  t.onEnd(t.onStart(call as never), call as never);
  t.stage.onEnd!(inbound as never, { status: 200, requestBytes: 0, responseBytes: 0, durationMs: 1 } as never);
  assert.deepEqual(entries.map((e) => e.direction), ['inbound']);
  assert.equal(entries[0]!.trace_id, scope.traceId);
  assert.equal(call.headers['x-request-id'], scope.requestId, 'the handler’s call carries it');
});
