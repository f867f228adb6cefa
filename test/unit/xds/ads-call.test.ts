// The ADS transport: the node:http2 gRPC call must behave as the grpc-js one does against a real
// grpc-js server (messages in order whatever the chunking, statuses with their details, limits),
// and grpc-js must still carry calls that ask for its credentials.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { openAdsCall, type AdsTarget, type CallStatus } from '../../../src/xds/ads-call.js';

const METHOD = '/test.Bidi/Stream';
let server: grpc.Server;
let port = 0;

before(async () => {
  server = new grpc.Server();
  const raw = { path: METHOD, requestStream: true, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  server.addService({ Stream: raw } as never, {
    Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => {
        const text = b.toString();
        if (text === 'fail') call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'no 100% sure: ünïcode' });
        else if (text.startsWith('big:')) call.write(Buffer.alloc(Number(text.slice(4)), 1));
        else if (text.startsWith('many:')) for (let i = 0; i < Number(text.slice(5)); i++) call.write(Buffer.from(`m${i}`));
        else call.write(Buffer.from(`echo ${text}`));
      });
      call.on('end', () => call.end());
    },
  });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
});

after(() => server.forceShutdown());

function run(target: AdsTarget, send: string[], opts: { end?: boolean } = {}): Promise<{ messages: string[]; status: CallStatus; metadata: boolean }> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    let metadata = false;
    const call = openAdsCall(target, METHOD, {
      onMetadata: () => (metadata = true),
      onMessage: (m) => {
        messages.push(m.length > 64 ? `<${m.length} bytes>` : m.toString());
        if (messages.length === send.length && opts.end !== false) call.end();
      },
      onStatus: (status) => {
        call.close();
        resolve({ messages, status, metadata });
      },
    });
    for (const s of send) call.write(Buffer.from(s));
  });
}

const targets = (): Array<[string, AdsTarget]> => [
  ['node:http2', { server: `127.0.0.1:${port}`, maxReceiveBytes: 1 << 20 }],
  ['grpc-js', { server: `127.0.0.1:${port}`, maxReceiveBytes: 1 << 20, credentials: grpc.credentials.createInsecure() }],
];

describe('ADS call transports', { timeout: 20_000 }, () => {
  it('carry messages both ways and end OK after a half-close', async () => {
    for (const [name, target] of targets()) {
      const r = await run(target, ['a', 'b', 'c']);
      assert.deepEqual(r.messages, ['echo a', 'echo b', 'echo c'], name);
      assert.equal(r.status.code, 0, name);
      assert.equal(r.metadata, true, name);
    }
  });

  it('split and merged frames: 2,000 small messages and one of 600 KB arrive whole, in order', async () => {
    for (const [name, target] of targets()) {
      const big = await run(target, ['big:600000']);
      assert.deepEqual(big.messages, ['<600000 bytes>'], name);
    }
    const many = await new Promise<string[]>((resolve) => {
      const got: string[] = [];
      const call = openAdsCall(targets()[0]![1], METHOD, {
        onMetadata: () => {},
        onMessage: (m) => {
          got.push(m.toString());
          if (got.length === 2000) call.end();
        },
        onStatus: () => {
          call.close();
          resolve(got);
        },
      });
      call.write(Buffer.from('many:2000'));
    });
    assert.deepEqual(many, Array.from({ length: 2000 }, (_, i) => `m${i}`));
  });

  it('report the server status with its percent-decoded message', async () => {
    for (const [name, target] of targets()) {
      const r = await run(target, ['fail'], { end: false });
      assert.deepEqual(r.status, { code: grpc.status.PERMISSION_DENIED, details: 'no 100% sure: ünïcode' }, name);
    }
  });

  it('refuse a message over the receive limit with RESOURCE_EXHAUSTED', async () => {
    for (const [name, target] of targets()) {
      const r = await run({ ...target, maxReceiveBytes: 1000 }, ['big:5000'], { end: false });
      assert.equal(r.status.code, grpc.status.RESOURCE_EXHAUSTED, name);
      assert.deepEqual(r.messages, [], name);
    }
  });

  it('an unknown method is UNIMPLEMENTED; a refused port is UNAVAILABLE naming ECONNREFUSED', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = new grpc.Server();
      s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (_e, p) => s.tryShutdown(() => resolve(p)));
    });
    for (const [name, target] of targets()) {
      const unknown = await new Promise<CallStatus>((resolve) => {
        const call = openAdsCall(target, '/no.Such/Method', { onMetadata: () => {}, onMessage: () => {}, onStatus: (s) => { call.close(); resolve(s); } });
        call.write(Buffer.from('x'));
      });
      assert.equal(unknown.code, grpc.status.UNIMPLEMENTED, name);
      const refused = await new Promise<CallStatus>((resolve) => {
        const call = openAdsCall({ ...target, server: `127.0.0.1:${closed}` }, METHOD, { onMetadata: () => {}, onMessage: () => {}, onStatus: (s) => { call.close(); resolve(s); } });
      });
      assert.equal(refused.code, grpc.status.UNAVAILABLE, name);
      assert.match(refused.details, /ECONNREFUSED/, name);
    }
  });

  it('cancel ends the call with CANCELLED', async () => {
    for (const [name, target] of targets()) {
      const status = await new Promise<CallStatus>((resolve) => {
        const call = openAdsCall(target, METHOD, {
          onMetadata: () => {},
          onMessage: () => call.cancel(),
          onStatus: (s) => { call.close(); resolve(s); },
        });
        call.write(Buffer.from('x'));
      });
      assert.equal(status.code, grpc.status.CANCELLED, name);
    }
  });
});

describe('ADS call: a target no transport can start', () => {
  it('ends with UNAVAILABLE asynchronously instead of throwing', async () => {
    let sync = true;
    const status = await new Promise<CallStatus>((resolve) => {
      openAdsCall({ server: 'bad host:15010', maxReceiveBytes: 1024 }, METHOD, { onMetadata: () => {}, onMessage: () => {}, onStatus: resolve });
      sync = false;
    });
    assert.equal(sync, false);
    assert.equal(status.code, grpc.status.UNAVAILABLE);
  });
});
