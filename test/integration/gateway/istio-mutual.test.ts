// ISTIO_MUTUAL servers: the gateway terminates mTLS with its own SVID and takes clients whose
// certificate chains to the mesh trust bundle (with a SPIFFE ID); the peer's identity goes
// upstream in x-forwarded-client-cert (Envoy SANITIZE_SET). Client certificates are asked for
// per server: a SIMPLE server on another port, or beside a MUTUAL one on the same port (chosen by
// SNI, Istio's separate filter chains), does not ask for one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { createMesh, meshTlsOf } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { uriSans } from '../../../src/security/tls/peer.js';
import { tempDir } from '../../helpers/ca.js';
import { testPki, type Leaf, type TestPki } from '../../helpers/tls-certs.js';
import { applyYaml, waitFor } from '../../helpers/wait.js';

const GATEWAY_ID = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const WEB_ID = 'spiffe://cluster.local/ns/default/sa/web';

let control: ControlServer;
let backend: Mesh;
let web: Mesh;
let gw: Gateway;
let pki: TestPki;
let outsider: Leaf;
let removeDir: () => Promise<void>;
/** What the client presents: the web workload's SVID and the mesh roots. */
let svid: { key: string; cert: string; ca: string };

before(async () => {
  pki = await testPki();
  const simple = await pki.writeFiles('simple', await pki.leaf('simple.example.com', { dns: ['simple.example.com'] }));
  outsider = await pki.leaf('outsider', { client: true });
  const t = await tempDir();
  removeDir = t.remove;
  control = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  const cp = `127.0.0.1:${control.securePort}`;
  backend = await createMesh({ controlPlane: cp, token: await control.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'productpage' }), service: 'productpage', labels: { app: 'productpage' }, initialFetchTimeoutMs: 5000 });
  await backend.listen((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ xfcc: req.headers['x-forwarded-client-cert'] ?? null }));
  }, { port: 0, servicePort: 9080 });
  web = await createMesh({ controlPlane: cp, token: await control.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'web' }), service: 'web', initialFetchTimeoutMs: 5000 });
  const s = meshTlsOf(web)!.current()!;
  svid = { key: s.keyPem, cert: s.chainPem.join(''), ca: s.trustBundlePem.join('') };
  await applyYaml(control, `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https-mesh, protocol: HTTPS }
    hosts: ['*']
    tls: { mode: ISTIO_MUTUAL }
  - port: { number: 8443, name: https-simple, protocol: HTTPS }
    hosts: [simple.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${simple.cert}, privateKey: ${simple.key} }
  - port: { number: 9443, name: https-simple, protocol: HTTPS }
    hosts: [simple.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${simple.cert}, privateKey: ${simple.key} }
  - port: { number: 9443, name: https-mesh, protocol: HTTPS }
    hosts: [mesh.example.com]
    tls: { mode: ISTIO_MUTUAL, subjectAltNames: ['${WEB_ID}'] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge }
spec:
  hosts: ['*']
  gateways: [edge]
  http:
  - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
`);
  gw = await createGateway({
    controlPlane: cp, token: await control.ca!.createJoinToken({ namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' }),
    host: '127.0.0.1', ports: { 443: 0, 8443: 0, 9443: 0 }, initialFetchTimeoutMs: 5000,
  });
  await waitFor(() => gw.ports[443] && gw.ports[8443] && gw.ports[9443], 5000, 'ports bound');
});

after(async () => {
  await gw?.close();
  await web?.close();
  await backend?.close();
  await control?.close();
  await pki?.remove();
  await removeDir?.();
});

interface Answer { status: number; body: { xfcc: string | null }; serverIds: string[] }

/** One HTTPS request; rejects when the handshake or the connection fails. */
function get(port: number, opts: { servername?: string; key?: string; cert?: string; ca: string; checkServerIdentity?: tls.ConnectionOptions['checkServerIdentity'] }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/productpage', agent: false, servername: opts.servername ?? 'mesh.example.com',
      headers: { host: opts.servername ?? 'mesh.example.com' }, ca: opts.ca,
      ...(opts.key ? { key: opts.key, cert: opts.cert } : {}),
      checkServerIdentity: opts.checkServerIdentity ?? (() => undefined),
    }, (res) => {
      const serverIds = uriSans((res.socket as tls.TLSSocket).getPeerX509Certificate()!);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Answer['body'], serverIds }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a TLS 1.2 handshake with SNI `name` on `port` carries a CertificateRequest (openssl s_client's report). */
function asksForCertificate(port: number, name: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', name, '-tls1_2'], { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve(/^Client Certificate Types:/m.test(stdout)); // printed only when a CertificateRequest arrived
    });
    child.stdin?.end();
  });
}

describe('ISTIO_MUTUAL', () => {
  test('a mesh workload\'s SVID is served: the gateway presents its own SVID, the peer\'s SPIFFE ID goes upstream in x-forwarded-client-cert', async () => {
    const a = await waitFor(async () => {
      const r = await get(gw.ports[443]!, { ...svid }).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 10_000, 'productpage over ISTIO_MUTUAL');
    assert.deepEqual(a.serverIds, [GATEWAY_ID], 'the gateway\'s own SVID');
    const xfcc = a.body.xfcc ?? '';
    assert.match(xfcc, new RegExp(`^By=${GATEWAY_ID};Hash=[0-9a-f]{64};Cert="[^"]+";Subject="[^"]*";URI=${WEB_ID}$`));
  });

  test('no client certificate, or one of another CA, is refused', async () => {
    await assert.rejects(get(gw.ports[443]!, { ca: svid.ca }));
    await assert.rejects(get(gw.ports[443]!, { ca: svid.ca, key: outsider.key, cert: outsider.cert }));
  });

  test('subjectAltNames: only the named workload is served', async () => {
    const ok = await get(gw.ports[9443]!, { ...svid, servername: 'mesh.example.com' });
    assert.equal(ok.status, 200);
    const gwSvid = meshTlsOf(gw.mesh)!.current()!;
    // A mesh identity, but not the one the server names.
    await assert.rejects(get(gw.ports[9443]!, { key: gwSvid.keyPem, cert: gwSvid.chainPem.join(''), ca: svid.ca, servername: 'mesh.example.com' }));
  });

  test('client certificates are asked for per server: not by a SIMPLE server on another port, nor by one beside ISTIO_MUTUAL on the same port (by SNI)', async () => {
    assert.equal(await asksForCertificate(gw.ports[443]!, 'mesh.example.com'), true, 'ISTIO_MUTUAL asks');
    assert.equal(await asksForCertificate(gw.ports[8443]!, 'simple.example.com'), false, 'SIMPLE on its own port does not');
    assert.equal(await asksForCertificate(gw.ports[9443]!, 'simple.example.com'), false, 'SIMPLE by SNI on a shared port does not');
    assert.equal(await asksForCertificate(gw.ports[9443]!, 'mesh.example.com'), true, 'ISTIO_MUTUAL by SNI on the shared port does');
    const simple = await get(gw.ports[9443]!, { ca: pki.caPem, servername: 'simple.example.com' });
    assert.equal(simple.status, 200);
    assert.equal(simple.body.xfcc, null, 'no client certificate, no x-forwarded-client-cert');
  });
});
