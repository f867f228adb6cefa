// The inbound policy's ordering and failure rules, without sockets: phases run authn → authz →
// app whatever the registration order, a refusal stops the chain, async stages work, and a stage
// that throws or rejects refuses the request (fail closed) instead of letting it through.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InboundPolicy, INBOUND_PHASE, type InboundCall } from '../../../src/security/inbound-policy.js';
import type { InboundRequestView } from '../../../src/core/inbound.js';

function call(path = '/'): InboundCall {
  const view: InboundRequestView = { protocol: 'http', peer: { address: '127.0.0.1', port: 1 }, tls: false, localPort: 9080, host: 'reviews', method: 'GET', path, query: '', header: () => undefined };
  return { view, startTime: 0, flags: [], state: {}, native: undefined };
}

function run(policy: InboundPolicy, c: InboundCall): Promise<{ verdict: unknown; sync: boolean }> {
  return new Promise((resolve) => {
    let sync = true;
    policy.run(c, (verdict) => resolve({ verdict, sync }));
    sync = false;
  });
}

describe('InboundPolicy', () => {
  test('runs phases in Envoy order (authn, authz, app) and keeps registration order within a phase', async () => {
    const policy = new InboundPolicy();
    const seen: string[] = [];
    policy.use({ name: 'app1', onRequest: () => void seen.push('app1') }, INBOUND_PHASE.app);
    policy.use({ name: 'rbac', onRequest: () => void seen.push('rbac') }, INBOUND_PHASE.authz);
    policy.use({ name: 'jwt', onRequest: () => void seen.push('jwt') }, INBOUND_PHASE.authn);
    policy.use({ name: 'app2', onRequest: () => void seen.push('app2') });
    const { verdict, sync } = await run(policy, call());
    assert.equal(verdict, undefined);
    assert.equal(sync, true, 'synchronous stages answer synchronously');
    assert.deepEqual(seen, ['jwt', 'rbac', 'app1', 'app2']);
  });

  test('a refusal stops the chain and names its stage; async stages continue the chain', async () => {
    const policy = new InboundPolicy();
    const seen: string[] = [];
    policy.use({ name: 'jwt', onRequest: async () => void seen.push('jwt') }, INBOUND_PHASE.authn);
    policy.use({ name: 'rbac', onRequest: (c) => (c.view.path === '/admin' ? { status: 403, body: 'RBAC: access denied' } : undefined) }, INBOUND_PHASE.authz);
    policy.use({ name: 'app', onRequest: () => void seen.push('app') });
    assert.deepEqual((await run(policy, call('/admin'))).verdict, { status: 403, body: 'RBAC: access denied', stage: 'rbac' });
    assert.deepEqual(seen, ['jwt']);
    assert.equal((await run(policy, call('/ok'))).verdict, undefined);
    assert.deepEqual(seen, ['jwt', 'jwt', 'app']);
  });

  test('a stage that throws or rejects refuses with 500: fail closed', async () => {
    const policy = new InboundPolicy();
    const sub = policy.use({ name: 'broken', onRequest: () => { throw new Error('boom'); } }, INBOUND_PHASE.authz);
    assert.deepEqual((await run(policy, call())).verdict, { status: 500, body: 'internal error', stage: 'broken' });
    sub.dispose();
    policy.use({ name: 'jwks', onRequest: () => Promise.reject(new Error('jwks down')) }, INBOUND_PHASE.authn);
    assert.deepEqual((await run(policy, call())).verdict, { status: 500, body: 'internal error', stage: 'jwks' });
  });

  test('end() reaches every stage even when one throws; dispose removes a stage', () => {
    const policy = new InboundPolicy();
    const ends: number[] = [];
    policy.use({ name: 'a', onEnd: () => { throw new Error('metrics broke'); } });
    const b = policy.use({ name: 'b', onEnd: (_c, o) => void ends.push(o.status) });
    const outcome = { status: 200, requestBytes: 0, responseBytes: 2, durationMs: 1 };
    policy.end(call(), outcome);
    b.dispose();
    policy.end(call(), outcome);
    assert.deepEqual(ends, [200]);
    assert.equal(new InboundPolicy().empty, true);
  });
});
