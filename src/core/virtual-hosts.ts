/**
 * Virtual host selection by authority, with Envoy's precedence: exact domain, then the longest
 * suffix wildcard (`*.example.com`, `*-bar.foo.com`), then the longest prefix wildcard
 * (`foo.*`), then `*`. Domains are matched case-insensitively; a domain may carry a port.
 */

/** A domain index over a route configuration's virtual hosts, built once per snapshot. */
export class DomainIndex<V> {
  private readonly exact = new Map<string, V>();
  private readonly suffixes: Array<{ suffix: string; value: V }> = [];
  private readonly prefixes: Array<{ prefix: string; value: V }> = [];
  private universal: V | undefined;

  constructor(entries: ReadonlyArray<{ domains: readonly string[]; value: V }>) {
    for (const { domains, value } of entries) {
      for (const raw of domains) {
        const d = raw.toLowerCase();
        if (d === '*') this.universal ??= value;
        else if (d.startsWith('*')) this.suffixes.push({ suffix: d.slice(1), value });
        else if (d.endsWith('*')) this.prefixes.push({ prefix: d.slice(0, -1), value });
        else if (!this.exact.has(d)) this.exact.set(d, value);
      }
    }
    // Stable sorts: the first virtual host wins among equally long wildcards.
    this.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * The best virtual host for any of the candidate authorities (most preferred first): an exact
   * match on any candidate beats a wildcard match on the first one.
   */
  find(candidates: readonly string[]): V | undefined {
    for (const c of candidates) {
      const v = this.exact.get(c);
      if (v !== undefined) return v;
    }
    for (const c of candidates) {
      // Envoy requires the wildcard to cover at least one character.
      for (const s of this.suffixes) if (c.length > s.suffix.length && c.endsWith(s.suffix)) return s.value;
    }
    for (const c of candidates) {
      for (const p of this.prefixes) if (c.length > p.prefix.length && c.startsWith(p.prefix)) return p.value;
    }
    return this.universal;
  }
}
