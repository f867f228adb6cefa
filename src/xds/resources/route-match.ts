/** RouteMatch validation: path, headers, query parameters, runtime fraction. Regexes compiled here. */
import type { HeaderMatchModel, PathMatchModel, QueryParamMatchModel, RouteMatchModel } from '../../core/model/index.js';
import { compileRegex, fraction, stringMatcher } from './common.js';
import type { HeaderMatcherProto, QueryParameterMatcherProto, RouteMatchProto } from './proto-types.js';

function pathMatch(m: RouteMatchProto, path: string, errors: string[]): PathMatchModel | undefined {
  const caseSensitive = m.case_sensitive?.value !== false;
  switch (m.path_specifier) {
    case 'prefix': return { kind: 'prefix', value: m.prefix ?? '', caseSensitive };
    case 'path': return { kind: 'exact', value: m.path ?? '', caseSensitive };
    case 'path_separated_prefix': {
      const value = m.path_separated_prefix ?? '';
      if (!value.startsWith('/') || /[?#]/.test(value) || (value.length > 1 && value.endsWith('/'))) {
        errors.push(`${path}.path_separated_prefix: ${JSON.stringify(value)} must start with '/', not end with '/' and hold no '?' or '#'`);
        return undefined;
      }
      return { kind: 'path_separated_prefix', value, caseSensitive };
    }
    case 'safe_regex': {
      const value = m.safe_regex?.regex ?? '';
      // case_sensitive does not apply to regexes in Envoy: the pattern says what it means.
      const regex = compileRegex(value, `${path}.safe_regex.regex`, errors);
      return regex ? { kind: 'regex', value, regex, caseSensitive: true } : undefined;
    }
    case undefined:
      errors.push(`${path}: no path_specifier set`);
      return undefined;
    default:
      errors.push(`${path}: unsupported path_specifier ${m.path_specifier}`);
      return undefined;
  }
}

export function headerMatch(h: HeaderMatcherProto, path: string, errors: string[]): HeaderMatchModel | undefined {
  const name = (h.name ?? '').toLowerCase();
  if (name === '') {
    errors.push(`${path}.name: empty`);
    return undefined;
  }
  const base = { name, invert: h.invert_match === true, ...(h.treat_missing_header_as_empty === true ? { treatMissingAsEmpty: true } : {}) };
  switch (h.header_match_specifier) {
    case 'exact_match': return { ...base, kind: 'exact', value: h.exact_match ?? '', ignoreCase: false };
    case 'prefix_match': return { ...base, kind: 'prefix', value: h.prefix_match ?? '', ignoreCase: false };
    case 'suffix_match': return { ...base, kind: 'suffix', value: h.suffix_match ?? '', ignoreCase: false };
    case 'contains_match': return { ...base, kind: 'contains', value: h.contains_match ?? '', ignoreCase: false };
    case 'safe_regex_match': {
      const value = h.safe_regex_match?.regex ?? '';
      const regex = compileRegex(value, `${path}.safe_regex_match.regex`, errors);
      return regex ? { ...base, kind: 'regex', value, regex } : undefined;
    }
    case 'present_match': return { ...base, kind: 'present', present: h.present_match !== false };
    case 'range_match': {
      const start = Number(h.range_match?.start ?? 0);
      const end = Number(h.range_match?.end ?? 0);
      if (!(start < end)) {
        errors.push(`${path}.range_match: start ${start} must be below end ${end}`);
        return undefined;
      }
      return { ...base, kind: 'range', start, end };
    }
    case 'string_match': {
      const sm = stringMatcher(h.string_match, `${path}.string_match`, errors);
      return sm ? { ...base, ...sm } : undefined;
    }
    case undefined:
      // No specifier: Envoy treats it as "header present".
      return { ...base, kind: 'present', present: true };
    default:
      errors.push(`${path}: unsupported header_match_specifier ${h.header_match_specifier}`);
      return undefined;
  }
}

function queryMatch(q: QueryParameterMatcherProto, path: string, errors: string[]): QueryParamMatchModel | undefined {
  const name = q.name ?? '';
  if (name === '') {
    errors.push(`${path}.name: empty`);
    return undefined;
  }
  switch (q.query_parameter_match_specifier) {
    case 'present_match': return { name, kind: 'present' };
    case 'string_match': {
      const sm = stringMatcher(q.string_match, `${path}.string_match`, errors);
      return sm ? { name, ...sm } : undefined;
    }
    default:
      // Envoy's default when neither is set is "present".
      return { name, kind: 'present' };
  }
}

/** Validates a RouteMatch; `path` is the match's own field path (`…routes[2].match`). */
export function routeMatch(m: RouteMatchProto | undefined, path: string, errors: string[]): RouteMatchModel | undefined {
  if (!m) {
    errors.push(`${path}: unset`);
    return undefined;
  }
  const before = errors.length;
  const p = pathMatch(m, path, errors);
  const headers: HeaderMatchModel[] = [];
  for (const [i, h] of (m.headers ?? []).entries()) {
    const hm = headerMatch(h, `${path}.headers[${i}]`, errors);
    if (hm) headers.push(hm);
  }
  const queryParams: QueryParamMatchModel[] = [];
  for (const [i, q] of (m.query_parameters ?? []).entries()) {
    const qm = queryMatch(q, `${path}.query_parameters[${i}]`, errors);
    if (qm) queryParams.push(qm);
  }
  const fr = m.runtime_fraction ? fraction(m.runtime_fraction.default_value, `${path}.runtime_fraction.default_value`, errors) : undefined;
  if (!p || errors.length !== before) return undefined;
  return { path: p, headers, queryParams, grpcOnly: m.grpc !== undefined, ...(fr ? { fraction: fr } : {}) };
}
