// Trust rotations. Client: after the bundle drops root A, a server whose certificate
// chains to A is refused — by a full handshake and by an attempt to resume a session made
// before the change (the session cache is emptied on a trust change). Server: a ticket issued
// before a trust change no longer resumes (new ticket keys). Real TLS on port 0, two real CAs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Emitter } from '../../../src/internal/events.js';
import type { IdentityManager, RotateEvent, Svid } from '../../../src/security/identity/manager.js';
import { MeshTls } from '../../../src/security/tls/mesh-tls.js';
import { meshConnector } from '../../../src/security/tls/connector.js';
import type { TlsTransportModel } from '../../../src/core/model/transport.js';
import { csrFor, testCa } from '../../helpers/ca.js';

const SERVER = 'spiffe://cluster.local/ns/default/sa/reviews';
const CLIENT = 'spiffe://cluster.local/ns/default/sa/productpage';
const cleanup: Array<() => Promise<unknown> | unknown> = [];
after(async () => { for (const f of cleanup.reverse()) await f(); });

async function svid(ca: Awaited<ReturnType<typeof testCa>>['ca'], spiffeId: string, trust: string[]): Promise<Svid> {
  const { csr, key } = await csrFor([spiffeId]);
  const issued = await ca.signSvid(csr, spiffeId, 3600_000);
  return { spiffeId, keyPem: key.privateKeyPem, chainPem: issued.chain, trustBundlePem: trust, notBefore: 0, notAfter: Date.now() + 3600_000, serialNumber: String(Math.random()) };
}

/** An IdentityManager stand-in: the SVID and the rotate event, nothing else (MeshTls reads only those). */
function fakeManager(first: Svid) {
  const rotated = new Emitter<RotateEvent>();
  let current = first;
  const manager = { spiffeId: first.spiffeId, current: () => current, on: (_e: 'rotate', fn: (e: RotateEvent) => void) => rotated.on(fn) } as unknown as IdentityManager;
  return { manager, rotate: (next: Svid) => { const previous = current; current = next; rotated.fire({ previous, current: next }); } };
}

test('after a trust change drops root A, a server chaining to A is refused, resumed session included', async () => {
  const a = await testCa();
  const b = await testCa();
  cleanup.push(a.close, b.close);
  const rootA = a.ca.roots();
  const rootB = b.ca.roots();
  const serverSvid = await svid(a.ca, SERVER, [...rootA, ...rootB]);
  const server = createServer({ key: serverSvid.keyPem, cert: serverSvid.chainPem.join(''), ca: [...rootA, ...rootB], requestCert: true, rejectUnauthorized: true }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const port = (server.address() as AddressInfo).port;

  const { manager, rotate } = fakeManager(await svid(a.ca, CLIENT, rootA));
  const tls = new MeshTls(manager);
  cleanup.push(() => tls.close());
  const transport: TlsTransportModel = { kind: 'tls', sni: 'outbound_.9080_._.reviews', identity: true, trust: 'mesh', subjectAltNames: [SERVER], alpn: [] };
  const connect = meshConnector(tls, () => transport);
  const dial = () => new Promise<TLSSocket>((resolve, reject) => connect({ hostname: '127.0.0.1', protocol: 'https:', port: String(port), servername: transport.sni }, (err, s) => (err ? reject(err) : resolve(s as TLSSocket))));
  const readAll = (s: TLSSocket) => new Promise<string>((resolve) => { let out = ''; s.on('data', (d) => { out += d; }); s.on('end', () => resolve(out)); });

  const first = await dial();
  assert.equal(await readAll(first), 'hi');
  assert.equal(first.isSessionReused(), false);
  const second = await dial();
  assert.equal(await readAll(second), 'hi');
  assert.equal(second.isSessionReused(), true, 'sessions resume while the trust is unchanged');

  // The client's new SVID comes from CA B, and its bundle no longer holds root A.
  rotate(await svid(b.ca, CLIENT, rootB));
  await assert.rejects(dial(), /certificate|verify|issuer/i, 'the server chaining to the removed root is refused');
});

test('a server replaces its session-ticket keys on a trust change: an old ticket no longer resumes', async () => {
  const a = await testCa();
  const b = await testCa();
  cleanup.push(a.close, b.close);
  const rootA = a.ca.roots();
  const rootB = b.ca.roots();
  const { manager, rotate } = fakeManager(await svid(a.ca, SERVER, rootA));
  const serverTls = new MeshTls(manager);
  cleanup.push(() => serverTls.close());
  const { createServer: createNetServer } = await import('node:net');
  const { InboundTls } = await import('../../../src/security/tls/inbound.js');
  const acceptor = new InboundTls(serverTls, () => 'STRICT', ['http/1.1'], (s) => s.end('hi'));
  cleanup.push(() => acceptor.close());
  const net = createNetServer((s) => acceptor.accept(s, 0));
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => net.close(r)));
  const port = (net.address() as AddressInfo).port;
  const client = await svid(a.ca, CLIENT, [...rootA, ...rootB]);
  const { connect } = await import('node:tls');
  const dial = (session?: Buffer) => new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
    let saved: Buffer | undefined;
    const s = connect({ host: '127.0.0.1', port, key: client.keyPem, cert: client.chainPem.join(''), ca: [...rootA, ...rootB], checkServerIdentity: () => undefined, ...(session ? { session } : {}) });
    s.on('session', (x: Buffer) => { saved = x; });
    s.on('error', reject);
    s.on('data', () => {});
    s.on('end', () => resolve({ reused: s.isSessionReused(), session: saved }));
  });
  const first = await dial();
  assert.ok(first.session, 'the server issued a ticket');
  assert.equal((await dial(first.session)).reused, true, 'the ticket resumes while the trust is unchanged');
  const before = await dial();
  // The server's trust bundle changes (root B added): tickets issued before must not resume.
  rotate(await svid(a.ca, SERVER, [...rootA, ...rootB]));
  assert.equal((await dial(before.session)).reused, false, 'a ticket from before the trust change is refused');
});
