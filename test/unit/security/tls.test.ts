// TLS helpers: secure contexts from SVIDs, SPIFFE peer checks (including node's quoted SAN
// text), and the pin check — with certificates from a real CA, over real loopback sockets.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { CertificateAuthority } from '../../../src/control/ca/authority.js';
import { checkPeerSpiffeId, peerSpiffeId, sanEntries, uriSans } from '../../../src/security/tls/peer.js';
import { mtlsClientOptions, mtlsServerOptions, type TlsIdentity } from '../../../src/security/tls/secure-context.js';
import { pin } from '../../../src/security/tls/pinned-root.js';
import { splitCertificates } from '../../../src/security/identity/pem.js';
import { csrFor, testCa } from '../../helpers/ca.js';

const REVIEWS = 'spiffe://cluster.local/ns/default/sa/reviews';
const PRODUCTPAGE = 'spiffe://cluster.local/ns/default/sa/productpage';

async function identity(ca: CertificateAuthority, id: string): Promise<TlsIdentity> {
  const { csr, key } = await csrFor([id]);
  const issued = await ca.signSvid(csr, id);
  return { keyPem: key.privateKeyPem, chainPem: issued.chain, trustBundlePem: issued.roots };
}

describe('mTLS options', () => {
  let ca: CertificateAuthority;
  let close: () => Promise<void>;
  let server: ReturnType<typeof createServer>;
  let port: number;
  let peers: Array<{ spiffeId: string } | { problem: string }>;
  before(async () => {
    ({ ca, close } = await testCa());
    peers = [];
    server = createServer(mtlsServerOptions(await identity(ca, REVIEWS)), (socket) => {
      peers.push(peerSpiffeId(socket.getPeerX509Certificate()));
      socket.end('hi');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.close();
    await close();
  });

  const dial = (options: object) => new Promise<TLSSocket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => resolve(socket));
    socket.resume();
    socket.once('error', reject);
  });

  test('client and server authenticate each other by SPIFFE ID', async () => {
    const socket = await dial(mtlsClientOptions(await identity(ca, PRODUCTPAGE), REVIEWS));
    assert.deepEqual(peerSpiffeId(socket.getPeerX509Certificate()), { spiffeId: REVIEWS });
    await once(socket, 'end');
    assert.deepEqual(peers.at(-1), { spiffeId: PRODUCTPAGE });
  });

  test('a server with another identity is refused by the client', async () => {
    await assert.rejects(dial(mtlsClientOptions(await identity(ca, PRODUCTPAGE), 'spiffe://cluster.local/ns/default/sa/ratings')), /is spiffe:\/\/cluster.local\/ns\/default\/sa\/reviews, not spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings/);
  });

  /** Connects and reads to the end; what the server sent (its handler writes 'hi' to accepted peers). */
  const exchange = (options: object) => new Promise<string>((resolve) => {
    let data = '';
    const socket = connect({ host: '127.0.0.1', port, ...options });
    socket.on('data', (d: Buffer) => { data += d.toString(); });
    socket.on('error', () => {});
    socket.on('close', () => resolve(data));
  });

  test('a client without a certificate, or from another CA, is refused by the server', async () => {
    const before = peers.length;
    assert.equal(await exchange({ ca: ca.roots().join(''), checkServerIdentity: () => undefined }), '', 'no certificate: nothing served');
    const other = await testCa();
    try {
      const foreign = await identity(other.ca, PRODUCTPAGE);
      assert.equal(await exchange(mtlsClientOptions({ ...foreign, trustBundlePem: ca.roots() }, REVIEWS)), '', 'a certificate from another CA: nothing served');
    } finally {
      await other.close();
    }
    assert.equal(peers.length, before, 'the server handler never ran for either');
    assert.equal(await exchange(mtlsClientOptions(await identity(ca, PRODUCTPAGE), REVIEWS)), 'hi', 'control: a mesh client is served');
  });
});

describe('peer identity', () => {
  test('a DNS SAN that quotes ", URI:spiffe://…" is not a URI SAN (CVE-2021-44532 shape)', () => {
    const text = 'DNS:"evil, URI:spiffe://cluster.local/ns/default/sa/admin", DNS:ok';
    assert.deepEqual(sanEntries(text), [{ type: 'DNS', value: 'evil, URI:spiffe://cluster.local/ns/default/sa/admin' }, { type: 'DNS', value: 'ok' }]);
    assert.deepEqual(uriSans({ subjectaltname: text } as never), []);
    assert.deepEqual(peerSpiffeId({ subjectaltname: text, raw: Buffer.from([1]) } as never), { problem: 'the peer certificate has 0 URI SANs; an X.509-SVID has exactly one' });
  });

  test('two URI SANs, a trust-domain-only ID, no certificate', () => {
    const two = { subjectaltname: `URI:${REVIEWS}, URI:${PRODUCTPAGE}`, raw: Buffer.from([1]) } as never;
    assert.match(checkPeerSpiffeId(two, REVIEWS)!.message, /2 URI SANs/);
    assert.match(checkPeerSpiffeId({ subjectaltname: 'URI:spiffe://cluster.local', raw: Buffer.from([1]) } as never, REVIEWS)!.message, /no path/);
    assert.equal(checkPeerSpiffeId(undefined, REVIEWS)!.code, 'MESHLET_ERR_TLS_PEER');
    assert.equal(checkPeerSpiffeId({ subjectaltname: `URI:${REVIEWS}`, raw: Buffer.from([1]) } as never, [PRODUCTPAGE, REVIEWS]), undefined);
    assert.equal(checkPeerSpiffeId({ subjectaltname: `URI:${REVIEWS}`, raw: Buffer.from([1]) } as never, (id) => id.endsWith('/sa/reviews')), undefined);
  });
});

describe('pin', () => {
  test('accepts the chain that leads to the pinned root and names the server; refuses the rest', async () => {
    const { ca, close } = await testCa();
    try {
      const { chainPem } = await ca.issueServerCertificate({ dnsNames: ['istiod.istio-system.svc'], ipAddresses: [] });
      const chain = splitCertificates(chainPem).map((p) => new X509Certificate(p));
      const fingerprint = ca.rootFingerprint;
      assert.equal(typeof pin(chain, { fingerprint, serverName: 'istiod.istio-system.svc' }), 'object');
      assert.match(String(pin(chain, { fingerprint: '00'.repeat(32), serverName: 'istiod.istio-system.svc' })), /did not present the root/);
      assert.match(String(pin(chain, { fingerprint, serverName: 'other.svc' })), /not for other\.svc/);
      assert.match(String(pin(chain.slice(1), { fingerprint, serverName: 'istiod.istio-system.svc' })), /itself is the pinned root/);
      assert.match(String(pin(chain, { fingerprint, serverName: 'istiod.istio-system.svc' }, Date.now() + 20 * 365 * 86400_000)), /expired/);
    } finally {
      await close();
    }
  });
});
