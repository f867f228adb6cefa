/**
 * RBAC permissions and principals compiled into predicates over an {@link InboundRequestView},
 * once per snapshot (Envoy `source/extensions/filters/common/rbac/matchers.cc`). The hot path
 * allocates nothing: the peer address is parsed once per distinct address string and cached.
 */
import { requestHeader, type InboundRequestView } from '../../core/inbound.js';
import { compileStringMatch, headerMatcher } from '../../core/matchers.js';
import type {
  HeaderMatchModel, MetadataMatchModel, RbacPermissionModel, RbacPrincipalModel, ValueMatchModel,
} from '../../core/model/index.js';
import { addressBytes, cidrContains } from '../../xds/resources/cidr.js';
import { compileUriTemplate } from './uri-template.js';

/** A compiled matcher. */
export type Predicate = (v: InboundRequestView) => boolean;

let lastAddress = '';
let lastBytes: ReturnType<typeof addressBytes>;
/** The peer address bytes; one parse per distinct address (consecutive requests share peers). */
function peerBytes(address: string): ReturnType<typeof addressBytes> {
  if (address !== lastAddress) {
    lastAddress = address;
    lastBytes = addressBytes(address);
  }
  return lastBytes;
}

let lastLocal = '';
let lastLocalBytes: ReturnType<typeof addressBytes>;
/** The local address bytes, cached apart from the peer's (a server has few local addresses). */
function localBytes(address: string): ReturnType<typeof addressBytes> {
  if (address !== lastLocal) {
    lastLocal = address;
    lastLocalBytes = addressBytes(address);
  }
  return lastLocalBytes;
}

/** Envoy's pseudo-headers over the view; `:path` keeps the query as Envoy's header does. */
/** Envoy's HeaderUtility::matchHeaders over the view (missing header: only `present: false` matches). */
function headerPredicate(m: HeaderMatchModel): Predicate {
  return headerMatcher<InboundRequestView>(m, requestHeader);
}

function valuePredicate(m: ValueMatchModel): (value: unknown) => boolean {
  switch (m.kind) {
    case 'string': {
      const test = compileStringMatch(m.match);
      return (x) => typeof x === 'string' && test(x);
    }
    case 'present': return m.present ? (x) => x !== undefined && x !== null : (x) => x === undefined || x === null;
    case 'or': {
      const list = m.matchers.map(valuePredicate);
      return (x) => {
        for (let i = 0; i < list.length; i++) if ((list[i] as (x: unknown) => boolean)(x)) return true;
        return false;
      };
    }
    case 'list': {
      const one = valuePredicate(m.oneOf);
      return (x) => Array.isArray(x) && x.some(one);
    }
  }
}

/** The dynamic metadata the mesh has for a request: JWT payload (jwt_authn) and istio_authn keys. */
function metadataRoot(v: InboundRequestView, filter: string, key: string): unknown {
  if (filter === 'envoy.filters.http.jwt_authn') return key === 'payload' ? v.auth?.claims : undefined;
  if (filter === 'istio_authn') {
    switch (key) {
      case 'request.auth.principal': return v.auth?.principal;
      case 'request.auth.claims': return v.auth?.claims;
      case 'source.principal': return v.peer.principal;
      default: return undefined;
    }
  }
  return undefined;
}

function metadataPredicate(m: MetadataMatchModel): Predicate {
  const { filter, invert } = m;
  const [first, ...rest] = m.path as [string, ...string[]];
  const test = valuePredicate(m.value);
  return (v) => {
    let x: unknown = metadataRoot(v, filter, first);
    for (let i = 0; i < rest.length && x !== undefined; i++) {
      x = x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>)[rest[i] as string] : undefined;
    }
    return test(x) !== invert;
  };
}

function all(list: readonly Predicate[]): Predicate {
  if (list.length === 1) return list[0] as Predicate;
  return (v) => {
    for (let i = 0; i < list.length; i++) if (!(list[i] as Predicate)(v)) return false;
    return true;
  };
}

function some(list: readonly Predicate[]): Predicate {
  if (list.length === 1) return list[0] as Predicate;
  return (v) => {
    for (let i = 0; i < list.length; i++) if ((list[i] as Predicate)(v)) return true;
    return false;
  };
}

const ANY: Predicate = () => true;

/**
 * Compiles a Permission.
 *
 * @example
 * ```ts
 * const p = compilePermission({ kind: 'destinationPort', port: 8080 });
 * p(view); // view.localPort === 8080
 * ```
 */
export function compilePermission(p: RbacPermissionModel): Predicate {
  switch (p.kind) {
    case 'any': return ANY;
    case 'and': return all(p.rules.map(compilePermission));
    case 'or': return some(p.rules.map(compilePermission));
    case 'not': {
      const inner = compilePermission(p.rule);
      return (v) => !inner(v);
    }
    case 'header': return headerPredicate(p.header);
    case 'urlPath': {
      const test = compileStringMatch(p.match);
      return (v) => test(v.path);
    }
    case 'uriTemplate': {
      const test = compileUriTemplate(p.template);
      return (v) => test(v.path);
    }
    // Envoy's destination_ip: the local address of the downstream connection (this server's
    // address as the socket shows it, IPv4-mapped IPv6 as IPv4). An adapter that cannot say
    // (no localAddress) matches only a catch-all range.
    case 'destinationIp': {
      const cidr = p.cidr;
      return (v) => (v.localAddress ? cidrContains(cidr, localBytes(v.localAddress)) : cidr.prefixLen === 0);
    }
    case 'destinationPort': {
      const port = p.port;
      return (v) => v.localPort === port;
    }
    case 'destinationPortRange': {
      const { start, end } = p;
      return (v) => v.localPort >= start && v.localPort < end;
    }
    case 'metadata': return metadataPredicate(p.metadata);
    case 'requestedServerName': {
      const test = compileStringMatch(p.match);
      return (v) => test(v.sni ?? '');
    }
  }
}

/**
 * Compiles a Principal. `authenticated` reads only the verified peer certificate's SPIFFE ID
 * (never a header), so a plaintext caller matches no principal, wildcards included
 * (CVE-2020-16844).
 *
 * @example
 * ```ts
 * const p = compilePrincipal({ kind: 'authenticated' });
 * p(view); // view.peer.principal !== undefined
 * ```
 */
export function compilePrincipal(p: RbacPrincipalModel): Predicate {
  switch (p.kind) {
    case 'any': return ANY;
    case 'and': return all(p.ids.map(compilePrincipal));
    case 'or': return some(p.ids.map(compilePrincipal));
    case 'not': {
      const inner = compilePrincipal(p.id);
      return (v) => !inner(v);
    }
    case 'authenticated': {
      if (!p.match) return (v) => v.peer.principal !== undefined;
      const test = compileStringMatch(p.match);
      return (v) => v.peer.principal !== undefined && test(v.peer.principal);
    }
    case 'directRemoteIp':
    case 'remoteIp': {
      const cidr = p.cidr;
      return (v) => cidrContains(cidr, peerBytes(v.peer.address));
    }
    case 'header': return headerPredicate(p.header);
    case 'urlPath': {
      const test = compileStringMatch(p.match);
      return (v) => test(v.path);
    }
    case 'metadata': return metadataPredicate(p.metadata);
  }
}
