/**
 * Which listener a caller means when it writes a host: Kubernetes DNS semantics over the LDS
 * listener names. A listener `reviews.default.svc.cluster.local:9080` is also reachable as
 * `reviews.default`, `reviews.default.svc` and — from namespace `default` only — `reviews`.
 * ServiceEntry hosts are literal, `*.example.com` listeners cover their subdomains.
 */

/** One port-level entry. */
export interface HostTarget<L> {
  readonly listener: L;
  /** The listener's own host (its name without the port): what virtual-host domains list. */
  readonly canonicalHost: string;
  /** The port the listener serves (0 for a port-less listener name). */
  readonly port: number;
}

interface HostEntry<L> {
  readonly ports: Map<number, HostTarget<L>>;
  portless?: HostTarget<L>;
}

/** Splits `host:port`; a name without a numeric port suffix is port-less. */
export function parseListenerName(name: string): { host: string; port: number | undefined } {
  const colon = name.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(name.slice(colon + 1)) && !name.slice(0, colon).includes(':')) {
    return { host: name.slice(0, colon).toLowerCase(), port: Number(name.slice(colon + 1)) };
  }
  return { host: name.toLowerCase(), port: undefined };
}

/** The host → listener index of one snapshot. */
export class HostIndex<L> {
  private readonly hosts = new Map<string, HostEntry<L>>();
  private readonly wildcards: Array<{ suffix: string; entry: HostEntry<L> }> = [];

  /**
   * @param listeners listener name → compiled listener.
   * @param namespace the engine's namespace: bare names resolve there.
   */
  constructor(listeners: ReadonlyMap<string, L>, namespace: string, domainSuffix: string) {
    const tail = `.svc.${domainSuffix}`;
    const literal: Array<[string, number | undefined, HostTarget<L>]> = [];
    for (const [name, listener] of listeners) {
      const { host, port } = parseListenerName(name);
      literal.push([host, port, { listener, canonicalHost: host, port: port ?? 0 }]);
    }
    // Precedence: FQDN/ServiceEntry names as given, then the aliases we derive (so `reviews`
    // means our namespace's service, as in Kubernetes DNS), then short names the control plane
    // sent as listeners of their own.
    for (const [host, port, target] of literal) if (host.includes('.')) this.add(host, port, target);
    for (const [host, port, target] of literal) {
      if (port === undefined || !host.endsWith(tail)) continue;
      const labels = host.slice(0, -tail.length).split('.');
      if (labels.length !== 2) continue;
      const [svc, ns] = labels as [string, string];
      this.add(`${svc}.${ns}`, port, target);
      this.add(`${svc}.${ns}.svc`, port, target);
      if (ns === namespace) this.add(svc, port, target);
    }
    for (const [host, port, target] of literal) if (!host.includes('.')) this.add(host, port, target);
    for (const [host, entry] of this.hosts) if (host.startsWith('*.')) this.wildcards.push({ suffix: host.slice(1), entry });
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  /** First writer wins: the constructor adds in precedence order. */
  private add(host: string, port: number | undefined, target: HostTarget<L>): void {
    let entry = this.hosts.get(host);
    if (!entry) this.hosts.set(host, (entry = { ports: new Map() }));
    if (port === undefined) entry.portless ??= target;
    else if (!entry.ports.has(port)) entry.ports.set(port, target);
  }

  /**
   * Resolves a host and port as the caller wrote them. Port 80/443 may be the scheme default:
   * then the host's listener on that port wins, else its only port.
   */
  resolve(host: string, port: number): HostTarget<L> | undefined {
    // The exact spelling first: callers pass lower-case hosts (the dispatcher caches them), and
    // toLowerCase() builds a new string whose hash the Map then computes again.
    let entry = this.hosts.get(host);
    const h = entry ? host : host.toLowerCase();
    if (!entry && h !== host) entry = this.hosts.get(h);
    if (!entry) {
      for (const w of this.wildcards) {
        if (h.length > w.suffix.length && h.endsWith(w.suffix)) {
          entry = w.entry;
          break;
        }
      }
      if (!entry) return undefined;
    }
    const exact = entry.ports.get(port);
    if (exact) return exact;
    if (port === 80 || port === 443) {
      if (entry.ports.size === 1) return entry.ports.values().next().value;
      return entry.portless;
    }
    return undefined;
  }
}
