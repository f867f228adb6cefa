// TLS PASSTHROUGH routed by SNI and TCP routes at the gateway: real TLS servers behind it (their
// own certificates reach the client: the gateway never terminates), weighted splits, wildcard
// sniHosts, connections closed for unknown names, non-TLS bytes and clients that never send a
// ClientHello, large transfers both ways, half-close, and Istio's TCP metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { request } from 'undici';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { testPki, type TestPki } from '../../helpers/tls-certs.js';
import { waitFor } from '../../helpers/wait.js';

let fx: MeshFixture;
let pki: TestPki;
let gw: Gateway;
const servers: Server[] = [];

/** A backend that says who it is, echoes every byte, and answers a half-close with `bye`. */
function echo(name: string, s: Socket): void {
  s.on('error', () => {});
  s.write(`${name}\n`);
  s.on('data', (d: Buffer) => s.write(d));
  s.on('end', () => s.end('bye\n'));
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

before(async () => {
  pki = await testPki();
  const v1 = await pki.leaf('backend-v1', { dns: ['nginx.example.com', 'split.example.com'] });
  const v2 = await pki.leaf('backend-v2', { dns: ['split.example.com', '*.wild.example.com', 'x.y.wild.example.com'] });
  const p1 = await listen(tls.createServer({ ...v1, allowHalfOpen: true }, (s) => echo('v1', s)));
  const p2 = await listen(tls.createServer({ ...v2, allowHalfOpen: true }, (s) => echo('v2', s)));
  const pt = await listen(createNetServer({ allowHalfOpen: true }, (s) => echo('tcp', s)));
  const live = await listen(createNetServer({ allowHalfOpen: true }, (s) => echo('live', s)));
  // A port nothing listens on: connects to it are refused.
  const closed = createNetServer();
  const dead = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as { port: number }).port)));
  await new Promise((resolve) => closed.close(resolve));
  fx = await MeshFixture.start('');
  await fx.apply(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tls-backend }
spec:
  hosts: [tls-backend.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 443, name: tls, protocol: TLS }]
  endpoints:
  - { address: 127.0.0.1, ports: { tls: ${p1} }, labels: { app: tls-backend, version: v1 } }
  - { address: 127.0.0.1, ports: { tls: ${p2} }, labels: { app: tls-backend, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tls-backend }
spec:
  host: tls-backend.default.svc.cluster.local
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tcp-backend }
spec:
  hosts: [tcp-backend.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9000, name: tcp, protocol: TCP }]
  endpoints:
  - { address: 127.0.0.1, ports: { tcp: ${pt} }, labels: { app: tcp-backend, version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: flaky }
spec:
  hosts: [flaky.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9001, name: tcp, protocol: TCP }]
  endpoints:
  - { address: 127.0.0.1, ports: { tcp: ${live} }, labels: { app: flaky } }
  - { address: 127.0.0.1, ports: { tcp: ${dead} }, labels: { app: flaky } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: flaky }
spec:
  host: flaky.default.svc.cluster.local
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 300s, maxEjectionPercent: 100 }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: passthrough }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: tls, protocol: TLS }
    hosts: ['*.example.com']
    tls: { mode: PASSTHROUGH }
  - port: { number: 9000, name: tcp, protocol: TCP }
    hosts: ['*']
  - port: { number: 9001, name: tcp-flaky, protocol: TCP }
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx }
spec:
  hosts: [nginx.example.com]
  gateways: [passthrough]
  tls:
  - match: [{ port: 443, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: tls-backend.default.svc.cluster.local, subset: v1, port: { number: 443 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: split }
spec:
  hosts: [split.example.com]
  gateways: [passthrough]
  tls:
  - match: [{ sniHosts: [split.example.com] }]
    route:
    - { destination: { host: tls-backend.default.svc.cluster.local, subset: v1 }, weight: 75 }
    - { destination: { host: tls-backend.default.svc.cluster.local, subset: v2 }, weight: 25 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: wild }
spec:
  hosts: ['*.wild.example.com']
  gateways: [passthrough]
  tls:
  - match: [{ sniHosts: ['*.wild.example.com'] }]
    route: [{ destination: { host: tls-backend.default.svc.cluster.local, subset: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp }
spec:
  hosts: ['*']
  gateways: [passthrough]
  tcp:
  - match: [{ port: 9000 }]
    route: [{ destination: { host: tcp-backend.default.svc.cluster.local, port: { number: 9000 } } }]
  - match: [{ port: 9001 }]
    route: [{ destination: { host: flaky.default.svc.cluster.local, port: { number: 9001 } } }]
`);
  gw = await createGateway({
    controlPlane: `127.0.0.1:${fx.server.xdsPort}`, host: '127.0.0.1', ports: { 443: 0, 9000: 0, 9001: 0 }, metricsPort: 0, initialFetchTimeoutMs: 3000,
    tcpLimits: { clientHelloTimeoutMs: 300 },
  });
  await waitFor(() => gw.ports[443] && gw.ports[9000] && gw.ports[9001], 5000, 'ports bound');
  await waitFor(async () => (await tlsExchange('nginx.example.com')).name === 'v1', 5000, 'passthrough route warm');
});

after(async () => {
  await gw?.close();
  await fx?.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await pki?.remove();
});

/** One TLS connection through the gateway: the backend's name line, the certificate it presented, then `payload` echoed. */
function tlsExchange(servername: string, payload: Buffer = Buffer.alloc(0)): Promise<{ name: string; subject: string; echoed: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.ports[443]!, servername, ca: pki.caPem });
    const chunks: Buffer[] = [];
    let got = 0;
    let subject = '';
    s.once('secureConnect', () => {
      subject = String(s.getPeerCertificate().subject?.CN ?? '');
      if (payload.length > 0) s.write(payload);
    });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(10);
      if (nl >= 0 && got >= nl + 1 + payload.length) {
        s.end();
        resolve({ name: all.subarray(0, nl).toString(), subject, echoed: all.subarray(nl + 1, nl + 1 + payload.length) });
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before the answer')));
  });
}

/** Resolves how a raw connection ended after writing `bytes` (or nothing): the bytes it got back and whether it was reset. */
function rawAttempt(port: number, bytes?: Buffer): Promise<{ received: number; error: string | undefined }> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    let received = 0;
    let error: string | undefined;
    s.on('connect', () => {
      if (bytes) s.write(bytes);
    });
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ received, error }));
  });
}

test('routes by SNI without terminating TLS: the backend\'s own certificate reaches the client', async () => {
  const r = await tlsExchange('nginx.example.com', Buffer.from('hello'));
  assert.equal(r.name, 'v1');
  assert.equal(r.subject, 'backend-v1');
  assert.equal(r.echoed.toString(), 'hello');
});

test('weighted split 75/25 between subsets', async () => {
  const seen = { v1: 0, v2: 0 } as Record<string, number>;
  for (let i = 0; i < 60; i++) seen[(await tlsExchange('split.example.com')).name]! += 1;
  assert.equal(seen['v1']! + seen['v2']!, 60);
  assert.ok(seen['v1']! > seen['v2']!, JSON.stringify(seen));
  assert.ok(seen['v2']! > 0, JSON.stringify(seen));
});

test('wildcard sniHosts cover subdomains at any depth, not the bare domain', async () => {
  assert.equal((await tlsExchange('a.wild.example.com')).name, 'v2');
  assert.equal((await tlsExchange('x.y.wild.example.com')).name, 'v2');
  await assert.rejects(tlsExchange('wild.example.com'));
});

test('an SNI name no route matches is closed before any byte reaches a backend', async () => {
  await assert.rejects(tlsExchange('other.example.org'));
  await assert.rejects(tlsExchange('nobody.example.com'));
});

test('a client that sends no TLS is closed', { timeout: 10_000 }, async () => {
  const r = await rawAttempt(gw.ports[443]!, Buffer.from('GET / HTTP/1.1\r\nhost: nginx.example.com\r\n\r\n'));
  assert.equal(r.received, 0);
  const tooShort = await rawAttempt(gw.ports[443]!, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]));
  assert.equal(tooShort.received, 0);
});

test('a client that never sends (or never finishes) its ClientHello is closed after clientHelloTimeoutMs', { timeout: 10_000 }, async () => {
  const silent = await rawAttempt(gw.ports[443]!);
  assert.equal(silent.received, 0);
  // A record header announcing a ClientHello, then nothing.
  const partial = await rawAttempt(gw.ports[443]!, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  assert.equal(partial.received, 0);
});

test('large transfers both ways arrive intact (8 MiB echoed through TLS passthrough)', async () => {
  const payload = randomBytes(8 * 1024 * 1024);
  const r = await tlsExchange('nginx.example.com', payload);
  assert.equal(r.echoed.length, payload.length);
  assert.equal(createHash('sha256').update(r.echoed).digest('hex'), createHash('sha256').update(payload).digest('hex'));
});

/** One plain TCP exchange: send `payload`, half-close, read until the backend closes. */
function tcpExchange(payload: Buffer, port = gw.ports[9000]!): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('connect', () => s.end(payload));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

async function metrics(): Promise<string> {
  const res = await request(`http://127.0.0.1:${gw.mesh.metricsPort}/stats/prometheus`);
  return res.body.text();
}

function sample(text: string, name: string, service: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(`destination_service="${service}"`)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('TCP route with half-close; istio_tcp_* count the connections and exactly the bytes each way', async () => {
  const payloads = [randomBytes(1000), randomBytes(300_000)];
  for (const p of payloads) {
    const back = await tcpExchange(p);
    // The backend saw our FIN (it answers it with bye) and still reached us.
    assert.deepEqual(back, Buffer.concat([Buffer.from('tcp\n'), p, Buffer.from('bye\n')]));
  }
  const svc = 'tcp-backend.default.svc.cluster.local';
  const text = await waitFor(async () => {
    const t = await metrics();
    return sample(t, 'istio_tcp_connections_closed_total', svc) === 2 ? t : undefined;
  }, 5000, 'both TCP connections counted closed');
  assert.equal(sample(text, 'istio_tcp_connections_opened_total', svc), 2);
  const sent = payloads.reduce((n, p) => n + p.length, 0);
  assert.equal(sample(text, 'istio_tcp_received_bytes_total', svc), sent);
  assert.equal(sample(text, 'istio_tcp_sent_bytes_total', svc), sent + 2 * 'tcp\nbye\n'.length);
  const line = text.split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes(svc))!;
  for (const label of ['reporter="source"', 'source_workload="istio-ingressgateway"', 'source_workload_namespace="istio-system"', 'destination_app="tcp-backend"', 'destination_version="v1"', 'request_protocol="tcp"', 'response_flags="-"', 'connection_security_policy="unknown"']) {
    assert.ok(line.includes(label), `${label} in ${line}`);
  }
});

test('TLS passthrough connections are counted too, opened = closed once they end', async () => {
  const svc = 'tls-backend.default.svc.cluster.local';
  const before = await metrics();
  const opened = sample(before, 'istio_tcp_connections_opened_total', svc);
  await tlsExchange('nginx.example.com', Buffer.from('x'.repeat(5000)));
  const text = await waitFor(async () => {
    const t = await metrics();
    const o = sample(t, 'istio_tcp_connections_opened_total', svc);
    return o === opened + 1 && sample(t, 'istio_tcp_connections_closed_total', svc) === o ? t : undefined;
  }, 5000, 'the TLS connection counted');
  assert.ok(sample(text, 'istio_tcp_received_bytes_total', svc) > 5000);
  assert.ok(sample(text, 'istio_tcp_sent_bytes_total', svc) > 5000);
});

test('an endpoint that refuses connections is UF once, then ejected by outlier detection; every later connection reaches the live one', async () => {
  const answers: string[] = [];
  for (let i = 0; i < 10; i++) answers.push((await tcpExchange(Buffer.from('ping'), gw.ports[9001]!)).toString());
  const ok = `live\npingbye\n`;
  assert.equal(answers.filter((a) => a === '').length, 1, JSON.stringify(answers));
  assert.equal(answers.filter((a) => a === ok).length, 9, JSON.stringify(answers));
  const svc = 'flaky.default.svc.cluster.local';
  const text = await waitFor(async () => {
    const t = await metrics();
    return sample(t, 'istio_tcp_connections_closed_total', svc) === 10 ? t : undefined;
  }, 5000, 'ten flaky connections counted');
  const uf = text.split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes(svc) && l.includes('response_flags="UF"'));
  assert.equal(uf.length, 1, uf.join('\n'));
  assert.ok(uf[0]!.endsWith(' 1'), uf[0]);
});

test('config changes reach the bound ports: a new tls route serves new connections; a removed server closes its port', async () => {
  await assert.rejects(tlsExchange('late.example.com'));
  await fx.apply(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: late }
spec:
  hosts: [late.example.com]
  gateways: [passthrough]
  tls:
  - match: [{ sniHosts: [late.example.com] }]
    route: [{ destination: { host: tls-backend.default.svc.cluster.local, subset: v1 } }]
`);
  // The backend's certificate does not name late.example.com: the route is proven by its name line before verification matters.
  await waitFor(async () => {
    const name = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: gw.ports[443]!, servername: 'late.example.com', rejectUnauthorized: false });
      s.once('data', (d: Buffer) => { s.destroy(); resolve(d.toString().split('\n')[0]!); });
      s.on('error', () => resolve(''));
      s.on('close', () => resolve(''));
    });
    return name === 'v1';
  }, 5000, 'the late route');
  const flakyPort = gw.ports[9001]!;
  await fx.apply(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: passthrough }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: tls, protocol: TLS }
    hosts: ['*.example.com']
    tls: { mode: PASSTHROUGH }
  - port: { number: 9000, name: tcp, protocol: TCP }
    hosts: ['*']
`);
  await waitFor(() => gw.ports[9001] === undefined, 5000, 'port 9001 closed');
  const refused = await rawAttempt(flakyPort);
  assert.equal(refused.error, 'ECONNREFUSED');
  assert.equal((await tcpExchange(Buffer.from('still'))).toString(), 'tcp\nstillbye\n');
});
