/**
 * While an xDS client runs on a fallback server, this checks whether the primary accepts
 * connections again (a TCP connect, nothing sent: opening an ADS stream would announce the node
 * to it), at a growing interval, and calls back once. gRFC A71 (A71-xds-fallback.md): the client
 * keeps trying the higher-priority server and switches back once it is reachable.
 */
import { connect, type Socket } from 'node:net';
import { plainHostPort } from './ads-call.js';

/** `host:port`, `dns:///host:port`, `ipv4:host:port` or `unix:/path` → what net.connect takes; undefined for targets it cannot dial. */
function dialable(server: string): { host: string; port: number } | { path: string } | undefined {
  if (server.startsWith('unix:') && !server.startsWith('unix-abstract:')) return { path: server.slice(5).replace(/^\/\/(?=\/)/, '') };
  return plainHostPort(server.replace(/^(dns:\/\/\/|ipv4:|ipv6:)/, ''));
}

/**
 * @example
 * ```ts
 * const probe = new PrimaryProbe('cp-a:15010', () => switchBack(), { initialMs: 1000, maxMs: 30_000 });
 * probe.stop(); // when the fallback stream ends first
 * ```
 */
export class PrimaryProbe {
  private timer: NodeJS.Timeout | undefined;
  private socket: Socket | undefined;
  private stopped = false;
  private intervalMs: number;
  private readonly maxMs: number;
  private readonly to: ReturnType<typeof dialable>;

  constructor(server: string, private readonly onUp: () => void, options: { initialMs?: number; maxMs?: number } = {}) {
    this.to = dialable(server);
    this.intervalMs = Math.max(10, options.initialMs ?? 1000);
    this.maxMs = Math.max(this.intervalMs, Math.min(options.maxMs ?? 30_000, 30_000));
    if (this.to) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.destroy();
  }

  private schedule(): void {
    const jittered = Math.round(this.intervalMs * (0.8 + 0.4 * Math.random()));
    this.intervalMs = Math.min(this.intervalMs * 2, this.maxMs);
    this.timer = setTimeout(() => this.attempt(), jittered);
    this.timer.unref();
  }

  private attempt(): void {
    if (this.stopped || !this.to) return;
    const socket = connect(this.to);
    this.socket = socket;
    socket.unref();
    socket.setTimeout(5000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      if (this.stopped) return;
      this.stopped = true;
      this.onUp();
    });
    socket.once('error', () => {});
    socket.once('close', () => {
      if (!this.stopped) this.schedule();
    });
  }
}
