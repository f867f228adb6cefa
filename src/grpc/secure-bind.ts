/**
 * Binding a grpc-js server behind the mesh's first-byte mTLS sniffer: meshlet listens itself
 * and hands each connection — verified TLS or (PERMISSIVE) plaintext — to grpc-js through
 * `Server.createConnectionInjector` (grpc-js ≥ 1.12) with insecure credentials, since TLS is
 * already terminated. The http2 session's socket is then the TLSSocket, so grpc-js'
 * `call.getAuthContext()` reports the verified client certificate.
 */
import { createServer, type AddressInfo } from 'node:net';
import type { Server } from '@grpc/grpc-js';
import { meshError } from '../errors.js';
import type { InboundTls } from '../security/tls/inbound.js';
import { grpcLib } from './lib.js';

/** A bound sniffing port: its number and how to stop it. */
export interface SniffingBinding {
  readonly port: number;
  close(): Promise<void>;
}

/** `host:port` / `[v6]:port` → parts (port 0 allowed). */
function split(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  if (!m) throw meshError('MESHLET_ERR_LISTEN', `cannot bind "${address}": expected host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/**
 * Listens on `address` and feeds grpc-js through the sniffer.
 *
 * @example
 * ```ts
 * const binding = await bindSniffing(server, '127.0.0.1:0', (deliver) => new InboundTls(meshTls, mode, ['h2'], deliver));
 * ```
 */
export async function bindSniffing(server: Server, address: string, acceptor: (deliver: (s: import('node:net').Socket) => void) => InboundTls): Promise<SniffingBinding> {
  const injector = server.createConnectionInjector(grpcLib().ServerCredentials.createInsecure());
  const tls = acceptor((s) => injector.injectConnection(s));
  const { host, port } = split(address);
  const net = createServer({ noDelay: true }, (socket) => tls.accept(socket, bound));
  let bound = 0;
  await new Promise<void>((resolve, reject) => {
    net.once('error', (err: NodeJS.ErrnoException) => reject(meshError(err.code === 'EADDRINUSE' ? 'MESHLET_ERR_PORT_IN_USE' : 'MESHLET_ERR_LISTEN', `cannot listen on ${address}: ${err.message}`, { cause: err })));
    net.listen(port, host, () => resolve());
  });
  bound = (net.address() as AddressInfo).port;
  return {
    port: bound,
    // Resolves once every connection has ended (the grpc-js server's shutdown ends the sessions).
    close: async () => {
      await new Promise<void>((resolve) => net.close(() => resolve()));
      injector.destroy();
      tls.close();
    },
  };
}
