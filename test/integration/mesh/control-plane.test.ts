// createMesh against control planes that are wrong or absent: a malformed address is an error at
// once; an unreachable one still lets the mesh come up, says why once (a coded process warning),
// and a request the mesh cannot route meanwhile names the control plane. AbortSignal on
// createMesh, listen and close; meshlet's diagnostics_channel channels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { isMeshError, type MeshError } from '../../../src/errors.js';
import { createMesh } from '../../../src/mesh/create.js';
import { startEchoServer } from '../../../src/testing/echo.js';
import { CHANNEL_NAMES } from '../../../src/telemetry/diagnostics.js';
import { packAny } from '../../../src/xds/wire/any.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { FakeAds } from '../../helpers/fake-ads.js';
import { closedPort } from '../../helpers/http-backends.js';
import { routeConfig } from '../../helpers/xds-resources.js';

const FAST = { initialFetchTimeoutMs: 300, xdsBackoff: { initialMs: 40, maxMs: 80 } };

/** Collects the MeshletWarnings emitted while `fn` runs. */
async function warningsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: Array<Error & { code?: string }> }> {
  const warnings: Array<Error & { code?: string }> = [];
  const onWarning = (w: Error & { code?: string }) => { if (w.name === 'MeshletWarning') warnings.push(w); };
  process.on('warning', onWarning);
  try {
    return { result: await fn(), warnings };
  } finally {
    process.off('warning', onWarning);
  }
}

describe('a malformed control-plane address', () => {
  for (const address of ['nonsense', 'http://127.0.0.1:15010', '127.0.0.1:99999', 'a b:1', '[zz]:1', '']) {
    test(`${JSON.stringify(address)} rejects at once with MESHLET_ERR_CONFIG`, async () => {
      await assert.rejects(createMesh({ controlPlane: address, initialFetchTimeoutMs: 60_000 }), (err: MeshError) => {
        assert.equal(err.code, 'MESHLET_ERR_CONFIG');
        assert.match(err.message, /controlPlane .* is not a valid xDS address/);
        return true;
      });
    });
  }
});

describe('an unreachable control plane', () => {
  test('refused: the mesh comes up, warns once with the address and reason, and says why a request fails', async () => {
    const port = await closedPort();
    const { result: mesh, warnings } = await warningsDuring(async () => {
      const m = await createMesh({ controlPlane: `127.0.0.1:${port}`, ...FAST });
      await new Promise((r) => setTimeout(r, 300)); // several reconnect attempts
      return m;
    });
    try {
      assert.equal(warnings.length, 1, warnings.map((w) => w.message).join('\n'));
      assert.equal(warnings[0]!.code, 'MESHLET_ERR_CONTROL_REFUSED');
      assert.match(warnings[0]!.message, new RegExp(`control plane at 127\\.0\\.0\\.1:${port}: connection refused`));
      const err = await mesh.fetch('http://hello.invalid/').then(() => undefined, (e: Error) => e.cause as MeshError);
      assert.ok(isMeshError(err, 'MESHLET_ERR_NO_CONFIG'), String(err));
      assert.match(err.message, /hello\.invalid is not a mesh host .*the control plane at 127\.0\.0\.1:\d+ is unreachable \(connection refused; MESHLET_ERR_CONTROL_REFUSED\)/);
    } finally {
      await mesh.close();
    }
  });

  test('DNS: a host name that does not resolve', async () => {
    const { warnings, result: mesh } = await warningsDuring(async () => createMesh({ controlPlane: 'cp.invalid:15010', ...FAST }));
    await mesh.close();
    assert.deepEqual(warnings.map((w) => w.code), ['MESHLET_ERR_CONTROL_DNS']);
  });

  test('not an xDS server: an HTTP port (the admin API) and a gRPC server without ADS', async () => {
    const control = await createControlServer({ xdsPort: 0, adminPort: 0 });
    const echo = await startEchoServer('not-ads');
    try {
      for (const address of [`127.0.0.1:${control.adminPort}`, `127.0.0.1:${echo.port}`]) {
        const { warnings, result: mesh } = await warningsDuring(async () => createMesh({ controlPlane: address, ...FAST }));
        await mesh.close();
        assert.deepEqual(warnings.map((w) => w.code), ['MESHLET_ERR_CONTROL_NOT_XDS'], address);
        assert.match(warnings[0]!.message, /not as an xDS \(ADS\) server/);
      }
    } finally {
      await echo.close();
      await control.close();
    }
  });
});

describe('AbortSignal', () => {
  test('createMesh: an aborted wait rejects with the reason (and an already aborted signal at once)', async () => {
    const port = await closedPort();
    const ac = new AbortController();
    const pending = createMesh({ controlPlane: `127.0.0.1:${port}`, initialFetchTimeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('gave up')), 50);
    await assert.rejects(pending, /gave up/);
    await assert.rejects(createMesh({ controlPlane: `127.0.0.1:${port}`, signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  test('listen: aborting closes the server; an aborted signal never listens', async () => {
    const mesh = await createMesh({ controlPlane: `127.0.0.1:${await closedPort()}`, ...FAST });
    try {
      const ac = new AbortController();
      const handle = await mesh.listen((_req, res) => res.end('ok'), { port: 0, signal: ac.signal });
      assert.equal(handle.server.listening, true);
      const closed = new Promise((resolve) => handle.server.once('close', resolve));
      ac.abort();
      await closed;
      await assert.rejects(mesh.listen((_req, res) => res.end('ok'), { port: 0, signal: AbortSignal.abort() }), { name: 'AbortError' });
    } finally {
      await mesh.close();
    }
  });

  test('close: aborting ends the drain of a request that never finishes', async () => {
    const mesh = await createMesh({ controlPlane: `127.0.0.1:${await closedPort()}`, ...FAST, drainTimeoutMs: 600_000 });
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => { entered = resolve; });
    const handle = await mesh.listen(() => entered(), { port: 0 }); // never answers
    const req = fetch(`http://127.0.0.1:${handle.port}/`).catch(() => 'reset');
    await inFlight;
    const ac = new AbortController();
    const closing = mesh.close({ signal: ac.signal });
    ac.abort();
    await closing;
    assert.equal(await req, 'reset');
  });
});

describe('diagnostics channels', () => {
  let control: ControlServer;
  let originPort: number;
  const origin = createServer((_req, res) => res.end('hi'));
  before(async () => {
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originPort = (origin.address() as AddressInfo).port;
    control = await createControlServer({ xdsPort: 0, adminPort: null });
    await control.store.apply(parseConfig(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: hello }
spec:
  hosts: [hello.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${originPort} } }]
`, 'hello.yaml').resources);
  });
  after(async () => {
    await control.close();
    origin.close();
  });

  test('request start/end and config updates are published', async () => {
    const seen: Record<string, unknown[]> = { start: [], end: [], update: [] };
    const subs: Array<[string, (m: unknown) => void]> = [
      [CHANNEL_NAMES.requestStart, (m) => seen.start!.push(m)],
      [CHANNEL_NAMES.requestEnd, (m) => seen.end!.push(m)],
      [CHANNEL_NAMES.configUpdate, (m) => seen.update!.push(m)],
    ];
    for (const [name, fn] of subs) diagnostics_channel.subscribe(name, fn);
    const mesh = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, nodeId: 'dc-test' });
    try {
      assert.equal(await (await mesh.fetch('http://hello/x')).text(), 'hi');
      assert.deepEqual(seen.start, [{ method: 'GET', origin: 'http://hello', path: '/x' }]);
      assert.equal(seen.end!.length, 1);
      assert.deepEqual((({ host, path, status, clusterName }) => ({ host, path, status, clusterName }))(seen.end![0] as Record<string, unknown>),
        { host: 'hello', path: '/x', status: 200, clusterName: 'outbound|80||hello.default.svc.cluster.local' });
      const types = (seen.update as Array<{ node: string; typeUrl: string }>).filter((u) => u.node === 'dc-test').map((u) => u.typeUrl);
      assert.ok(types.includes(TYPE_URL.cluster) && types.includes(TYPE_URL.listener), types.join());
    } finally {
      for (const [name, fn] of subs) diagnostics_channel.unsubscribe(name, fn);
      await mesh.close();
    }
  });

  test('a NACK is published with the type and the error', async () => {
    const ads = await FakeAds.start();
    const nacks: Array<{ typeUrl: string; errorDetail: string }> = [];
    const fn = (m: unknown) => nacks.push(m as { typeUrl: string; errorDetail: string });
    diagnostics_channel.subscribe(CHANNEL_NAMES.nack, fn);
    const mesh = await createMesh({ controlPlane: `127.0.0.1:${ads.port}`, initialFetchTimeoutMs: 50 });
    try {
      await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener);
      const hcm = packAny(TYPE_URL.httpConnectionManager, { route_config: routeConfig('rc', [{ match: { safe_regex: { regex: '(?=lookahead)' } }, route: { cluster: 'c' } }]), http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.router, {}) }] });
      ads.push(TYPE_URL.listener, 'v1', [{ name: 'l', api_listener: { api_listener: hcm } }]);
      await ads.waitForRequest((r) => r.type_url === TYPE_URL.listener && r.error_detail !== undefined && r.error_detail !== null);
      assert.equal(nacks.length, 1);
      assert.equal(nacks[0]!.typeUrl, TYPE_URL.listener);
      assert.match(nacks[0]!.errorDetail, /safe_regex\.regex: invalid regex "\(\?=lookahead\)" \(RE2 syntax\)/);
    } finally {
      diagnostics_channel.unsubscribe(CHANNEL_NAMES.nack, fn);
      await mesh.close();
      ads.shutdown();
    }
  });
});
