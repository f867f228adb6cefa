/**
 * Filter chain choice for a TCP proxy listener, compiled once per listener update, as Envoy's
 * `FilterChainManagerImpl::findFilterChain` does it for the criteria a gateway uses: server name
 * first (an exact name, else the longest `*.suffix` wildcard covering it — `*.example.com`
 * covers `a.example.com` and `a.b.example.com`, never `example.com` — else the chains without
 * server names), then the transport protocol (`tls`/`raw_buffer`, else the chains without one),
 * then application protocols (ALPN, likewise). No chain: the connection is closed.
 */
import type { TcpChainModel, TcpClusterWeight, TcpListenerModel } from '../core/model/index.js';

/** A chain ready to use: its clusters with cumulative weights for one draw per connection. */
export interface CompiledTcpChain {
  readonly model: TcpChainModel;
  readonly clusters: readonly string[];
  readonly cum: Float64Array;
  readonly total: number;
}

type Level<T> = { byValue: Map<string, T>; any: T | undefined };

function compileChain(model: TcpChainModel): CompiledTcpChain {
  const cum = new Float64Array(model.proxy.clusters.length);
  let total = 0;
  model.proxy.clusters.forEach((c: TcpClusterWeight, i) => (cum[i] = total += c.weight));
  return { model, clusters: model.proxy.clusters.map((c) => c.name), cum, total };
}

/** Picks the chain's cluster for one connection (weighted, `random` in [0, 1)). */
export function pickCluster(chain: CompiledTcpChain, random: () => number): string {
  if (chain.clusters.length === 1) return chain.clusters[0]!;
  const x = random() * chain.total;
  for (let i = 0; i < chain.cum.length; i++) if (x < chain.cum[i]!) return chain.clusters[i]!;
  return chain.clusters[chain.clusters.length - 1]!;
}

/** Chains grouped by transport protocol, then by ALPN. */
type ProtocolLevel = Level<Level<CompiledTcpChain>>;

function addProtocol(level: ProtocolLevel, chain: CompiledTcpChain): void {
  const tp = chain.model.transportProtocol;
  let alpn = tp === '' ? level.any : level.byValue.get(tp);
  if (!alpn) {
    alpn = { byValue: new Map(), any: undefined };
    if (tp === '') level.any = alpn;
    else level.byValue.set(tp, alpn);
  }
  if (chain.model.applicationProtocols.length === 0) alpn.any ??= chain;
  for (const p of chain.model.applicationProtocols) if (!alpn.byValue.has(p)) alpn.byValue.set(p, chain);
}

function newLevel(): ProtocolLevel {
  return { byValue: new Map(), any: undefined };
}

/**
 * The compiled chains of one TCP listener.
 *
 * @example
 * ```ts
 * const router = new TcpChainRouter(listener.tcp);
 * router.select('api.example.com', 'tls', ['h2']); // the chain for that SNI, or undefined
 * ```
 */
export class TcpChainRouter {
  private readonly exact = new Map<string, ProtocolLevel>();
  /** `.example.com` → chains, looked up from the longest suffix of the name. */
  private readonly wildcard = new Map<string, ProtocolLevel>();
  private readonly unnamed: ProtocolLevel = newLevel();
  readonly inspectTls: boolean;

  constructor(readonly listener: TcpListenerModel) {
    this.inspectTls = listener.inspectTls;
    for (const m of listener.chains) {
      const chain = compileChain(m);
      if (m.serverNames.length === 0) addProtocol(this.unnamed, chain);
      for (const n of m.serverNames) {
        const map = n.startsWith('*.') ? this.wildcard : this.exact;
        const key = n.startsWith('*.') ? n.slice(1) : n;
        let level = map.get(key);
        if (!level) map.set(key, (level = newLevel()));
        addProtocol(level, chain);
      }
    }
  }

  /** The chain for a connection; `serverName` lower case (undefined: no SNI or not TLS). */
  select(serverName: string | undefined, transport: 'tls' | 'raw_buffer', alpn: readonly string[]): CompiledTcpChain | undefined {
    let level: ProtocolLevel | undefined;
    if (serverName !== undefined) {
      level = this.exact.get(serverName);
      // Envoy tries `.b.example.com`, then `.example.com`, then `.com` for `a.b.example.com`.
      for (let dot = serverName.indexOf('.', 1); level === undefined && dot >= 0 && dot < serverName.length - 1; dot = serverName.indexOf('.', dot + 1)) {
        level = this.wildcard.get(serverName.slice(dot));
      }
    }
    level ??= this.unnamed;
    const byAlpn = level.byValue.get(transport) ?? level.any;
    if (!byAlpn) return undefined;
    for (const p of alpn) {
      const c = byAlpn.byValue.get(p);
      if (c) return c;
    }
    return byAlpn.any;
  }
}
