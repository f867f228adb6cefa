/**
 * One bound server port of the gateway: node:http (plain text) or node:https (terminated TLS,
 * the context chosen by SNI), hardened as a public edge, and updated in place when its routes
 * change (the socket stays bound; new connections see the new certificates and routes). Each
 * connection is handed on by protocol (h2.ts): node:http's own connection listener is taken
 * over (`takeConnections`) and a connection goes to it (HTTP/1.1) or to the port's HTTP/2 side,
 * by the preface on a plain port and by ALPN on a TLS one; another kind of connection handling
 * can sit beside these two the same way.
 *
 * Limits follow Envoy's edge defaults where Node has the knob: 60 KiB of request headers
 * (`max_request_headers_kb`), 100 headers (`max_headers_count`); a client must finish its
 * headers within `headersTimeoutMs` and its whole request within `requestTimeoutMs` (slowloris),
 * idle keep-alive connections close after `keepAliveTimeoutMs`; at most `maxConnections` at
 * once. Node's parser (llhttp, strict unless `insecureHTTPParser`) answers 400 to a request with
 * both Content-Length and Transfer-Encoding, repeated differing Content-Lengths, or a
 * Transfer-Encoding that does not end in chunked (RFC 9112 §6.3), and 431 to oversized headers.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { trace } from '../internal/debug.js';
import { routeForName, type GatewayPort, type GatewayRoute } from './config.js';
import { forward, localReply, sniOf } from './forward.js';
import { H2Side, sniffPreface } from './h2.js';
import { handshakeProblem, loadPortTls, portRange, type RouteTls } from './tls.js';
import type { MeshTls } from '../security/tls/mesh-tls.js';

const log = trace('gateway');

/** Edge limits of every server port (see the module comment for the defaults). */
export interface GatewayLimits {
  maxHeaderBytes?: number;
  maxHeadersCount?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
  maxRequestsPerSocket?: number;
  /** HTTP/2: streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams?: number;
}

export const DEFAULT_LIMITS: Required<GatewayLimits> = {
  maxHeaderBytes: 60 * 1024,
  maxHeadersCount: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxRequestsPerSocket: 0,
  maxConcurrentStreams: 100,
};

interface Live {
  config: GatewayPort;
  tls: Map<GatewayRoute, RouteTls>;
  /** SNI name → route, cached per config (bounded). */
  sni: Map<string, GatewayRoute | undefined>;
}

export class PortServer {
  private live: Live;
  private readonly server: Server;
  readonly secure: boolean;
  private readonly sockets = new Set<Socket>();
  /** HTTP/2 connections of this port (h2c by preface, or ALPN h2). */
  private readonly h2: H2Side;

  private constructor(config: GatewayPort, tls: Map<GatewayRoute, RouteTls>, private readonly dispatcher: Dispatcher, limits: Required<GatewayLimits>, private readonly meshTls?: MeshTls) {
    this.live = { config, tls, sni: new Map() };
    this.secure = config.protocol === 'HTTPS';
    const handler = (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse): void => {
      // node:http2's compatibility objects have the shape forward() reads and writes.
      const req = request as IncomingMessage;
      const res = response as ServerResponse;
      // Node drops headers past maxHeadersCount silently; Envoy refuses the request (431).
      const h2 = req.httpVersionMajor === 2;
      if ((h2 ? headerCount(req.rawHeaders) : req.rawHeaders.length / 2) > limits.maxHeadersCount || (h2 && tooLarge(req.rawHeaders, limits.maxHeaderBytes))) {
        res.shouldKeepAlive = false;
        return localReply(res, 431, 'Request Header Fields Too Large');
      }
      try {
        forward(this.dispatcher, { scheme: this.secure ? 'https' : 'http', route: (r) => this.routeOf(r) }, req, res);
      } catch (err) {
        log('request failed: %o', err);
        localReply(res, 500, 'Internal Server Error');
      }
    };
    const common = {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      insecureHTTPParser: false,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
      // Node enforces headersTimeout/requestTimeout on this tick (default 30 s, too coarse for an edge).
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
    };
    if (this.secure) {
      const range = portRange([...tls.values()]);
      const first = this.defaultTls();
      const self = this;
      this.server = createHttpsServer({
        ...common,
        ...first?.options,
        ...range,
        ALPNProtocols: ['h2', 'http/1.1'],
        // A connection without SNI gets the default route's; one with SNI its route's (below).
        requestCert: first?.requestClientCert ?? false,
        rejectUnauthorized: false, // checked per route after the handshake (SIMPLE routes share the port)
        // node calls this as a method of the TLSSocket being handshaken: it is `this` here.
        SNICallback(this: unknown, name: string, cb: (err: Error | null, ctx?: SecureContext) => void) {
          const t = self.tlsFor(name);
          if (t) requestCertificate(this, t.requestClientCert);
          cb(null, t?.context);
        },
      }, handler);
      const h1 = this.takeConnections('secureConnection');
      this.server.on('secureConnection', (socket: TLSSocket) => {
        const t = this.tlsFor(socket.servername || undefined);
        const why = t ? handshakeProblem(socket, t) : 'no server certificate for this name';
        if (why) {
          log('closing TLS connection from %s: %s', socket.remoteAddress, why);
          socket.destroy();
          return;
        }
        if (socket.alpnProtocol === 'h2') this.h2.accept(socket);
        else h1(socket);
      });
      this.server.on('tlsClientError', (err, socket) => {
        log('TLS handshake failed: %s', err.message);
        socket.destroy();
      });
    } else {
      this.server = createHttpServer(common, handler);
      const h1 = this.takeConnections('connection');
      this.server.on('connection', (socket: Socket) => sniffPreface(socket, limits.headersTimeoutMs, (isH2) => {
        if (isH2) return this.h2.accept(socket);
        // The sniffed bytes are back on the (paused) socket: node:http replays them once the
        // socket flows again. (An http2 session reads the buffer itself: never resumed for it.)
        h1(socket);
        socket.resume();
      }));
    }
    this.h2 = new H2Side(limits, handler);
    this.server.maxHeadersCount = limits.maxHeadersCount + 1;
    this.server.maxConnections = limits.maxConnections;
    this.server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /**
   * Takes over node:http's own connection listener for `event` (it is what parses HTTP/1.1), so
   * a connection can go to the HTTP/2 side instead; returns it, bound to the server.
   */
  private takeConnections(event: 'connection' | 'secureConnection'): (socket: Socket) => void {
    const [own] = this.server.listeners(event) as Array<(this: Server, socket: Socket) => void>;
    if (!own) throw new Error(`node:http registered no ${event} listener`);
    this.server.off(event, own);
    return (socket) => own.call(this.server, socket);
  }

  /**
   * Binds a port's server (`port` 0: a free one); rejects when the port cannot be bound or an
   * HTTPS port has no usable certificate.
   */
  static async start(config: GatewayPort, dispatcher: Dispatcher, opts: { host: string; port: number; credentials?: string | undefined; limits: Required<GatewayLimits>; meshTls?: MeshTls | undefined }, problems: string[]): Promise<PortServer> {
    const tls = config.protocol === 'HTTPS' ? await loadPortTls(config.routes, opts.credentials, problems, opts.meshTls) : new Map<GatewayRoute, RouteTls>();
    if (config.protocol === 'HTTPS' && tls.size === 0) throw new Error(`port ${config.port}: no HTTPS server has a usable certificate`);
    const s = new PortServer(config, tls, dispatcher, opts.limits, opts.meshTls);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, config.bind ?? opts.host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    s.server.on('error', (err) => log('server error on port %d: %o', config.port, err));
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get protocol(): 'HTTP' | 'HTTPS' {
    return this.live.config.protocol;
  }

  /** New routes (and certificates) for the same port and protocol; keeps the old TLS when none loads. */
  async update(config: GatewayPort, credentials: string | undefined, problems: string[]): Promise<void> {
    const tls = config.protocol === 'HTTPS' ? await loadPortTls(config.routes, credentials, problems, this.meshTls) : new Map<GatewayRoute, RouteTls>();
    if (config.protocol === 'HTTPS' && tls.size === 0) {
      problems.push(`port ${config.port}: no HTTPS server has a usable certificate; keeping the previous ones`);
      return;
    }
    this.live = { config, tls, sni: new Map() };
    const first = this.defaultTls();
    if (this.secure && first) {
      (this.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ ...first.options, ...portRange([...tls.values()]) });
      // node:tls reads requestCert per new connection: a route that became MUTUAL (or stopped being) takes effect now.
      (this.server as unknown as { requestCert: boolean }).requestCert = first.requestClientCert;
    }
  }

  private routeOf(req: IncomingMessage): GatewayRoute | undefined {
    const routes = this.live.config.routes;
    if (!this.secure) return routes[0];
    return this.routeForSni(sniOf(req));
  }

  private routeForSni(name: string | undefined): GatewayRoute | undefined {
    const routes = this.live.config.routes.filter((r) => this.live.tls.has(r));
    if (name === undefined) return routeForName(routes, undefined);
    const cache = this.live.sni;
    if (cache.has(name)) return cache.get(name);
    const r = routeForName(routes, name) ?? routeForName(routes, undefined);
    if (cache.size < 4096) cache.set(name, r);
    return r;
  }

  private tlsFor(name: string | undefined): RouteTls | undefined {
    const r = this.routeForSni(name?.toLowerCase());
    return r ? this.live.tls.get(r) : undefined;
  }

  private defaultTls(): RouteTls | undefined {
    return this.tlsFor(undefined);
  }

  private contextFor(name: string): SecureContext | undefined {
    return this.tlsFor(name)?.context;
  }

  /** Stops accepting, lets requests in flight finish for up to `drainMs`, then closes every connection. */
  async close(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const h2 = this.h2.close(drainMs);
    this.server.closeIdleConnections();
    // Busy keep-alive connections close after their current response.
    for (const s of this.sockets) {
      const res = (s as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      if (res && !res.headersSent) res.setHeader('connection', 'close');
    }
    const timer = setTimeout(() => {
      this.server.closeAllConnections();
      // Connections node:http does not track (HTTP/2 ones, and those still being sniffed).
      for (const s of this.sockets) s.destroy();
    }, drainMs);
    timer.unref();
    await Promise.all([closed, h2]);
    clearTimeout(timer);
  }
}

/**
 * Sets whether the server asks this connection for a client certificate. Called from the SNI
 * callback, before the server's first flight (OpenSSL lets the verify mode change until the
 * CertificateRequest is sent); node keeps the verify mode on the TLSSocket's native handle.
 */
function requestCertificate(socket: unknown, request: boolean): void {
  const handle = (socket as { _handle?: { setVerifyMode?: (request: boolean, reject: boolean) => void } } | undefined)?._handle;
  try {
    handle?.setVerifyMode?.(request, false);
  } catch (err) {
    log('could not set the client certificate request: %o', err);
  }
}

/** Headers of an HTTP/2 request, its pseudo-headers not counted (they are the request line). */
function headerCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).charCodeAt(0) !== 58) n++;
  return n;
}

/** Whether a header list (HTTP/2: names and values as received) is larger than `max` bytes. */
function tooLarge(raw: readonly string[], max: number): boolean {
  let n = 0;
  for (const s of raw) if ((n += s.length) > max) return true;
  return false;
}
