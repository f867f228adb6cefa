// The admin API's doors: write media types, Origin/Host, token beyond loopback, body size, label.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { getJson } from './fixtures.js';

const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: a, namespace: default }
spec: { hosts: [a.default.svc.cluster.local], resolution: STATIC, ports: [{ number: 80, name: http }], endpoints: [{ address: 127.0.0.1 }] }
`;

/** Raw request so Host can be set (fetch forbids it). */
function raw(port: number, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/apply', headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin API limits', () => {
  let server: ControlServer;
  let base: string;
  before(async () => {
    server = await createControlServer({ xdsPort: 0, adminPort: 0, adminLimits: { maxBodyBytes: 1024 } });
    base = `http://127.0.0.1:${server.adminPort}`;
  });
  after(() => server.close());

  test('a text/plain POST (CSRF) is refused with 415, YAML accepted', async () => {
    const plain = await getJson<{ error: { code: string } }>(base, '/apply', { method: 'POST', body: SE, headers: { 'content-type': 'text/plain' } });
    assert.equal(plain.status, 415);
    assert.equal(plain.body.error.code, 'MESHLET_ERR_ADMIN_REQUEST');
    assert.equal(server.store.list().length, 0);
    const ok = await getJson(base, '/apply', { method: 'POST', body: SE, headers: { 'content-type': 'application/yaml' } });
    assert.equal(ok.status, 200);
  });

  test('a cross-origin Origin and a non-loopback Host are refused', async () => {
    const port = server.adminPort!;
    const cross = await raw(port, { 'content-type': 'application/yaml', origin: 'https://evil.example' }, SE);
    assert.equal(cross.status, 403);
    assert.match(cross.text, /MESHLET_ERR_ADMIN_AUTH/);
    const rebound = await raw(port, { 'content-type': 'application/yaml', host: `evil.example:${port}` }, SE);
    assert.equal(rebound.status, 403);
    const same = await raw(port, { 'content-type': 'application/yaml', origin: `http://127.0.0.1:${port}` }, SE);
    assert.equal(same.status, 200);
  });

  test('a body over the limit answers 413 MESHLET_ERR_ADMIN_LIMIT', async () => {
    const big = await getJson<{ error: { code: string } }>(base, '/apply', { method: 'POST', body: `${SE}#${'x'.repeat(2000)}\n`, headers: { 'content-type': 'application/yaml' } });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'MESHLET_ERR_ADMIN_LIMIT');
  });

  test('x-meshlet-file is a label: resources are marked admin:<label>, control characters refused', async () => {
    await getJson(base, '/apply', { method: 'POST', body: SE.replace('name: a,', 'name: b,'), headers: { 'content-type': 'application/yaml', 'x-meshlet-file': '/etc/passwd' } });
    const b = server.store.list().find((r) => r.metadata.name === 'b');
    assert.equal(b?.source?.file, 'admin:/etc/passwd');
  });
});

test('an admin API beyond loopback needs a token, and then every route but /healthz and the dashboard page requires it', async () => {
  await assert.rejects(createControlServer({ xdsPort: 0, adminPort: 0, host: '0.0.0.0', adminToken: undefined }), { code: 'MESHLET_ERR_CONFIG' });
  const token = 'a-very-secret-token-123';
  const server = await createControlServer({ xdsPort: 0, adminPort: 0, host: '0.0.0.0', adminToken: token });
  try {
    const base = `http://127.0.0.1:${server.adminPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const anon = await getJson<{ error: { code: string } }>(base, '/status');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, 'MESHLET_ERR_ADMIN_AUTH');
    assert.equal((await getJson(base, '/status', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
    assert.equal((await getJson(base, '/status', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    // The dashboard's page is a static shell (its script asks for the token); its data is not.
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(await page.text(), new RegExp(token));
    assert.equal((await getJson(base, '/graph')).status, 401);
    assert.equal((await getJson(base, '/config_dump?client=x')).status, 401);
  } finally {
    await server.close();
  }
});

test('concurrent admin writes beyond the limit answer 503', async () => {
  const server = await createControlServer({ xdsPort: 0, adminPort: 0, adminLimits: { maxConcurrentWrites: 1 } });
  try {
    // One write held open (body not finished) occupies the only write slot.
    const held = request({ host: '127.0.0.1', port: server.adminPort, method: 'POST', path: '/apply', headers: { 'content-type': 'application/yaml', 'content-length': '100' } });
    held.on('error', () => {});
    held.write('# partial');
    await new Promise((r) => held.once('socket', (s) => s.once('connect', r)));
    let second = { status: 0 };
    for (let i = 0; i < 50 && second.status !== 503; i++) {
      second = await getJson(`http://127.0.0.1:${server.adminPort}`, '/apply', { method: 'POST', body: SE, headers: { 'content-type': 'application/yaml' } });
    }
    assert.equal(second.status, 503);
    held.destroy();
  } finally {
    await server.close();
  }
});
