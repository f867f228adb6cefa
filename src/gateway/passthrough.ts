/**
 * The gateway's TCP proxy ports: TLS PASSTHROUGH servers routed by SNI and plain TCP servers
 * (LDS socket listeners with tcp_proxy chains, control/translate/gateway-tcp.ts). Per
 * connection, as Envoy's listener + tcp_proxy do it:
 *
 * 1. With a tls_inspector on the listener, read the ClientHello (sni.ts) without terminating
 *    TLS, for at most `clientHelloTimeoutMs` (Envoy's `listener_filters_timeout`, 15 s) and
 *    `maxClientHelloBytes` (64 KiB): a slow client is closed, bytes that are not TLS are matched
 *    as `raw_buffer` (so, with only SNI chains, closed).
 * 2. Choose the filter chain (tcp-routes.ts); none: close the connection (Envoy resets it).
 * 3. Pick the cluster (weighted), admit the connection and pick the endpoint with the engine's
 *    cluster machinery (core/tcp-plan.ts: subsets, outlier ejection, circuit breaker); connect
 *    within the cluster's connect_timeout; a failure is `UF`, no host `UH`, overflow `UO`.
 * 4. Replay what was read, then pipe both ways with backpressure (stream pipes), half-close
 *    (allowHalfOpen: a FIN is forwarded, the other direction keeps flowing), the chain's
 *    idle_timeout (Envoy's default 1 h) and max_downstream_connection_duration.
 *
 * Istio's TCP metrics (telemetry/tcp-metrics.ts) count each connection routed to a cluster:
 * opened, closed, bytes received from and sent to the client (reported every 15 s while open
 * and at close). A connection that matched no chain has no filter chain, hence no metrics (as in
 * Envoy).
 */
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Engine } from '../core/types.js';
import type { TcpConnection } from '../core/tcp-plan.js';
import { trace } from '../internal/debug.js';
import { TCP_REPORTING_MS, type TcpMetrics, type TcpSeriesHandle } from '../telemetry/tcp-metrics.js';
import { MAX_CLIENT_HELLO, parseClientHello } from './sni.js';
import type { TcpPort } from './tcp-ports.js';
import { pickCluster, type CompiledTcpChain, type TcpChainRouter } from './tcp-routes.js';

const log = trace('gateway');

/** Limits of the gateway's TCP proxy ports. */
export interface TcpGatewayLimits {
  /** How long a client on a TLS port has to send its ClientHello (Envoy `listener_filters_timeout`). Default 15000. */
  clientHelloTimeoutMs?: number;
  /** Largest ClientHello read (Envoy `max_client_hello_size`). Default and maximum 65536. */
  maxClientHelloBytes?: number;
  /** Connections open at once per port. Default 10000. */
  maxConnections?: number;
}

export const DEFAULT_TCP_LIMITS: Required<TcpGatewayLimits> = {
  clientHelloTimeoutMs: 15_000,
  maxClientHelloBytes: MAX_CLIENT_HELLO,
  maxConnections: 10_000,
};

/** Envoy tcp_proxy's idle_timeout when the config sets none. */
const DEFAULT_IDLE_MS = 60 * 60 * 1000;

/** What a port needs from the gateway. */
export interface PortEnv {
  engine: Engine;
  metrics: TcpMetrics | undefined;
  limits: Required<TcpGatewayLimits>;
  random: () => number;
}

/** One proxied connection. */
class Proxied {
  upstream: Socket | undefined;
  conn: TcpConnection | undefined;
  series: TcpSeriesHandle | undefined;
  reportedIn = 0;
  reportedOut = 0;
  lifetime: NodeJS.Timeout | undefined;
  /** Bytes flow both ways: the sockets' close handlers end each other. */
  piped = false;
  constructor(readonly down: Socket) {}

  /** Adds the bytes since the last report to the series. */
  report(): void {
    const s = this.series;
    if (!s) return;
    const inBytes = this.down.bytesRead;
    const outBytes = this.down.bytesWritten;
    if (inBytes === this.reportedIn && outBytes === this.reportedOut) return;
    s.bytes(outBytes - this.reportedOut, inBytes - this.reportedIn);
    this.reportedIn = inBytes;
    this.reportedOut = outBytes;
  }
}

/** One bound TCP proxy port. */
export class TcpPortServer {
  private router: TcpChainRouter;
  private readonly server: Server;
  private readonly live = new Set<Proxied>();
  private reporter: NodeJS.Timeout | undefined;

  private constructor(port: TcpPort, private readonly env: PortEnv) {
    this.router = port.router;
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (s) => this.accept(s));
    this.server.maxConnections = env.limits.maxConnections;
  }

  /** Binds `port` (0: a free one) on `host`; rejects when it cannot. */
  static async start(port: TcpPort, env: PortEnv, host: string, local: number): Promise<TcpPortServer> {
    const s = new TcpPortServer(port, env);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(local, host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    s.server.on('error', (err) => log('tcp server error on port %d: %o', port.router.listener.port, err));
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** New chains for the same listener: new connections use them, open ones keep theirs. */
  update(port: TcpPort): void {
    this.router = port.router;
  }

  private accept(down: Socket): void {
    const p = new Proxied(down);
    this.live.add(p);
    down.setNoDelay(true);
    down.on('error', (err) => log('downstream %s: %s', down.remoteAddress, err.message));
    down.once('close', () => this.finish(p));
    const router = this.router;
    if (!router.inspectTls) {
      this.route(p, router, undefined, 'raw_buffer', [], undefined);
      return;
    }
    const limits = this.env.limits;
    let buffered: Buffer | undefined;
    const timer = setTimeout(() => {
      log('no ClientHello from %s within %d ms: closing', down.remoteAddress, limits.clientHelloTimeoutMs);
      down.destroy();
    }, limits.clientHelloTimeoutMs);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
      const r = parseClientHello(buffered, limits.maxClientHelloBytes);
      if (r.kind === 'more') return;
      down.off('data', onData);
      down.off('end', onEnd);
      down.pause();
      clearTimeout(timer);
      if (r.kind === 'too-large') {
        log('ClientHello from %s larger than %d bytes: closing', down.remoteAddress, limits.maxClientHelloBytes);
        down.destroy();
      } else if (r.kind === 'hello') this.route(p, router, r.serverName, 'tls', r.alpn, buffered);
      else this.route(p, router, undefined, 'raw_buffer', [], buffered);
    };
    // A client that half-closes before a whole ClientHello will never send one.
    const onEnd = (): void => {
      clearTimeout(timer);
      down.destroy();
    };
    down.on('data', onData);
    down.once('end', onEnd);
    down.once('close', () => clearTimeout(timer));
  }

  private route(p: Proxied, router: TcpChainRouter, sni: string | undefined, transport: 'tls' | 'raw_buffer', alpn: readonly string[], head: Buffer | undefined): void {
    const down = p.down;
    if (down.destroyed) return;
    const chain = router.select(sni, transport, alpn);
    if (!chain) {
      log('no filter chain for %s (sni %s, %s): closing', down.remoteAddress, sni ?? '-', transport);
      down.resetAndDestroy();
      return;
    }
    down.pause();
    const cluster = pickCluster(chain, this.env.random);
    const source = chain.model.proxy.hashSourceIp ? down.remoteAddress : undefined;
    const c = this.env.engine.connect?.(cluster, source) ?? { ok: false as const, cluster, flag: 'UH' as const };
    if (!c.ok) {
      log('%s for cluster %s: closing %s', c.flag, cluster, down.remoteAddress);
      this.countFailure(p, undefined, cluster, c.flag);
      down.destroy();
      return;
    }
    p.conn = c;
    const ep = c.endpoint;
    const up = netConnect({ host: ep.address, port: ep.port, allowHalfOpen: true, noDelay: true });
    p.upstream = up;
    up.setTimeout(c.connectTimeoutMs);
    const onTimeout = (): void => {
      up.destroy(new Error(`connect timeout after ${c.connectTimeoutMs} ms`));
    };
    up.once('timeout', onTimeout);
    let connected = false;
    up.on('error', (err) => {
      if (!connected) {
        log('connect to %s:%d (%s) failed: %s', ep.address, ep.port, cluster, err.message);
        c.failed();
        this.countFailure(p, ep, cluster, 'UF');
        down.destroy();
      } else {
        log('upstream %s:%d: %s', ep.address, ep.port, err.message);
        down.destroy();
      }
    });
    up.once('connect', () => {
      connected = true;
      up.off('timeout', onTimeout);
      up.setTimeout(0);
      c.connected();
      if (down.destroyed) {
        up.destroy();
        return;
      }
      if (this.env.metrics) {
        p.series = this.env.metrics.series(ep, cluster, '-');
        p.series.opened();
      }
      p.piped = true;
      this.pipe(p, up, chain, head);
    });
  }

  private pipe(p: Proxied, up: Socket, chain: CompiledTcpChain, head: Buffer | undefined): void {
    const down = p.down;
    const { idleTimeoutMs, maxConnectionDurationMs } = chain.model.proxy;
    const idle = idleTimeoutMs ?? DEFAULT_IDLE_MS;
    // One timer covers both directions: bytes either way are a read or a write on `down`.
    if (idle > 0) {
      down.setTimeout(idle);
      down.once('timeout', () => {
        log('idle for %d ms: closing %s', idle, down.remoteAddress);
        down.destroy();
        up.destroy();
      });
    }
    if (maxConnectionDurationMs !== undefined) {
      p.lifetime = setTimeout(() => {
        down.destroy();
        up.destroy();
      }, maxConnectionDurationMs);
      p.lifetime.unref();
    }
    if (head !== undefined && head.length > 0) up.write(head);
    down.pipe(up);
    up.pipe(down);
    // A clean close (both directions ended) lets the other side flush; a reset tears it down.
    up.once('close', (hadError) => (hadError ? down.destroy() : down.destroySoon()));
    down.once('close', (hadError) => (hadError ? up.destroy() : up.destroySoon()));
    down.resume();
    this.reporter ??= this.startReporter();
  }

  private startReporter(): NodeJS.Timeout {
    const t = setInterval(() => {
      for (const p of this.live) p.report();
    }, TCP_REPORTING_MS);
    t.unref();
    return t;
  }

  private countFailure(p: Proxied, ep: TcpConnection['endpoint'] | undefined, cluster: string, flag: string): void {
    if (!this.env.metrics) return;
    p.series = this.env.metrics.series(ep, cluster, flag);
    p.series.opened();
  }

  private finish(p: Proxied): void {
    if (!this.live.delete(p)) return;
    if (p.lifetime) clearTimeout(p.lifetime);
    if (!p.piped) p.upstream?.destroy();
    p.conn?.closed();
    if (p.series) {
      p.report();
      p.series.closed();
    }
  }

  /** Stops accepting; open connections get `drainMs` to finish, then are closed. */
  async close(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const p of this.live) {
        p.down.destroy();
        p.upstream?.destroy();
      }
    }, drainMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
    if (this.reporter) clearInterval(this.reporter);
  }
}
