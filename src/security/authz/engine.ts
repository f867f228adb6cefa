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
import type { InboundChainModel, InboundListenerModel, InboundMtlsMode, RbacFilterModel, RbacPermissionModel } from '../../core/model/index.js';
import { compilePermission, compilePrincipal, type Predicate } from './compile.js';
import { PathIndex, type PathGuard } from './path-index.js';

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
  /**
   * Literal path prefixes one of which any match needs (from the url_path / uri_template
   * constraint every permission carries), or undefined. A cheap pre-check: with 100 policies
   * most requests are rejected by a `startsWith` instead of a walk through closures.
   */
  readonly guard: readonly PathGuard[] | undefined;
  readonly matches: Predicate;
  readonly deny: AuthzDecision;
  readonly allow: AuthzDecision;
}

interface CompiledFilter {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  readonly policies: readonly CompiledPolicy[];
  /** Candidate policies by path; undefined for small filters, where a plain scan is cheaper. */
  readonly index: PathIndex | undefined;
}

/** From this many policies on, a filter gets a {@link PathIndex}. */
const INDEX_FROM = 8;

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

function compileFilter(f: RbacFilterModel, useIndex: boolean): CompiledFilter | undefined {
  if (!f.action) return undefined; // a filter without rules enforces nothing
  const policies = f.policies.map((p): CompiledPolicy => {
    const perm = or(p.permissions.map(compilePermission));
    const princ = or(p.principals.map(compilePrincipal));
    return {
      name: p.name,
      guard: pathGuard(p.permissions),
      matches: (v) => perm(v) && princ(v),
      deny: Object.freeze({ allowed: false, reason: 'denied-by-policy', policy: p.name }),
      allow: Object.freeze({ allowed: true, reason: 'allowed', policy: p.name }),
    };
  });
  const guarded = policies.filter((p) => p.guard !== undefined).length;
  const index = useIndex && policies.length >= INDEX_FROM && guarded >= policies.length / 2 ? new PathIndex(policies.map((p) => p.guard)) : undefined;
  return { action: f.action, policies, index };
}

function compileChain(c: InboundChainModel, useIndex: boolean): CompiledChain {
  const filters = c.rbac.map((f) => compileFilter(f, useIndex)).filter((f): f is CompiledFilter => f !== undefined);
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
   * generated from the same policies; the first one in name order is used. `pathIndex: false`
   * tests every policy in turn (the reference the index is checked against).
   */
  static compile(listeners: Iterable<InboundListenerModel>, options: { pathIndex?: boolean } = {}): AuthzEngine {
    const useIndex = options.pathIndex !== false;
    const ports = new Map<number, CompiledPort>();
    for (const l of listeners) {
      if (ports.has(l.port)) continue;
      ports.set(l.port, { mode: l.mode, chains: l.chains.map((c) => compileChain(c, useIndex)) });
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
      const matched = f.index === undefined ? firstMatch(f.policies, v) : firstIndexed(f, v);
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
  const path = v.path;
  outer: for (let i = 0; i < policies.length; i++) {
    const p = policies[i] as CompiledPolicy;
    const guard = p.guard;
    if (guard !== undefined) {
      for (let j = 0; j < guard.length; j++) {
        const g = guard[j] as PathGuard;
        if (path.startsWith(g.prefix) && path.endsWith(g.suffix)) {
          if (p.matches(v)) return p;
          continue outer;
        }
      }
      continue;
    }
    if (p.matches(v)) return p;
  }
  return undefined;
}

function firstIndexed(f: CompiledFilter, v: InboundRequestView): CompiledPolicy | undefined {
  const index = f.index as PathIndex;
  const path = v.path;
  const stamp = index.mark(path);
  const policies = f.policies;
  for (let i = 0; i < policies.length; i++) {
    if (!index.isCandidate(i, stamp)) continue;
    const p = policies[i] as CompiledPolicy;
    if (p.matches(v)) return p;
  }
  return undefined;
}

const NO_GUARD: PathGuard = { prefix: '', suffix: '' };

/** What a path constraint needs of the path; NO_GUARD when nothing literal (regex, ignore_case). */
function pathGuards(p: RbacPermissionModel): PathGuard[] | undefined {
  switch (p.kind) {
    case 'urlPath': {
      const m = p.match;
      if (m.kind === 'regex' || m.ignoreCase) return [NO_GUARD];
      if (m.kind === 'exact') return [{ prefix: m.value, suffix: m.value }];
      if (m.kind === 'prefix') return [{ prefix: m.value, suffix: '' }];
      if (m.kind === 'suffix') return [{ prefix: '', suffix: m.value }];
      return [NO_GUARD];
    }
    case 'uriTemplate': {
      const t = p.template;
      const first = t.indexOf('*');
      if (first < 0) return [{ prefix: t, suffix: t }];
      const last = t.lastIndexOf('*');
      return [{ prefix: t.slice(0, first), suffix: t.slice(last + 1) }];
    }
    case 'or': {
      const parts = p.rules.map(pathGuards);
      return parts.every((x) => x !== undefined) ? (parts as PathGuard[][]).flat() : undefined;
    }
    default:
      return undefined;
  }
}

/** Guards every permission needs one of (see CompiledPolicy.guard), or undefined. */
function pathGuard(permissions: readonly RbacPermissionModel[]): PathGuard[] | undefined {
  const out: PathGuard[] = [];
  for (const p of permissions) {
    const parts = p.kind === 'and' ? p.rules : [p];
    let found: PathGuard[] | undefined;
    for (const r of parts) found ??= pathGuards(r);
    if (!found) return undefined;
    out.push(...found);
  }
  if (out.some((g) => (g.prefix === '' || g.prefix === '/') && g.suffix === '')) return undefined;
  return out;
}
