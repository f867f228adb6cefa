// IdentityManager on a fake clock against an in-process CA (the gRPC transport is the seam):
// first SVID, rotation at ~50% of the lifetime, the old certificate kept while the CA fails,
// retries that come sooner toward expiry, trust-change events, and answers it must refuse.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CertificateService } from '../../../src/control/ca/certificate-service.js';
import type { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { IdentityManager, type IdentityErrorEvent, type RotateEvent, type TrustChangeEvent } from '../../../src/security/identity/manager.js';
import { retryDelay, rotationDelay, ROTATION_DEFAULTS } from '../../../src/security/identity/rotation.js';
import type { CertificateRequest } from '../../../src/security/identity/ca-client.js';
import { meshError } from '../../../src/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { testCa } from '../../helpers/ca.js';
import { EventEmitter } from 'node:events';

const HOUR = 3600_000;
const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

describe('rotation math', () => {
  test('rotation at 50% ±1% of the lifetime (Istio SECRET_GRACE_PERIOD_RATIO 0.5, jitter 0.01)', () => {
    assert.equal(rotationDelay(ROTATION_DEFAULTS, 24 * HOUR, 0.5), 12 * HOUR);
    assert.equal(Math.round(rotationDelay(ROTATION_DEFAULTS, 24 * HOUR, 0)), Math.round(24 * HOUR * 0.51));
    assert.equal(Math.round(rotationDelay(ROTATION_DEFAULTS, 24 * HOUR, 1)), Math.round(24 * HOUR * 0.49));
  });

  test('retries after a failure come at 70% of the time left, clamped to 10 s – 24 h (linkerd2-proxy refresh_in)', () => {
    const left = [12 * HOUR, 3 * HOUR, HOUR, 60_000, 5_000, -1];
    const delays = left.map((ms) => retryDelay(ROTATION_DEFAULTS, ms, 1, 0.5));
    assert.deepEqual(delays, [8.4 * HOUR, 2.1 * HOUR, 0.7 * HOUR, 42_000, 10_000, 10_000]);
    assert.equal(retryDelay(ROTATION_DEFAULTS, 100 * 24 * HOUR, 1, 0.5), 24 * HOUR);
  });

  test('before the first certificate: 1 s doubling up to 10 s, ±20%', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 9].map((n) => retryDelay(ROTATION_DEFAULTS, undefined, n, 0.5)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert.equal(retryDelay(ROTATION_DEFAULTS, undefined, 1, 0), 800);
  });
});

/** Routes the manager's requests to an in-process CertificateService; `fail` makes the CA unreachable. */
function transport(ca: CertificateAuthority) {
  const service = new CertificateService(ca);
  const calls: CertificateRequest[] = [];
  const state = { fail: false, rewrite: (chain: string[]) => chain };
  const requestCertificate = async (req: CertificateRequest) => {
    calls.push(req);
    if (state.fail) throw meshError('MESHLET_ERR_CONTROL_UNREACHABLE', 'CA down (test)');
    const { X509Certificate } = await import('node:crypto');
    const peer = req.client ? new X509Certificate(req.client.chainPem).raw : undefined;
    return state.rewrite(await service.createCertificate({ csr: req.csr, validitySeconds: req.validitySeconds ?? 0, ...(req.token ? { token: req.token } : {}), ...(peer ? { peerCertificate: peer } : {}) }));
  };
  return { calls, state, requestCertificate };
}

function events(manager: IdentityManager) {
  const bus = new EventEmitter();
  manager.on('rotate', (e) => bus.emit('rotate', e));
  manager.on('error', (e) => bus.emit('error-event', e));
  manager.on('trust-change', (e) => bus.emit('trust-change', e));
  return {
    rotate: () => once(bus, 'rotate').then(([e]) => e as RotateEvent),
    error: () => once(bus, 'error-event').then(([e]) => e as IdentityErrorEvent),
    trust: () => once(bus, 'trust-change').then(([e]) => e as TrustChangeEvent),
  };
}

describe('IdentityManager (fake clock, in-process CA)', () => {
  let ca: CertificateAuthority;
  let close: () => Promise<void>;
  before(async () => ({ ca, close } = await testCa()));
  after(() => close());

  const make = async (extra: Partial<ConstructorParameters<typeof IdentityManager>[0]> = {}) => {
    const clock = new FakeClock();
    const t = transport(ca);
    const token = await ca.tokens.create({ namespace: 'default', serviceAccount: 'reviews' });
    const manager = new IdentityManager({
      token, controlPlane: '127.0.0.1:1', clock, random: () => 0.5, ttlSeconds: 3600,
      requestCertificate: t.requestCertificate, fetchRoot: async () => ca.roots()[0]!, ...extra,
    });
    return { clock, t, manager, token, on: events(manager) };
  };

  test('obtains the SVID the token grants, then rotates at 50% with its current certificate', async (t) => {
    const m = await make();
    t.after(() => m.manager.close());
    const first = await m.manager.start();
    assert.equal(first.spiffeId, ID);
    assert.equal(m.manager.spiffeId, ID);
    assert.ok(m.t.calls[0]!.token && !m.t.calls[0]!.client, 'the first request authenticates with the token');
    // Certificate times are whole seconds and issuance takes a moment: half the hour, give or take a few seconds.
    const pending = m.clock.pending();
    assert.equal(pending.length, 1);
    assert.ok(Math.abs(pending[0]! - 1800_000) < 5000, `rotation is due after half of the hour, got ${pending[0]} ms`);
    const rotated = m.on.rotate();
    m.clock.advance(1800_000);
    const { previous, current } = await rotated;
    assert.equal(previous?.serialNumber, first.serialNumber);
    assert.notEqual(current.serialNumber, first.serialNumber);
    assert.notEqual(current.keyPem, first.keyPem, 'every rotation has a new key');
    assert.ok(m.t.calls[1]!.client, 'a renewal presents the current certificate');
    assert.equal(m.manager.current(), current);
  });

  test('while the CA is down the old certificate stays and retries speed up toward expiry; then it recovers', async (t) => {
    const m = await make();
    t.after(() => m.manager.close());
    const first = await m.manager.start();
    m.t.state.fail = true;
    const delays: number[] = [];
    let failed = m.on.error();
    m.clock.advance(1800_000);
    for (let i = 0; i < 4; i++) {
      const e = await failed;
      assert.equal(e.error.code, 'MESHLET_ERR_CONTROL_UNREACHABLE');
      assert.equal(m.manager.current(), first, 'the old certificate is kept');
      delays.push(e.retryInMs);
      failed = m.on.error();
      m.clock.advance(e.retryInMs);
    }
    await failed.then((e) => delays.push(e.retryInMs));
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! < delays[i - 1]!, `retry ${i} comes sooner: ${delays.join(', ')}`);
    assert.ok(Math.abs(delays[0]! - 0.7 * 1800_000) < 5000, `first retry at 70% of the 30 min left: ${delays[0]}`);
    m.t.state.fail = false;
    const recovered = m.on.rotate();
    m.clock.advance(delays[delays.length - 1]!);
    assert.notEqual((await recovered).current.serialNumber, first.serialNumber);
  });

  test('a bundle with a new root fires trust-change', async (t) => {
    const m = await make();
    t.after(() => m.manager.close());
    await m.manager.start();
    const other = await testCa();
    t.after(() => other.close());
    const extraRoot = other.ca.roots()[0]!;
    m.t.state.rewrite = (chain) => [...chain.slice(0, -1), chain[chain.length - 1]! + extraRoot];
    const changed = m.on.trust();
    await m.manager.rotateNow();
    const e = await changed;
    assert.equal(e.previous.length, 1);
    assert.equal(e.current.length, 2);
    assert.equal(m.manager.trustBundle().length, 2);
  });

  test('refuses answers for another identity, from an untrusted root, or that drop the anchoring root', async (t) => {
    const m = await make();
    t.after(() => m.manager.close());
    const stranger = await testCa();
    t.after(() => stranger.close());
    const { csrFor } = await import('../../helpers/ca.js');
    const cases: Array<[RegExp, (chain: string[], req: CertificateRequest) => Promise<string[]>]> = [
      [/not an X.509-SVID for spiffe:\/\/cluster.local\/ns\/default\/sa\/reviews/, async () => {
        const issued = await ca.signSvid((await csrFor([])).csr, 'spiffe://cluster.local/ns/default/sa/admin');
        return [...issued.chain, issued.roots.join('')];
      }],
      [/not for the key this client generated/, async () => {
        const issued = await ca.signSvid((await csrFor([ID])).csr, ID);
        return [...issued.chain, issued.roots.join('')];
      }],
      [/does not lead to a trusted root/, async (_c, req) => {
        const issued = await stranger.ca.signSvid(req.csr, ID);
        return [...issued.chain, issued.roots.join('')];
      }],
      [/drops the root this chain is anchored to/, async (chain) => [...chain.slice(0, -1), stranger.ca.roots()[0]!]],
    ];
    const service = new CertificateService(ca);
    for (const [why, rewrite] of cases) {
      const manager = new IdentityManager({
        token: m.token, controlPlane: '127.0.0.1:1', clock: new FakeClock(), random: () => 0.5, fetchRoot: async () => ca.roots()[0]!,
        requestCertificate: async (req) => rewrite(await service.createCertificate({ csr: req.csr, token: req.token! }), req),
      });
      const error = await new Promise<IdentityErrorEvent>((resolve) => { manager.on('error', resolve); void manager.start(); });
      manager.close();
      assert.equal(error.error.code, 'MESHLET_ERR_IDENTITY', error.error.message);
      assert.match(error.error.message, why);
      assert.equal(manager.current(), undefined, 'nothing is accepted');
    }
  });

  test('a bootstrap root other than the pinned one is refused before any CSR is sent', async (t) => {
    const m = await make();
    t.after(() => m.manager.close());
    const other = await testCa();
    t.after(() => other.close());
    const manager = new IdentityManager({
      token: m.token, controlPlane: '127.0.0.1:1', clock: new FakeClock(), fetchRoot: async () => other.ca.roots()[0]!, requestCertificate: m.t.requestCertificate,
    });
    t.after(() => manager.close());
    const error = await new Promise<IdentityErrorEvent>((resolve) => { manager.on('error', resolve); void manager.start(); });
    assert.equal(error.error.code, 'MESHLET_ERR_TLS_PEER');
    assert.equal(m.t.calls.length, 0);
  });

  test('a malformed token fails at construction', () => {
    assert.throws(() => new IdentityManager({ token: 'not-a-jwt', controlPlane: '127.0.0.1:1' }), (e: { code?: string }) => e.code === 'MESHLET_ERR_CA_TOKEN');
  });
});
