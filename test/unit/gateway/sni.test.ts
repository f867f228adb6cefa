// The ClientHello reader the gateway's TLS passthrough routes by: real ClientHellos from node:tls
// (TLS 1.2 and 1.3, with and without SNI/ALPN), fed whole, byte by byte and re-split into several
// records; garbage, truncations, oversize and malformed extensions; and filter chain choice by SNI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { MAX_CLIENT_HELLO, parseClientHello } from '../../../src/gateway/sni.js';
import { TcpChainRouter } from '../../../src/gateway/tcp-routes.js';
import type { TcpChainModel } from '../../../src/core/model/index.js';

/** The bytes node:tls sends first for these options (the ClientHello), captured by a raw server. */
async function clientHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (parseClientHello(buf).kind !== 'more') {
            s.destroy();
            resolve(buf);
          }
        });
      });
      const c = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...opts });
      c.on('error', () => {});
      c.on('close', () => setTimeout(() => reject(new Error('no ClientHello')), 1000).unref());
    });
  } finally {
    server.close();
  }
}

/** Re-frames a single-record ClientHello into records of at most `size` bytes of handshake data. */
function reframe(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const frag = body.subarray(at, at + size);
    const head = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    head.writeUInt16BE(frag.length, 3);
    out.push(head, frag);
  }
  return Buffer.concat(out);
}

test('real ClientHellos: SNI lower-cased, ALPN read; TLS 1.2 and 1.3; no SNI for an IP', async () => {
  const h13 = await clientHello({ servername: 'Nginx.Example.COM', ALPNProtocols: ['h2', 'http/1.1'] });
  assert.deepEqual(parseClientHello(h13), { kind: 'hello', serverName: 'nginx.example.com', alpn: ['h2', 'http/1.1'] });
  const h12 = await clientHello({ servername: 'a.b.example.com', maxVersion: 'TLSv1.2' });
  assert.deepEqual(parseClientHello(h12), { kind: 'hello', serverName: 'a.b.example.com', alpn: [] });
  const none = await clientHello({});
  assert.deepEqual(parseClientHello(none), { kind: 'hello', serverName: undefined, alpn: [] });
});

test('incremental: every prefix is `more`; a ClientHello split over records reassembles', async () => {
  const hello = await clientHello({ servername: 'split.example.com' });
  for (let n = 0; n < hello.length; n++) assert.equal(parseClientHello(hello.subarray(0, n)).kind, 'more', `prefix of ${n} bytes`);
  for (const size of [1, 7, 100]) {
    const framed = reframe(hello, size);
    assert.deepEqual(parseClientHello(framed), { kind: 'hello', serverName: 'split.example.com', alpn: [] }, `records of ${size}`);
    assert.equal(parseClientHello(framed.subarray(0, framed.length - 1)).kind, 'more');
  }
});

test('garbage and malformed hellos are not TLS, at the first byte that proves it', async () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'not-tls');
  assert.equal(parseClientHello(Buffer.from([0x16])).kind, 'more');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x07])).kind, 'not-tls'); // not version 3.x
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])).kind, 'not-tls'); // empty record
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x50, 0x00])).kind, 'not-tls'); // record > 2^14
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind, 'not-tls'); // ServerHello
  const hello = await clientHello({ servername: 'x.example.com' });
  // A record of another type in the middle of the handshake.
  const framed = reframe(hello, 50);
  const broken = Buffer.from(framed);
  broken[55] = 0x17;
  assert.equal(parseClientHello(broken).kind, 'not-tls');
  // Extensions length that disagrees with the message.
  const bad = Buffer.from(hello);
  const sid = bad[5 + 4 + 34]!;
  const suitesAt = 5 + 4 + 35 + sid;
  const compAt = suitesAt + 2 + bad.readUInt16BE(suitesAt);
  const extAt = compAt + 1 + bad[compAt]!;
  bad.writeUInt16BE(bad.readUInt16BE(extAt) + 1, extAt);
  assert.equal(parseClientHello(bad).kind, 'not-tls');
});

test('a server_name that is not a DNS name, two host names, or a duplicate extension is refused', () => {
  const hello = (exts: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0]), Buffer.from([0, 2, 0x13, 0x01]), Buffer.from([1, 0]), u16(exts.length), exts]);
    const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
    return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
  };
  const sni = (...names: string[]): Buffer => {
    const entries = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0]), u16(n.length), Buffer.from(n, 'latin1')])));
    const list = Buffer.concat([u16(entries.length), entries]);
    return Buffer.concat([u16(0), u16(list.length), list]);
  };
  assert.deepEqual(parseClientHello(hello(sni('ok.example.com'))), { kind: 'hello', serverName: 'ok.example.com', alpn: [] });
  assert.deepEqual(parseClientHello(hello(sni('trailing.example.com.'))), { kind: 'hello', serverName: 'trailing.example.com', alpn: [] });
  assert.equal(parseClientHello(hello(sni('bad name.com'))).kind, 'not-tls');
  assert.equal(parseClientHello(hello(sni('a..b'))).kind, 'not-tls');
  assert.equal(parseClientHello(hello(sni('x'.repeat(64) + '.com'))).kind, 'not-tls');
  assert.equal(parseClientHello(hello(sni('a.com', 'b.com'))).kind, 'not-tls');
  assert.equal(parseClientHello(hello(Buffer.concat([sni('a.com'), sni('a.com')]))).kind, 'not-tls');
});

test('a ClientHello larger than the limit is too-large before it is all in', () => {
  const head = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]); // announces a 64 KiB handshake
  assert.equal(parseClientHello(head).kind, 'too-large');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x03, 0xe8, 0x01, 0x00, 0x04, 0x00]), 1024).kind, 'too-large');
  assert.ok(MAX_CLIENT_HELLO === 65536);
});

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

function chain(name: string, serverNames: string[], extra: Partial<TcpChainModel> = {}): TcpChainModel {
  return { name, serverNames, transportProtocol: '', applicationProtocols: [], proxy: { statPrefix: name, clusters: [{ name, weight: 1 }], hashSourceIp: false }, ...extra };
}

test('chain choice: exact name, then the longest wildcard suffix, then the chain without names', () => {
  const r = new TcpChainRouter({ address: '0.0.0.0', port: 443, inspectTls: true, chains: [
    chain('exact', ['api.example.com']),
    chain('wild', ['*.example.com']),
    chain('deeper', ['*.eu.example.com']),
    chain('tls-any', [], { transportProtocol: 'tls' }),
  ] });
  const pick = (sni: string | undefined, t: 'tls' | 'raw_buffer' = 'tls') => r.select(sni, t, [])?.model.name;
  assert.equal(pick('api.example.com'), 'exact');
  assert.equal(pick('www.example.com'), 'wild');
  assert.equal(pick('a.b.example.com'), 'wild');
  assert.equal(pick('x.eu.example.com'), 'deeper');
  assert.equal(pick('example.com'), 'tls-any');
  assert.equal(pick(undefined), 'tls-any');
  assert.equal(pick(undefined, 'raw_buffer'), undefined);
});
