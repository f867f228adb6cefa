/**
 * AuthorizationPolicy → Envoy RBAC, as Istio builds it for proxyless gRPC
 * (`pilot/pkg/security/authz/model/{model,generator,permission,principal}.go`,
 * `builder/builder.go`; grpcgen calls `Generate(forTCP=false, useAuthenticated=true)`): one RBAC
 * policy per rule named `ns[<ns>]-policy[<name>]-rule[<i>]`; `from` sources are OR'ed
 * principals, `to` operations OR'ed permissions, each an AND of its fields, `when` conditions
 * AND'ed into every one; values of a field are OR'ed and `not*` values are a NOT of their OR. A
 * policy without rules becomes Istio's match-never policy. Values that cannot be translated make
 * an ALLOW rule skip (fail closed) and are dropped from a DENY rule (Istio's checkError).
 */
import type { AuthorizationPolicy, AuthzCondition, AuthzRule } from '../../config/types.js';
import { anyOf } from './proto-helpers.js';
import { uriTemplateProblem } from '../../xds/resources/rbac.js';

type Msg = Record<string, unknown>;

const JWT_FILTER = 'envoy.filters.http.jwt_authn';
const URI_TEMPLATE = 'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig';

const exact = (v: string, ignore_case = false): Msg => ({ exact: v, ignore_case });
const prefix = (v: string, ignore_case = false): Msg => ({ prefix: v, ignore_case });
const suffix = (v: string, ignore_case = false): Msg => ({ suffix: v, ignore_case });
const regex = (v: string): Msg => ({ safe_regex: { regex: v } });

/** RE2 escaping of a literal (Go's regexp.QuoteMeta). */
const quoteMeta = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/** Istio matcher.StringMatcherWithPrefix: `*` any non-empty, `*x` suffix, `x*` prefix, else exact. */
function stringMatch(v: string, pre = ''): Msg {
  if (v === '*') return regex(`${quoteMeta(pre)}.+`);
  if (v.startsWith('*')) return pre === '' ? suffix(v.slice(1)) : regex(`${quoteMeta(pre)}.*${quoteMeta(v.slice(1))}`);
  if (v.endsWith('*')) return prefix(pre + v.slice(0, -1));
  return exact(pre + v);
}

/** Istio matcher.HeaderMatcher / HostMatcher. */
function headerMatch(name: string, v: string, ignoreCase = false): Msg {
  if (v === '*') return { name, present_match: true };
  if (v.startsWith('*')) return { name, string_match: suffix(v.slice(1), ignoreCase) };
  if (v.endsWith('*')) return { name, string_match: prefix(v.slice(0, -1), ignoreCase) };
  return { name, string_match: exact(v, ignoreCase) };
}

function cidr(v: string): Msg | undefined {
  const [addr, len] = v.split('/') as [string, string | undefined];
  const max = addr.includes(':') ? 128 : 32;
  const n = len === undefined ? max : Number(len);
  if (!/^[0-9a-fA-F.:]+$/.test(addr) || !Number.isInteger(n) || n < 0 || n > max) return undefined;
  return { address_prefix: addr, prefix_len: { value: n } };
}

const jwtClaim = (path: string[], value: Msg): Msg => ({
  filter: JWT_FILTER,
  path: ['payload', ...path].map((key) => ({ key })),
  value,
});
const strValue = (m: Msg): Msg => ({ string_match: m });
const orValues = (list: Msg[]): Msg => (list.length === 1 ? (list[0] as Msg) : { or_match: { value_matchers: list } });
/** Istio MetadataListValueMatcherForJWTClaims with extended JWT: a list claim holding one, or a string equal. */
const claimMatcher = (claims: string[], values: string[]): Msg => {
  const value = orValues(values.map((v) => strValue(stringMatch(v))));
  return jwtClaim(claims, { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } });
};

/** Istio requestPrincipalGenerator: `iss/sub` with `*` at either end. */
function requestPrincipal(values: string[]): Msg {
  const any = regex('.+');
  const or = values.map((value): Msg => {
    const idx = value.lastIndexOf('/');
    const found = idx >= 0;
    const iss = found ? value.slice(0, idx) : value;
    const sub = found ? value.slice(idx + 1) : '';
    let mIss: Msg;
    let mSub: Msg;
    if (value === '*') [mIss, mSub] = [any, any];
    else if (value.startsWith('*')) [mIss, mSub] = found ? [iss === '*' ? any : suffix(iss.slice(1)), exact(sub)] : [any, suffix(value.slice(1))];
    else if (value.endsWith('*')) [mIss, mSub] = found ? [exact(iss), sub === '*' ? any : prefix(sub.slice(0, -1))] : [prefix(value.slice(0, -1)), any];
    else [mIss, mSub] = [exact(iss), exact(sub)];
    return { and_ids: { ids: [{ metadata: jwtClaim(['iss'], strValue(mIss)) }, { metadata: jwtClaim(['sub'], strValue(mSub)) }] } };
  });
  return or.length === 1 ? (or[0] as Msg) : { or_ids: { ids: or } };
}

const authenticated = (m: Msg): Msg => ({ authenticated: { principal_name: m } });

/** One value → Permission or Principal; undefined when it cannot be translated. */
type Gen = (value: string) => Msg | undefined;

const P = {
  port: (v: string) => (/^\d+$/.test(v) && Number(v) <= 65535 ? { destination_port: Number(v) } : undefined),
  path: (v: string) => (v.includes('{*}') || v.includes('{**}')
    ? uriTemplateProblem(v.replaceAll('{**}', '**').replaceAll('{*}', '*')) !== undefined ? undefined : { uri_template: { name: 'uri-template', typed_config: anyOf(URI_TEMPLATE, { path_template: v.replaceAll('{**}', '**').replaceAll('{*}', '*') }) } }
    : { url_path: { path: stringMatch(v) } }),
  method: (v: string) => ({ header: headerMatch(':method', v) }),
  host: (v: string) => ({ header: headerMatch(':authority', v, true) }),
  sni: (v: string) => ({ requested_server_name: stringMatch(v) }),
  destIp: (v: string) => { const c = cidr(v); return c && { destination_ip: c }; },
};

const S = {
  ip: (v: string) => { const c = cidr(v); return c && { direct_remote_ip: c }; },
  remoteIp: (v: string) => { const c = cidr(v); return c && { remote_ip: c }; },
  namespace: (v: string) => authenticated(regex(`.*/ns/${v.split('*').map(quoteMeta).join('.*')}/.*`)),
  principal: (v: string) => authenticated(stringMatch(v, 'spiffe://')),
  /** Istio serviceAccountRegex: `ns/sa`, or `sa` in the policy's namespace. */
  serviceAccount: (ns: string) => (v: string) => {
    const [a, b] = v.includes('/') ? (v.split('/', 2) as [string, string]) : [ns, v];
    return authenticated(regex(`spiffe://.+/ns/${quoteMeta(a)}/(.+/|)sa/${quoteMeta(b)}(/.+)?`));
  },
  header: (name: string) => (v: string) => ({ header: headerMatch(name, v) }),
};

interface Field {
  /** `perm` or `princ`: which side of the policy it lands on. */
  side: 'perm' | 'princ';
  values?: string[] | undefined;
  notValues?: string[] | undefined;
  gen?: Gen;
  /** Takes all values at once (requestPrincipals, claims). */
  many?: (values: string[]) => Msg;
}

class Untranslatable extends Error {}

/** The AND entries of one field: OR of values, NOT(OR of notValues). */
function fieldEntries(f: Field, deny: boolean, wrap: (list: Msg[]) => Msg, not: (m: Msg) => Msg): Msg[] {
  const out: Msg[] = [];
  const build = (values: string[] | undefined, negate: boolean): void => {
    if (!values || values.length === 0) return;
    let m: Msg | undefined;
    if (f.many) m = f.many(values);
    else {
      const list: Msg[] = [];
      for (const v of values) {
        const g = (f.gen as Gen)(v);
        if (g) list.push(g);
        else if (!deny) throw new Untranslatable(v);
      }
      m = list.length === 0 ? undefined : list.length === 1 ? list[0] : wrap(list);
    }
    if (m) out.push(negate ? not(m) : m);
  };
  build(f.values, false);
  build(f.notValues, true);
  return out;
}

function condition(c: AuthzCondition): Field | undefined {
  const k = c.key;
  const base = { values: c.values, notValues: c.notValues };
  if (k === 'destination.port') return { side: 'perm', gen: P.port, ...base };
  if (k === 'destination.ip') return { side: 'perm', gen: P.destIp, ...base };
  if (k === 'connection.sni') return { side: 'perm', gen: P.sni, ...base };
  if (k === 'source.ip') return { side: 'princ', gen: S.ip, ...base };
  if (k === 'remote.ip') return { side: 'princ', gen: S.remoteIp, ...base };
  if (k === 'source.namespace') return { side: 'princ', gen: S.namespace, ...base };
  if (k === 'source.principal') return { side: 'princ', gen: S.principal, ...base };
  if (k === 'request.auth.principal') return { side: 'princ', many: requestPrincipal, ...base };
  if (k === 'request.auth.audiences') return { side: 'princ', many: (v) => ({ metadata: claimMatcher(['aud'], v) }), ...base };
  if (k === 'request.auth.presenter') return { side: 'princ', many: (v) => ({ metadata: claimMatcher(['azp'], v) }), ...base };
  const header = /^request\.headers\[([^\]]+)\]$/.exec(k);
  if (header) return { side: 'princ', gen: S.header((header[1] as string).toLowerCase()), ...base };
  const claims = /^request\.auth\.claims((\[[^\]]+\])+)$/.exec(k);
  if (claims) {
    const path = [...(claims[1] as string).matchAll(/\[([^\]]+)\]/g)].map((m) => m[1] as string);
    return { side: 'princ', many: (v) => ({ metadata: claimMatcher(path, v) }), ...base };
  }
  return undefined;
}

const permAnd = (list: Msg[]): Msg => ({ and_rules: { rules: list.length > 0 ? list : [{ any: true }] } });
const princAnd = (list: Msg[]): Msg => ({ and_ids: { ids: list.length > 0 ? list : [{ any: true }] } });

/** One rule → an RBAC Policy; undefined when an ALLOW rule cannot be translated (Istio skips it). */
export function rulePolicy(rule: AuthzRule, deny: boolean, namespace = 'default'): Msg | undefined {
  try {
    const when: Field[] = [];
    for (const c of rule.when ?? []) {
      const f = condition(c);
      if (!f) throw new Untranslatable(c.key);
      when.push(f);
    }
    const pOr = (l: Msg[]): Msg => ({ or_rules: { rules: l } });
    const sOr = (l: Msg[]): Msg => ({ or_ids: { ids: l } });
    const entries = (fields: Field[], side: 'perm' | 'princ'): Msg[] =>
      fields.filter((f) => f.side === side).flatMap((f) => fieldEntries(f, deny, side === 'perm' ? pOr : sOr, side === 'perm' ? (m) => ({ not_rule: m }) : (m) => ({ not_id: m })));
    const baseP = entries(when, 'perm');
    const baseS = entries(when, 'princ');
    const permissions = (rule.to ?? []).map(({ operation: o }) => permAnd([
      ...entries([
        { side: 'perm', gen: P.host, values: o.hosts, notValues: o.notHosts },
        { side: 'perm', gen: P.method, values: o.methods, notValues: o.notMethods },
        { side: 'perm', gen: P.path, values: o.paths, notValues: o.notPaths },
        { side: 'perm', gen: P.port, values: o.ports, notValues: o.notPorts },
      ], 'perm'),
      ...baseP,
    ]));
    if (permissions.length === 0) permissions.push(permAnd(baseP));
    const principals = (rule.from ?? []).map(({ source: s }) => princAnd([
      ...entries([
        { side: 'princ', gen: S.principal, values: s.principals, notValues: s.notPrincipals },
        { side: 'princ', gen: S.serviceAccount(namespace), values: s.serviceAccounts, notValues: s.notServiceAccounts },
        { side: 'princ', many: requestPrincipal, values: s.requestPrincipals, notValues: s.notRequestPrincipals },
        { side: 'princ', gen: S.namespace, values: s.namespaces, notValues: s.notNamespaces },
        { side: 'princ', gen: S.remoteIp, values: s.remoteIpBlocks, notValues: s.notRemoteIpBlocks },
        { side: 'princ', gen: S.ip, values: s.ipBlocks, notValues: s.notIpBlocks },
      ], 'princ'),
      ...baseS,
    ]));
    if (principals.length === 0) principals.push(princAnd(baseS));
    return { permissions, principals };
  } catch (err) {
    if (err instanceof Untranslatable) return undefined;
    throw err;
  }
}

/** Istio's policy for an AuthorizationPolicy without rules: never matches. */
const MATCH_NEVER: Msg = { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };

/** Istio's RBAC policy name (builder.go policyName). */
export const rbacPolicyName = (ns: string, name: string, i: number): string => `ns[${ns}]-policy[${name}]-rule[${i}]`;

/**
 * The RBAC `rules` of one action over the policies that apply to a workload, or undefined when
 * there are none (no filter is emitted).
 *
 * @example
 * ```ts
 * const deny = rbacRules(policies.filter((p) => p.spec.action === 'DENY'), 'DENY');
 * ```
 */
export function rbacRules(policies: readonly AuthorizationPolicy[], action: 'ALLOW' | 'DENY' | 'LOG'): Msg | undefined {
  if (policies.length === 0) return undefined;
  const out: Record<string, Msg> = {};
  for (const p of policies) {
    const ns = p.metadata.namespace ?? 'default';
    const rules = p.spec.rules ?? [];
    rules.forEach((rule, i) => {
      const policy = rulePolicy(rule ?? {}, action !== 'ALLOW', ns);
      if (policy) out[rbacPolicyName(ns, p.metadata.name, i)] = policy;
    });
    if (rules.length === 0) out[rbacPolicyName(ns, p.metadata.name, 0)] = MATCH_NEVER;
  }
  return { action, policies: out };
}
