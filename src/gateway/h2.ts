/**
 * HTTP/2 on a gateway port, beside HTTP/1.1 (Envoy's HttpConnectionManager with `codec_type:
 * AUTO`, which Istio's gateway uses for every HTTP and HTTPS server): on a plain port the first
 * bytes decide (the HTTP/2 connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` means h2c
 * with prior knowledge, anything else is HTTP/1.1); on a TLS port ALPN decides (the server
 * offers `h2,http/1.1`, Istio's `util.ALPNHttp`). The HTTP/1.1 side stays node:http(s); HTTP/2
 * connections are handed to one node:http2 server that never listens itself.
 *
 * Limits (the HTTP/1.1 ones where they carry over, Envoy's edge best practices for the rest):
 * `maxConcurrentStreams` (100), the request header list bounded by `maxHeaderBytes` and
 * `maxHeadersCount` (431 past them, as on HTTP/1.1), a session without frames for
 * `keepAliveTimeoutMs` is closed with GOAWAY, a stream without frames for `requestTimeoutMs` is
 * reset (Envoy's stream_idle_timeout), and a plain connection must finish its first bytes
 * within `headersTimeoutMs`. Closing sends GOAWAY to every session, lets open streams finish,
 * and destroys what is left after the drain time.
 */
import { constants, createServer as createH2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { trace } from '../internal/debug.js';

const log = trace('gateway');

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** The limits this side applies (a subset of GatewayLimits). */
export interface H2Limits {
  maxHeaderBytes: number;
  maxHeadersCount: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConcurrentStreams: number;
}

/**
 * Reads a plain connection's first bytes until they either are the HTTP/2 preface or cannot be,
 * puts them back, and says which. A connection that sends nothing decisive within `timeoutMs`
 * (or closes) is destroyed and `decide` is never called.
 *
 * @example
 * ```ts
 * sniffPreface(socket, 10_000, (h2) => (h2 ? http2Side.accept(socket) : h1(socket)));
 * ```
 */
export function sniffPreface(socket: Socket, timeoutMs: number, decide: (h2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => {
    cleanup();
    socket.destroy();
  }, timeoutMs);
  timer.unref();
  const cleanup = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onClose);
  };
  const onClose = (): void => cleanup();
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const matches = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (matches && seen.length < PREFACE.length) return; // could still be the preface
    cleanup();
    socket.pause();
    socket.unshift(seen);
    decide(matches);
  };
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.once('error', onClose);
}

/** The HTTP/2 side of one port. */
export class H2Side {
  private readonly server: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  /** Open streams per session. */
  private readonly open = new WeakMap<Http2Session, number>();
  private closing = false;

  constructor(limits: H2Limits, handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void) {
    this.server = createH2Server({
      // Pseudo-headers (:method, :path, :scheme, :authority, :protocol) count against node's
      // pair limit: one over maxHeadersCount still reaches the handler (431, as on HTTP/1.1);
      // further over, node resets the stream (what Envoy does on HTTP/2 past max_headers_count).
      maxHeaderListPairs: limits.maxHeadersCount + 6,
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
        enablePush: false,
      },
    }, handler);
    this.server.on('session', (session: Http2Session) => {
      if (this.closing) {
        session.goaway(constants.NGHTTP2_NO_ERROR);
        session.close();
      }
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', (err) => log('h2 session error: %s', err.message));
      // No frames for keepAliveTimeoutMs: an idle (or stalled) connection is closed.
      // (Open streams have their own idle timeout; only a session without streams is closed here.)
      session.setTimeout(limits.keepAliveTimeoutMs, () => {
        if ((this.open.get(session) ?? 0) > 0) return;
        session.goaway(constants.NGHTTP2_NO_ERROR);
        session.close();
      });
    });
    this.server.on('stream', (stream: ServerHttp2Stream) => {
      const session = stream.session;
      if (session) {
        this.open.set(session, (this.open.get(session) ?? 0) + 1);
        stream.once('close', () => this.open.set(session, (this.open.get(session) ?? 1) - 1));
      }
      stream.on('error', (err) => log('h2 stream error: %s', err.message));
      stream.setTimeout(limits.requestTimeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
    });
    this.server.on('sessionError', (err) => log('h2 session error: %s', err.message));
  }

  /** Serves HTTP/2 on a connection (plain after {@link sniffPreface}, or TLS that chose ALPN h2). */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  /** Open sessions (diagnostics and tests). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** GOAWAY to every session; streams in flight finish; whatever is left after `drainMs` is destroyed. */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    const open = [...this.sessions];
    if (open.length === 0) return;
    const closed = Promise.all(open.map((s) => new Promise<void>((resolve) => {
      if (s.closed || s.destroyed) return resolve();
      s.once('close', () => resolve());
      s.goaway(constants.NGHTTP2_NO_ERROR);
      s.close();
    })));
    const timer = setTimeout(() => {
      for (const s of open) s.destroy();
    }, drainMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }
}
