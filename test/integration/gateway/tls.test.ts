// HTTPS at the gateway: SIMPLE with certificate files, MUTUAL with a credentialName directory,
// SNI choosing the certificate, minProtocolVersion, httpsRedirect, and unknown hosts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { request } from 'undici';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { MeshFixture, type Served } from '../../helpers/http-mesh.js';
import { testPki, type Leaf, type TestPki } from '../../helpers/tls-certs.js';
import { waitFor } from '../../helpers/wait.js';

let fx: MeshFixture;
let pki: TestPki;
let productpage: Served;
let gw: Gateway;
let client: Leaf;

before(async () => {
  pki = await testPki();
  const shop = await pki.writeFiles('shop', await pki.leaf('shop.example.com', { dns: ['shop.example.com'] }));
  const credentials = await pki.writeCredential('api-cert', await pki.leaf('api.example.com', { dns: ['api.example.com'] }));
  const strict = await pki.writeFiles('strict', await pki.leaf('strict.example.com', { dns: ['strict.example.com'] }));
  client = await pki.leaf('client', { client: true });
  fx = await MeshFixture.start('');
  productpage = await fx.serve('productpage', { app: 'productpage', version: 'v1' });
  await fx.apply(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: [shop.example.com]
    tls: { httpsRedirect: true }
  - port: { number: 80, name: http-plain, protocol: HTTP }
    hosts: [plain.example.com]
  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${shop.cert}, privateKey: ${shop.key} }
  - port: { number: 443, name: https-api, protocol: HTTPS }
    hosts: [api.example.com]
    tls: { mode: MUTUAL, credentialName: api-cert }
  - port: { number: 8443, name: https-strict, protocol: HTTPS }
    hosts: [strict.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${strict.cert}, privateKey: ${strict.key}, minProtocolVersion: TLSV1_3 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop }
spec:
  hosts: [shop.example.com, api.example.com, plain.example.com, strict.example.com]
  gateways: [edge]
  http:
  - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
`);
  gw = await createGateway({ controlPlane: `127.0.0.1:${fx.server.xdsPort}`, host: '127.0.0.1', ports: { 80: 0, 443: 0, 8443: 0 }, credentials, initialFetchTimeoutMs: 3000 });
  await waitFor(() => gw.ports[80] && gw.ports[443] && gw.ports[8443], 5000, 'ports bound');
  await waitFor(async () => (await get(gw.ports[80]!, 'plain.example.com', '/')).statusCode === 200, 5000, 'routes warm');
});

after(async () => {
  await gw?.close();
  await fx?.close();
  await pki?.remove();
});

async function get(port: number, host: string, path: string) {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host } });
  const body = await res.body.text();
  return { statusCode: res.statusCode, headers: res.headers, body };
}

function httpsGet(port: number, servername: string, opts: { cert?: Leaf; maxVersion?: tls.SecureVersion } = {}): Promise<{ status: number; body: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/productpage', servername, headers: { host: servername }, ca: pki.caPem, agent: false,
      ...(opts.cert ? { cert: opts.cert.cert, key: opts.cert.key } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol: (res.socket as tls.TLSSocket).getProtocol?.() ?? null }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('SIMPLE TLS with certificate files: the SNI name picks the certificate, the request reaches productpage as https', async () => {
  const res = await httpsGet(gw.ports[443]!, 'shop.example.com');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'productpage-v1');
  assert.equal(productpage.hits.at(-1)!.headers['x-forwarded-proto'], 'https');
});

test('MUTUAL TLS from a credentialName directory: refused without a client certificate, served with one', async () => {
  await assert.rejects(httpsGet(gw.ports[443]!, 'api.example.com'));
  const res = await httpsGet(gw.ports[443]!, 'api.example.com', { cert: client });
  assert.equal(res.status, 200);
});

test('minProtocolVersion TLSV1_3: a TLS 1.2 client is refused, a 1.3 client served', async () => {
  await assert.rejects(httpsGet(gw.ports[8443]!, 'strict.example.com', { maxVersion: 'TLSv1.2' }));
  const res = await httpsGet(gw.ports[8443]!, 'strict.example.com');
  assert.equal(res.status, 200);
  assert.equal(res.protocol, 'TLSv1.3');
});

test('httpsRedirect answers 301 to https on the same host and path', async () => {
  const before = productpage.hits.length;
  const res = await get(gw.ports[80]!, 'shop.example.com:8080', '/productpage?x=1');
  assert.equal(res.statusCode, 301);
  assert.equal(res.headers['location'], 'https://shop.example.com/productpage?x=1');
  assert.equal(productpage.hits.length, before);
});

test('a host no server names is 404', async () => {
  const res = await get(gw.ports[80]!, 'unknown.example.com', '/productpage');
  assert.equal(res.statusCode, 404);
  const plain = await get(gw.ports[80]!, 'plain.example.com:1234', '/productpage');
  assert.equal(plain.statusCode, 200, 'the port in Host is ignored (strip_any_host_port)');
});

test('curl over HTTPS (.ci/run installs curl)', async () => {
  const port = gw.ports[443]!;
  const ca = `${pki.dir}/ca.crt`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-sS', '--cacert', ca, '--resolve', `shop.example.com:${port}:127.0.0.1`, `https://shop.example.com:${port}/productpage`], (err, stdout) => (err ? reject(err) : resolve(stdout))));
  assert.equal(out, 'productpage-v1');
});
