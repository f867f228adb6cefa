/**
 * The compiled RBAC engine for a mesh's inbound listeners: per port, the filter chains (which
 * one a connection uses: Envoy's filter_chain_match on transport protocol) and each chain's RBAC
 * filters in listener order. Decision rules are Envoy's RBAC filter's
 * (`source/extensions/filters/http/rbac/rbac_filter.cc`) as Istio lays the filters out
 * (`pilot/pkg/security/authz/builder`: AUDIT (LOG), then DENY, then ALLOW): a DENY filter
 * refuses when any policy matches, an ALLOW filter refuses when none does (so an ALLOW policy
 * without rules, Istio's match-never policy, denies all), a LOG filter never refuses and only
 * marks the request audited. Compiled once per snapshot; `check()` allocates nothing on the
 * common paths (decisions are shared frozen objects).
 */
import type { InboundRequestView } from '../../core/inbound.js';
import type { InboundChainModel, InboundListenerModel, InboundMtlsMode, RbacFilterModel } from '../../core/model/index.js';
import { compilePermission, compilePrincipal, type Predicate } from './compile.js';

/** What {@link AuthzEngine.check} decided. Shared objects: never mutate. */
export interface AuthzDecision {
  readonly allowed: boolean;
  /**
   * `no-policy`: no inbound listener for the port; `allowed`; `denied-by-policy` (a DENY
   * matched); `no-allow-match` (ALLOW filters and none matched); `no-filter-chain` (the
   * connection's transport matches no chain, e.g. plaintext to a STRICT port).
   */
  readonly reason: 'no-policy' | 'allowed' | 'denied-by-policy' | 'no-allow-match' | 'no-filter-chain';
  /** The matched DENY policy (`ns[<ns>]-policy[<name>]-rule[<i>]`), or the ALLOW one that allowed. */
  readonly policy?: string;
  /** The AUDIT policy that matched, if any (Istio logs these). */
  readonly audit?: string;
}

interface CompiledPolicy {
  readonly name: string;
  readonly matches: Predicate;
  readonly deny: AuthzDecision;
  readonly allow: AuthzDecision;
}

interface CompiledFilter {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  readonly policies: readonly CompiledPolicy[];
}

interface CompiledChain {
  readonly tls: boolean;
  /** '' matches either transport. */
  readonly transport: string;
  readonly filters: readonly CompiledFilter[];
}

interface CompiledPort {
  readonly mode: InboundMtlsMode;
  readonly chains: readonly CompiledChain[];
}

const NO_POLICY: AuthzDecision = Object.freeze({ allowed: true, reason: 'no-policy' });
const ALLOWED: AuthzDecision = Object.freeze({ allowed: true, reason: 'allowed' });
const NO_ALLOW_MATCH: AuthzDecision = Object.freeze({ allowed: false, reason: 'no-allow-match' });
const NO_CHAIN: AuthzDecision = Object.freeze({ allowed: false, reason: 'no-filter-chain' });

function or(list: Predicate[]): Predicate {
  if (list.length === 1) return list[0] as Predicate;
  return (v) => {
    for (let i = 0; i < list.length; i++) if ((list[i] as Predicate)(v)) return true;
    return false;
  };
}

function compileFilter(f: RbacFilterModel): CompiledFilter | undefined {
  if (!f.action) return undefined; // a filter without rules enforces nothing
  const policies = f.policies.map((p): CompiledPolicy => {
    const perm = or(p.permissions.map(compilePermission));
    const princ = or(p.principals.map(compilePrincipal));
    return {
      name: p.name,
      matches: (v) => perm(v) && princ(v),
      deny: Object.freeze({ allowed: false, reason: 'denied-by-policy', policy: p.name }),
      allow: Object.freeze({ allowed: true, reason: 'allowed', policy: p.name }),
    };
  });
  return { action: f.action, policies };
}

function compileChain(c: InboundChainModel): CompiledChain {
  const filters = c.rbac.map(compileFilter).filter((f): f is CompiledFilter => f !== undefined);
  return { tls: c.tls, transport: c.transportProtocol, filters };
}

function withAudit(d: AuthzDecision, audit: string | undefined): AuthzDecision {
  return audit === undefined ? d : { ...d, audit };
}

/**
 * Authorization over the decoded inbound listeners of one mesh.
 *
 * @example
 * ```ts
 * const engine = AuthzEngine.compile(inboundListeners);   // once per xDS snapshot
 * const d = engine.check(view);                            // per request
 * if (!d.allowed) return { status: 403, body: 'RBAC: access denied' };
 * engine.inboundMode(8080);                                // 'STRICT' | 'PERMISSIVE' | 'DISABLE' | undefined
 * ```
 */
export class AuthzEngine {
  private constructor(private readonly ports: ReadonlyMap<number, CompiledPort>) {}

  /** An engine with no inbound listeners: every request is `no-policy`. */
  static readonly EMPTY = new AuthzEngine(new Map());

  /**
   * Compiles inbound listeners. Several listeners for one port (`0.0.0.0:p` and `[::]:p`) are
   * generated from the same policies; the first one in name order is used.
   */
  static compile(listeners: Iterable<InboundListenerModel>): AuthzEngine {
    const ports = new Map<number, CompiledPort>();
    for (const l of listeners) {
      if (ports.has(l.port)) continue;
      ports.set(l.port, { mode: l.mode, chains: l.chains.map(compileChain) });
    }
    return new AuthzEngine(ports);
  }

  /** The mTLS mode the control plane set for an inbound port (PeerAuthentication), if it sent one. */
  inboundMode(port: number): InboundMtlsMode | undefined {
    return this.ports.get(port)?.mode;
  }

  /** Ports with an inbound listener. */
  get portList(): number[] {
    return [...this.ports.keys()];
  }

  /** Authorizes one request (its path already normalized, see ./path.ts). */
  check(v: InboundRequestView): AuthzDecision {
    const port = this.ports.get(v.localPort);
    if (port === undefined) return NO_POLICY;
    const chain = chainFor(port.chains, v.tls);
    if (chain === undefined) return NO_CHAIN;
    let audit: string | undefined;
    let allowedBy: AuthzDecision = ALLOWED;
    const filters = chain.filters;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i] as CompiledFilter;
      const matched = firstMatch(f.policies, v);
      if (f.action === 'LOG') {
        if (matched && audit === undefined) audit = matched.name;
      } else if (f.action === 'DENY') {
        if (matched) return withAudit(matched.deny, audit);
      } else {
        if (!matched) return withAudit(NO_ALLOW_MATCH, audit);
        allowedBy = matched.allow;
      }
    }
    return withAudit(allowedBy, audit);
  }
}

/** The chain a connection uses: by transport protocol, or ('' = any) by whether the chain is TLS. */
function chainFor(chains: readonly CompiledChain[], tls: boolean): CompiledChain | undefined {
  for (let i = 0; i < chains.length; i++) {
    const c = chains[i] as CompiledChain;
    if (c.transport === '' ? c.tls === tls : (c.transport === 'tls') === tls) return c;
  }
  return undefined;
}

function firstMatch(policies: readonly CompiledPolicy[], v: InboundRequestView): CompiledPolicy | undefined {
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i] as CompiledPolicy;
    if (p.matches(v)) return p;
  }
  return undefined;
}
