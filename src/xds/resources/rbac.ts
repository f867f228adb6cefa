/**
 * The RBAC HTTP filter config (envoy.extensions.filters.http.rbac.v3.RBAC) → {@link RbacFilterModel},
 * following Envoy's `source/extensions/filters/common/rbac/matchers.cc` and gRFC A41 (what a
 * proxyless server honours): CEL conditions and the xDS `matcher` tree are refused, every regex
 * is RE2, and nesting is bounded so a hostile config cannot blow the stack.
 */
import type {
  CidrModel, HeaderMatchModel, MetadataMatchModel, RbacFilterModel, RbacPermissionModel, RbacPolicyModel, RbacPrincipalModel,
  StringMatchModel, ValueMatchModel,
} from '../../core/model/index.js';
import { TYPE_URL } from '../type-urls.js';
import { decodeAny, stringMatcher } from './common.js';
import type { AnyProto, HeaderMatcherProto, StringMatcherProto } from './proto-types.js';
import { headerMatch } from './route-match.js';
import { parseCidr } from './cidr.js';

/** Bound on Permission/Principal nesting (Envoy has none; a client must not recurse without end). */
const MAX_DEPTH = 32;
/** Bound on the matchers of one filter config. */
const MAX_NODES = 20_000;

interface CidrProto { address_prefix?: string; prefix_len?: { value?: number } }
interface PathMatcherProto { rule?: string; path?: StringMatcherProto }
interface ValueMatcherProto {
  match_pattern?: string; string_match?: StringMatcherProto; present_match?: boolean;
  list_match?: { match_pattern?: string; one_of?: ValueMatcherProto }; or_match?: { value_matchers?: ValueMatcherProto[] };
}
interface MetadataMatcherProto { filter?: string; path?: Array<{ segment?: string; key?: string }>; value?: ValueMatcherProto; invert?: boolean }
interface TypedExtensionProto { name?: string; typed_config?: AnyProto }
interface PermissionProto {
  rule?: string; and_rules?: { rules?: PermissionProto[] }; or_rules?: { rules?: PermissionProto[] }; any?: boolean;
  header?: HeaderMatcherProto; url_path?: PathMatcherProto; destination_ip?: CidrProto; destination_port?: number;
  destination_port_range?: { start?: number; end?: number }; metadata?: MetadataMatcherProto; not_rule?: PermissionProto;
  requested_server_name?: StringMatcherProto; uri_template?: TypedExtensionProto;
}
interface PrincipalProto {
  identifier?: string; and_ids?: { ids?: PrincipalProto[] }; or_ids?: { ids?: PrincipalProto[] }; any?: boolean;
  authenticated?: { principal_name?: StringMatcherProto }; source_ip?: CidrProto; direct_remote_ip?: CidrProto; remote_ip?: CidrProto;
  header?: HeaderMatcherProto; url_path?: PathMatcherProto; metadata?: MetadataMatcherProto; not_id?: PrincipalProto;
}
interface PolicyProto { permissions?: PermissionProto[]; principals?: PrincipalProto[]; condition?: object; checked_condition?: object }
interface RbacProto { rules?: { action?: string; policies?: Record<string, PolicyProto> }; matcher?: object; shadow_rules?: object }

class Budget {
  nodes = 0;
  constructor(readonly errors: string[]) {}
  /** False (and an error) once the nesting or size bound is passed. */
  enter(depth: number, path: string): boolean {
    if (depth > MAX_DEPTH) {
      this.errors.push(`${path}: nested deeper than ${MAX_DEPTH}`);
      return false;
    }
    if (++this.nodes > MAX_NODES) {
      if (this.nodes === MAX_NODES + 1) this.errors.push(`${path}: more than ${MAX_NODES} matchers in one RBAC config`);
      return false;
    }
    return true;
  }
}

function cidr(c: CidrProto | undefined, path: string, errors: string[]): CidrModel | undefined {
  const r = parseCidr(c?.address_prefix ?? '', c?.prefix_len?.value ?? 0);
  if (typeof r === 'string') errors.push(`${path}: ${r}`);
  return typeof r === 'string' ? undefined : r;
}

function pathMatch(p: PathMatcherProto | undefined, path: string, errors: string[]): StringMatchModel | undefined {
  if (p?.rule !== 'path') {
    errors.push(`${path}: no path matcher set`);
    return undefined;
  }
  return stringMatcher(p.path, `${path}.path`, errors);
}

function valueMatch(v: ValueMatcherProto | undefined, path: string, b: Budget, depth: number): ValueMatchModel | undefined {
  if (!b.enter(depth, path)) return undefined;
  switch (v?.match_pattern) {
    case 'string_match': {
      const match = stringMatcher(v.string_match, `${path}.string_match`, b.errors);
      return match ? { kind: 'string', match } : undefined;
    }
    case 'present_match': return { kind: 'present', present: v.present_match === true };
    case 'list_match': {
      const inner = v.list_match?.match_pattern === 'one_of' ? valueMatch(v.list_match.one_of, `${path}.list_match.one_of`, b, depth + 1) : undefined;
      if (v.list_match?.match_pattern !== 'one_of') b.errors.push(`${path}.list_match: one_of not set`);
      return inner ? { kind: 'list', oneOf: inner } : undefined;
    }
    case 'or_match': {
      const list = v.or_match?.value_matchers ?? [];
      if (list.length < 2) b.errors.push(`${path}.or_match.value_matchers: needs at least 2 matchers`);
      const matchers = list.map((m, i) => valueMatch(m, `${path}.or_match.value_matchers[${i}]`, b, depth + 1));
      return matchers.every((m) => m !== undefined) ? { kind: 'or', matchers: matchers as ValueMatchModel[] } : undefined;
    }
    default:
      b.errors.push(`${path}: unsupported value matcher ${v?.match_pattern ?? '(unset)'}`);
      return undefined;
  }
}

function metadata(m: MetadataMatcherProto | undefined, path: string, b: Budget, depth: number): MetadataMatchModel | undefined {
  const filter = m?.filter ?? '';
  if (filter === '') b.errors.push(`${path}.filter: empty`);
  const keys: string[] = [];
  for (const [i, seg] of (m?.path ?? []).entries()) {
    if (seg.segment !== 'key' || !seg.key) b.errors.push(`${path}.path[${i}].key: empty`);
    else keys.push(seg.key);
  }
  if (keys.length === 0) b.errors.push(`${path}.path: empty`);
  const value = valueMatch(m?.value, `${path}.value`, b, depth + 1);
  if (!value || filter === '' || keys.length === 0) return undefined;
  return { filter, path: keys, value, invert: m?.invert === true };
}

function header(h: HeaderMatcherProto | undefined, path: string, errors: string[]): HeaderMatchModel | undefined {
  return h ? headerMatch(h, path, errors) : (errors.push(`${path}: unset`), undefined);
}

/** Checks an Envoy uri_template (UriTemplateMatchConfig.path_template): `/`-led, `*`/`**` operators, `**` last. */
export function uriTemplateProblem(template: string): string | undefined {
  if (!template.startsWith('/')) return 'path_template must start with /';
  if (template.length > 256) return 'path_template is longer than 256 characters';
  const segments = template.slice(1).split('/');
  let sawAny = false;
  for (const s of segments) {
    if (sawAny) return '** must be the last operator';
    if (s === '**') sawAny = true;
    else if (s.includes('*') && s !== '*') return `segment ${JSON.stringify(s)}: * and ** must be whole segments`;
    else if (/[{}]/.test(s)) return `segment ${JSON.stringify(s)}: variables are not supported`;
  }
  return undefined;
}

function uriTemplate(ext: TypedExtensionProto | undefined, path: string, errors: string[]): string | undefined {
  const msg = decodeAny<{ path_template?: string }>(ext?.typed_config, TYPE_URL.uriTemplate, `${path}.typed_config`, errors);
  if (!msg) return undefined;
  const template = msg.path_template ?? '';
  const problem = uriTemplateProblem(template);
  if (problem) errors.push(`${path}.typed_config.path_template: ${problem}`);
  return problem ? undefined : template;
}

function permission(p: PermissionProto, path: string, b: Budget, depth: number): RbacPermissionModel | undefined {
  if (!b.enter(depth, path)) return undefined;
  const e = b.errors;
  const list = (rules: PermissionProto[] | undefined, at: string): RbacPermissionModel[] | undefined => {
    if (!rules || rules.length === 0) e.push(`${at}: empty`);
    const out = (rules ?? []).map((r, i) => permission(r, `${at}[${i}]`, b, depth + 1));
    return out.every((r) => r !== undefined) && out.length > 0 ? (out as RbacPermissionModel[]) : undefined;
  };
  switch (p.rule) {
    case 'any': return p.any === true ? { kind: 'any' } : (e.push(`${path}.any: must be true`), undefined);
    case 'and_rules': { const rules = list(p.and_rules?.rules, `${path}.and_rules.rules`); return rules && { kind: 'and', rules }; }
    case 'or_rules': { const rules = list(p.or_rules?.rules, `${path}.or_rules.rules`); return rules && { kind: 'or', rules }; }
    case 'not_rule': {
      const rule = p.not_rule ? permission(p.not_rule, `${path}.not_rule`, b, depth + 1) : (e.push(`${path}.not_rule: unset`), undefined);
      return rule && { kind: 'not', rule };
    }
    case 'header': { const h = header(p.header, `${path}.header`, e); return h && { kind: 'header', header: h }; }
    case 'url_path': { const m = pathMatch(p.url_path, `${path}.url_path`, e); return m && { kind: 'urlPath', match: m }; }
    case 'uri_template': { const t = uriTemplate(p.uri_template, `${path}.uri_template`, e); return t === undefined ? undefined : { kind: 'uriTemplate', template: t }; }
    case 'destination_ip': { const c = cidr(p.destination_ip, `${path}.destination_ip`, e); return c && { kind: 'destinationIp', cidr: c }; }
    case 'destination_port': {
      const port = p.destination_port ?? 0;
      return port <= 65535 ? { kind: 'destinationPort', port } : (e.push(`${path}.destination_port: ${port} is above 65535`), undefined);
    }
    case 'destination_port_range': {
      const start = p.destination_port_range?.start ?? 0;
      const end = p.destination_port_range?.end ?? 0;
      return start < end ? { kind: 'destinationPortRange', start, end } : (e.push(`${path}.destination_port_range: start must be below end`), undefined);
    }
    case 'metadata': { const m = metadata(p.metadata, `${path}.metadata`, b, depth); return m && { kind: 'metadata', metadata: m }; }
    case 'requested_server_name': {
      const m = stringMatcher(p.requested_server_name, `${path}.requested_server_name`, e);
      return m && { kind: 'requestedServerName', match: m };
    }
    default:
      e.push(`${path}: unsupported permission rule ${p.rule ?? '(unset)'}`);
      return undefined;
  }
}

function principal(p: PrincipalProto, path: string, b: Budget, depth: number): RbacPrincipalModel | undefined {
  if (!b.enter(depth, path)) return undefined;
  const e = b.errors;
  const list = (ids: PrincipalProto[] | undefined, at: string): RbacPrincipalModel[] | undefined => {
    if (!ids || ids.length === 0) e.push(`${at}: empty`);
    const out = (ids ?? []).map((r, i) => principal(r, `${at}[${i}]`, b, depth + 1));
    return out.every((r) => r !== undefined) && out.length > 0 ? (out as RbacPrincipalModel[]) : undefined;
  };
  switch (p.identifier) {
    case 'any': return p.any === true ? { kind: 'any' } : (e.push(`${path}.any: must be true`), undefined);
    case 'and_ids': { const ids = list(p.and_ids?.ids, `${path}.and_ids.ids`); return ids && { kind: 'and', ids }; }
    case 'or_ids': { const ids = list(p.or_ids?.ids, `${path}.or_ids.ids`); return ids && { kind: 'or', ids }; }
    case 'not_id': {
      const id = p.not_id ? principal(p.not_id, `${path}.not_id`, b, depth + 1) : (e.push(`${path}.not_id: unset`), undefined);
      return id && { kind: 'not', id };
    }
    case 'authenticated': {
      const pn = p.authenticated?.principal_name;
      if (!pn) return { kind: 'authenticated' };
      const match = stringMatcher(pn, `${path}.authenticated.principal_name`, e);
      return match && { kind: 'authenticated', match };
    }
    case 'source_ip':
    case 'direct_remote_ip': {
      const c = cidr(p.identifier === 'source_ip' ? p.source_ip : p.direct_remote_ip, `${path}.${p.identifier}`, e);
      return c && { kind: 'directRemoteIp', cidr: c };
    }
    case 'remote_ip': { const c = cidr(p.remote_ip, `${path}.remote_ip`, e); return c && { kind: 'remoteIp', cidr: c }; }
    case 'header': { const h = header(p.header, `${path}.header`, e); return h && { kind: 'header', header: h }; }
    case 'url_path': { const m = pathMatch(p.url_path, `${path}.url_path`, e); return m && { kind: 'urlPath', match: m }; }
    case 'metadata': { const m = metadata(p.metadata, `${path}.metadata`, b, depth); return m && { kind: 'metadata', metadata: m }; }
    default:
      e.push(`${path}: unsupported principal identifier ${p.identifier ?? '(unset)'}`);
      return undefined;
  }
}

const ACTIONS = new Set(['ALLOW', 'DENY', 'LOG']);

/**
 * Validates a decoded RBAC filter config; `path` is the filter's field path.
 *
 * @example
 * ```ts
 * const model = rbacFilterModel('envoy.filters.http.rbac', decoded, 'filter_chains[0]…typed_config', errors);
 * ```
 */
export function rbacFilterModel(name: string, msg: RbacProto, path: string, errors: string[]): RbacFilterModel | undefined {
  const before = errors.length;
  if (msg.matcher) errors.push(`${path}.matcher: not supported (use rules)`);
  if (!msg.rules) return errors.length === before ? { name, policies: [] } : undefined;
  const action = msg.rules.action ?? 'ALLOW';
  if (!ACTIONS.has(action)) errors.push(`${path}.rules.action: unknown action ${action}`);
  const b = new Budget(errors);
  const policies: RbacPolicyModel[] = [];
  for (const key of Object.keys(msg.rules.policies ?? {}).sort()) {
    const pol = (msg.rules.policies ?? {})[key] as PolicyProto;
    const p = `${path}.rules.policies[${key}]`;
    if (pol.condition || pol.checked_condition) errors.push(`${p}: CEL conditions are not supported`);
    if (!pol.permissions?.length) errors.push(`${p}.permissions: empty`);
    if (!pol.principals?.length) errors.push(`${p}.principals: empty`);
    const permissions = (pol.permissions ?? []).map((x, i) => permission(x, `${p}.permissions[${i}]`, b, 0));
    const principals = (pol.principals ?? []).map((x, i) => principal(x, `${p}.principals[${i}]`, b, 0));
    if (permissions.every((x) => x) && principals.every((x) => x)) {
      policies.push({ name: key, permissions: permissions as RbacPermissionModel[], principals: principals as RbacPrincipalModel[] });
    }
  }
  if (errors.length > before) return undefined;
  return { name, action: action as 'ALLOW' | 'DENY' | 'LOG', policies };
}

export type { RbacProto };
