// Limits at the control server's doors: ADS request guard, announcement policy, warm-up, registry takeover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ADS_LIMITS, RequestGuard, StreamRefusal } from '../../../src/control/ads-limits.js';
import { AnnouncePolicy } from '../../../src/control/announce-policy.js';
import { Registry } from '../../../src/control/registry/announcements.js';
import { AnnouncementFile } from '../../../src/control/store/announcements.js';
import { WarmUp } from '../../../src/control/warmup.js';
import type { Announcement } from '../../../src/control/model.js';

const req = (names: string[], metadata?: unknown) => ({ versionInfo: '', resourceNames: names, typeUrl: 't', responseNonce: '', ...(metadata ? { node: { metadata } } : {}) });
const ann = (over: Partial<Announcement> = {}): Announcement => ({ nodeId: 'n1', service: 'web', namespace: 'default', labels: {}, address: '10.0.0.1', ports: [{ number: 80 }], ...over });

function refusal(fn: () => void): StreamRefusal {
  try { fn(); } catch (err) { if (err instanceof StreamRefusal) return err; throw err; }
  assert.fail('expected a StreamRefusal');
}

test('ADS guard: names per request, node metadata size, request rate (fake clock)', () => {
  const names = refusal(() => new RequestGuard(DEFAULT_ADS_LIMITS).check(req(Array.from({ length: 10_001 }, (_, i) => `n${i}`))));
  assert.equal(names.code, 'MESHLET_ERR_XDS_LIMIT');
  assert.match(names.message, /resource_names: 10001/);
  new RequestGuard(DEFAULT_ADS_LIMITS).check(req(Array.from({ length: 10_000 }, (_, i) => `n${i}`)));
  const meta = refusal(() => new RequestGuard(DEFAULT_ADS_LIMITS).check(req([], { labels: { big: 'x'.repeat(70_000) } })));
  assert.match(meta.message, /node\.metadata/);
  let now = 0;
  const guard = new RequestGuard({ ...DEFAULT_ADS_LIMITS, requestBurst: 10, requestsPerSecond: 5 }, () => now);
  for (let i = 0; i < 10; i++) guard.check(req([]));
  assert.equal(refusal(() => guard.check(req([]))).code, 'MESHLET_ERR_XDS_LIMIT');
  now += 1000; // 5 tokens back
  for (let i = 0; i < 5; i++) guard.check(req([]));
  assert.throws(() => guard.check(req([])), StreamRefusal);
});

test('announcement policy: link-local, multicast, unspecified refused; allow-list; label and port counts', () => {
  const p = new AnnouncePolicy();
  for (const address of ['169.254.169.254', 'fe80::1', '224.0.0.1', 'ff02::1', '0.0.0.0', '::', '::ffff:169.254.169.254', 'web.example']) {
    assert.equal(p.check(ann({ address }))?.code, 'MESHLET_ERR_ANNOUNCEMENT', address);
  }
  assert.equal(p.check(ann({ address: '127.0.0.1' })), undefined);
  assert.equal(p.check(ann({ address: '2001:db8::1' })), undefined);
  const only = new AnnouncePolicy({ networks: ['10.0.0.0/8', 'fd00::/8'] });
  assert.equal(only.check(ann({ address: '10.2.3.4' })), undefined);
  assert.match(only.check(ann({ address: '192.168.1.1' }))?.message ?? '', /outside the allowed networks/);
  assert.throws(() => new AnnouncePolicy({ networks: ['10.0.0.0/33'] }), { code: 'MESHLET_ERR_CONFIG' });
  const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
  assert.match(p.check(ann({ labels }))?.message ?? '', /65 labels, the limit is 64/);
  assert.match(p.check(ann({ labels: { k: 'v'.repeat(64) } }))?.message ?? '', /longer than 63/);
  const ports = Array.from({ length: 65 }, (_, i) => ({ number: 1000 + i }));
  assert.match(p.check(ann({ ports }))?.message ?? '', /65 ports, the limit is 64/);
});

test('registry: a node id held by an open stream cannot be taken over; released when that stream ends', () => {
  const r = new Registry({ withdrawGraceMs: 1000 });
  const a = {}; const b = {};
  assert.equal(r.announce(ann({ address: '10.0.0.1' }), a), true);
  assert.equal(r.announce(ann({ address: '10.6.6.6' }), b), false);
  assert.equal(r.list()[0]!.address, '10.0.0.1');
  r.withdraw('n1', { owner: a });
  assert.equal(r.announce(ann({ address: '10.0.0.2' }), b), true, 'after the owner stream ended, a reconnect takes the id');
  r.close();
});

test('state file: atomic save and load round trip; warm-up ends when every restored node re-announced', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-state-'));
  try {
    const file = new AnnouncementFile(dir);
    assert.equal(await file.load(), undefined);
    file.save([ann({ nodeId: 'x' })]);
    file.save([ann({ nodeId: 'a' }), ann({ nodeId: 'b', address: '10.0.0.2' })]);
    await file.flush();
    const loaded = await file.load();
    assert.deepEqual(loaded?.map((x) => x.nodeId), ['a', 'b']);
    assert.equal(JSON.parse(await readFile(file.path, 'utf8')).version, 1);

    const registry = new Registry({ withdrawGraceMs: 50 });
    registry.restore(loaded!, 60_000);
    let ended = false;
    const warm = new WarmUp({ registry, durationMs: 60_000, restored: true, onEnd: () => { ended = true; } });
    warm.start();
    assert.equal(warm.holding(), false, 'restored state: answers at once');
    assert.equal(registry.pendingRestored(), 2);
    registry.announce(ann({ nodeId: 'a' }), {});
    assert.equal(warm.active(), true);
    registry.announce(ann({ nodeId: 'b', address: '10.0.0.2' }), {});
    assert.equal(warm.active(), false, 'every restored node is back');
    assert.equal(ended, false, 'nothing was held, nothing to push');
    warm.close();
    registry.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('warm-up without state: holds responses once a returning client appears, then releases them', () => {
  const registry = new Registry({ withdrawGraceMs: 10 });
  let pushed = 0;
  const warm = new WarmUp({ registry, durationMs: 5, restored: false, onEnd: () => { pushed++; } });
  warm.start();
  assert.equal(warm.holding(), false, 'first start: no hold');
  warm.onReconnect();
  assert.equal(warm.holding(), true);
  return new Promise<void>((resolve) => setTimeout(() => {
    assert.equal(warm.holding(), false);
    assert.equal(pushed, 1);
    registry.close();
    resolve();
  }, 30));
});
