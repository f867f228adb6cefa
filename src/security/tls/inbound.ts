import type { Server as NetServer, Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { trace } from '../../internal/debug.js';
import type { Disposable } from '../../internal/events.js';
import { newTicketKeys, type MeshTls } from './mesh-tls.js';

const log = trace('tls');

/** PeerAuthentication's mutual TLS modes, as one port of a workload resolves them. */
export type InboundTlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/**
 * The per-port mode lookup. Istio resolves PeerAuthentication (mesh, namespace, workload,
 * `portLevelMtls`) per port; whoever translates it (the inbound policy) plugs in here, through
 * `createMesh({ inboundTlsMode })`. Asked once per accepted connection.
 */
export type InboundModeLookup = (port: number) => InboundTlsMode;

/** Istio's default for a workload with an identity and no PeerAuthentication: PERMISSIVE. */
export const DEFAULT_INBOUND_MODE: InboundModeLookup = () => 'PERMISSIVE';

/** A TLS handshake record starts with content type 22 (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;
/** How long a new connection may stay silent before its first byte decides TLS or plaintext. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * mTLS on a listening port, decided per connection by its first byte as Envoy's TLS inspector
 * does: 0x16 is a TLS ClientHello and gets the mesh identity with a verified client certificate
 * required; anything else is plaintext — served under PERMISSIVE, closed under STRICT (Envoy
 * closes a connection no filter chain matches). DISABLE (and a mesh without an identity) serves
 * plaintext only, without looking. The TLS side is one tls.Server that never listens: sockets are
 * handed to it, so its handshake timeout, session tickets and `setSecureContext` apply; rotation
 * swaps its context (open connections keep theirs), a trust change replaces its ticket keys.
 *
 * @example
 * ```ts
 * const acceptor = new InboundTls(meshTls, (port) => 'STRICT', ['http/1.1']);
 * acceptor.attach(httpServer, () => port); // takes over the server's 'connection' listeners
 * ```
 */
export class InboundTls {
  private tlsServer: TlsServer | undefined;
  private sub: Disposable | undefined;
  /** Connections accepted by mode outcome (diagnostics and tests). */
  readonly counts = { tls: 0, plaintext: 0, refused: 0 };

  /**
   * @param deliver where plaintext and verified TLS sockets go (a server's connection
   *   listeners, grpc-js' connection injector); {@link attach} sets it for a server.
   */
  constructor(
    private readonly tls: MeshTls | undefined,
    private readonly mode: InboundModeLookup = DEFAULT_INBOUND_MODE,
    private readonly alpn: readonly string[] = ['http/1.1'],
    private deliver: (s: Socket) => void = (s) => s.destroy(),
  ) {}

  /**
   * Puts the sniffer in front of a server's `connection` listeners (node:http, Express and
   * Fastify servers). Dispose to restore them.
   */
  attach(server: NetServer, port: () => number): Disposable {
    const listeners = server.listeners('connection') as Array<(s: Socket) => void>;
    server.removeAllListeners('connection');
    this.deliver = (s: Socket): void => {
      for (const l of listeners) l.call(server, s);
    };
    const onConnection = (socket: Socket): void => this.accept(socket, port());
    server.on('connection', onConnection);
    return {
      dispose: () => {
        server.off('connection', onConnection);
        for (const l of listeners) server.on('connection', l);
      },
    };
  }

  /** Decides one accepted connection and hands the plaintext or verified TLS socket on. */
  accept(socket: Socket, port: number): void {
    const deliver = this.deliver;
    const mode = this.tls ? this.modeOf(port) : 'DISABLE';
    if (mode === 'DISABLE') {
      this.counts.plaintext++;
      return deliver(socket);
    }
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
    const onClose = (): void => clearTimeout(timer);
    // Until a server owns the socket, a reset must not become an unhandled 'error'.
    const onError = (): void => void socket.destroy();
    socket.once('close', onClose);
    socket.on('error', onError);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) {
        const server = this.server();
        if (!server) return void socket.destroy();
        this.counts.tls++;
        server.emit('connection', socket);
      } else if (mode === 'STRICT') {
        this.counts.refused++;
        log('STRICT port %d: plaintext connection from %s closed', port, socket.remoteAddress);
        socket.destroy();
      } else {
        this.counts.plaintext++;
        // The peeked bytes are back on the real socket: node:http replays what is buffered when
        // it resumes the socket; an http2 session reads the buffer itself before it consumes the
        // native handle (node ≥ 15.x, nodejs/node#35475), so it must not be resumed (the bytes
        // would flow to no listener). No JS stream sits in the data path either way.
        deliver(socket);
        if (!this.alpn.includes('h2')) socket.resume();
      }
    });
  }

  /** Stops following rotations. */
  close(): void {
    this.sub?.dispose();
    this.tlsServer?.close();
  }

  private modeOf(port: number): InboundTlsMode {
    try {
      return this.mode(port);
    } catch (err) {
      // A broken lookup fails closed: STRICT still serves mesh clients.
      log('inbound mode lookup failed for port %d: %o', port, err);
      return 'STRICT';
    }
  }

  private server(): TlsServer | undefined {
    if (this.tlsServer) return this.tlsServer;
    const options = this.tls?.serverOptions();
    if (!options || !this.tls) return undefined;
    const server = createTlsServer({ ...options, ALPNProtocols: [...this.alpn], handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ticketKeys: newTicketKeys() });
    server.on('secureConnection', (s: TLSSocket) => this.deliver(s));
    server.on('tlsClientError', (err, s) => {
      log('TLS handshake from %s failed: %s', s.remoteAddress, err.message);
      s.destroy();
    });
    this.sub = this.tls.onChange(({ trustChanged }) => {
      const next = this.tls?.serverOptions();
      if (next) server.setSecureContext(next);
      // A ticket from before a trust change would resume without the new chain check.
      if (trustChanged) server.setTicketKeys(newTicketKeys());
    });
    this.tlsServer = server;
    return server;
  }
}
