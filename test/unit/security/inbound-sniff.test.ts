// The first-byte sniffer hands the real sockets on: a plaintext PERMISSIVE connection reaches
// node:http and an http2 server as the accepted net.Socket itself (the peeked bytes put back with
// unshift, no JS stream in the data path), a TLS one as the TLSSocket the handshake made. Real
// servers on port 0, a real CA.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, Socket, type AddressInfo } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect as h2connect, createServer as createH2Server, constants as h2 } from 'node:http2';
import { TLSSocket } from 'node:tls';
import { Emitter } from '../../../src/internal/events.js';
import type { IdentityManager, RotateEvent, Svid } from '../../../src/security/identity/manager.js';
import { MeshTls } from '../../../src/security/tls/mesh-tls.js';
import { InboundTls, type InboundTlsMode } from '../../../src/security/tls/inbound.js';
import { csrFor, testCa } from '../../helpers/ca.js';

const SERVER = 'spiffe://cluster.local/ns/default/sa/echo';
const CLIENT = 'spiffe://cluster.local/ns/default/sa/caller';
const cleanup: Array<() => Promise<unknown> | unknown> = [];
after(async () => { for (const f of cleanup.reverse()) await f(); });

let serverTls: MeshTls;
let client: Svid;

async function svid(ca: Awaited<ReturnType<typeof testCa>>['ca'], spiffeId: string): Promise<Svid> {
  const { csr, key } = await csrFor([spiffeId]);
  const issued = await ca.signSvid(csr, spiffeId, 3600_000);
  return { spiffeId, keyPem: key.privateKeyPem, chainPem: issued.chain, trustBundlePem: issued.roots, notBefore: 0, notAfter: Date.now() + 3600_000, serialNumber: '1' };
}

before(async () => {
  const { ca, close } = await testCa();
  cleanup.push(close);
  const server = await svid(ca, SERVER);
  client = await svid(ca, CLIENT);
  const manager = { spiffeId: SERVER, current: () => server, on: (_e: 'rotate', fn: (e: RotateEvent) => void) => new Emitter<RotateEvent>().on(fn) } as unknown as IdentityManager;
  serverTls = new MeshTls(manager);
  cleanup.push(() => serverTls.close());
});

/** The exact class of a socket: `net` for net.Socket itself, `tls` for a TLSSocket, else its name. */
function kind(socket: unknown): string {
  const ctor = (socket as { constructor?: unknown } | undefined)?.constructor;
  return ctor === Socket ? 'net' : ctor === TLSSocket ? 'tls' : String((ctor as { name?: string } | undefined)?.name);
}

/** A raw TCP listener whose connections go through `acceptor`. */
async function sniffing(acceptor: InboundTls): Promise<number> {
  const net = createNetServer((s) => acceptor.accept(s, 0));
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => net.close(r)), () => acceptor.close());
  return (net.address() as AddressInfo).port;
}

describe('inbound sniffing hands on the real socket', () => {
  test('HTTP/1.1 PERMISSIVE: plaintext gets the net.Socket, TLS the TLSSocket; a body larger than the first read arrives whole', async () => {
    const seen: string[] = [];
    const server = createHttpServer((req, res) => {
      seen.push(kind(req.socket));
      let n = 0;
      req.on('data', (d: Buffer) => { n += d.length; });
      req.on('end', () => res.end(String(n)));
    });
    // attach(): how mesh.listen() puts the sniffer in front of a node:http server.
    const acceptor = new InboundTls(serverTls, (): InboundTlsMode => 'PERMISSIVE', ['http/1.1']);
    acceptor.attach(server, () => 0);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)), () => acceptor.close());
    const port = (server.address() as AddressInfo).port;
    const body = Buffer.alloc(256 * 1024, 7);
    const plain = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve(t)); });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(plain, String(body.length));
    const { request: httpsRequest } = await import('node:https');
    const secure = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port, method: 'POST', path: '/', key: client.keyPem, cert: client.chainPem.join(''), ca: client.trustBundlePem.join(''),
        checkServerIdentity: () => undefined,
      }, (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve(t)); });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(secure, String(body.length));
    assert.deepEqual(seen, ['net', 'tls']);
  });

  test('HTTP/2 PERMISSIVE: a plaintext h2c session reads the peeked preface from the net.Socket; TLS h2 works beside it', async () => {
    const seen: string[] = [];
    const server = createH2Server((req, res) => res.end(`hello ${req.url}`));
    cleanup.push(() => server.close());
    // What the sniffer hands on (a JS stream here would be wrapped in node's JSStreamSocket).
    const port = await sniffing(new InboundTls(serverTls, () => 'PERMISSIVE', ['h2'], (s) => {
      seen.push(kind(s));
      server.emit('connection', s);
    }));
    const get = (session: ReturnType<typeof h2connect>, path: string) => new Promise<string>((resolve, reject) => {
      const req = session.request({ [h2.HTTP2_HEADER_PATH]: path });
      let t = '';
      req.on('data', (d) => { t += d; });
      req.on('end', () => resolve(t));
      req.on('error', reject);
      req.end();
    });
    const plain = h2connect(`http://127.0.0.1:${port}`);
    assert.deepEqual(await Promise.all([get(plain, '/a'), get(plain, '/b')]), ['hello /a', 'hello /b']);
    assert.equal(await get(plain, '/c'), 'hello /c', 'the session keeps working after the peeked bytes');
    plain.close();
    const secure = h2connect(`https://127.0.0.1:${port}`, { key: client.keyPem, cert: client.chainPem.join(''), ca: client.trustBundlePem.join(''), checkServerIdentity: () => undefined });
    assert.equal(await get(secure, '/tls'), 'hello /tls');
    secure.close();
    assert.deepEqual(seen, ['net', 'tls']);
  });
});
