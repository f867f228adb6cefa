/**
 * Route matchers compiled once per snapshot into closures, following Envoy's RouteMatch:
 * path (on the normalized path), headers (incl. invert/present/range and missing-header rules),
 * query parameters, gRPC-only, then the runtime fraction (rolled last, only if all else held).
 */
import type { HeaderMatchModel, PathMatchModel, QueryParamMatchModel, RouteMatchModel, StringMatchModel } from './model/index.js';
import { rollFraction } from './fraction.js';
import type { RequestView } from './request.js';

/** A compiled predicate over a request. */
export type Matcher = (req: RequestView, random: () => number) => boolean;

/** Compiles a path matcher; `exact`/`prefix` compare lower case when case-insensitive. */
export function compilePathMatch(m: PathMatchModel): (path: string) => boolean {
  if (m.kind === 'regex') {
    const re = m.regex;
    return (path) => re.test(path);
  }
  const value = m.caseSensitive ? m.value : m.value.toLowerCase();
  const fold = (p: string): string => (m.caseSensitive ? p : p.toLowerCase());
  switch (m.kind) {
    case 'exact':
      return (path) => fold(path) === value;
    case 'prefix':
      return value === '/' || value === '' ? () => true : (path) => fold(path).startsWith(value);
    case 'path_separated_prefix': {
      const base = value.endsWith('/') ? value.slice(0, -1) : value;
      return (path) => {
        const p = fold(path);
        return p === base || p.startsWith(`${base}/`);
      };
    }
  }
}

/** Compiles Envoy's StringMatcher. */
export function compileStringMatch(m: StringMatchModel): (value: string) => boolean {
  if (m.kind === 'regex') {
    const re = m.regex;
    return (v) => re.test(v);
  }
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const fold = m.ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  switch (m.kind) {
    case 'exact':
      return (v) => fold(v) === want;
    case 'prefix':
      return (v) => fold(v).startsWith(want);
    case 'suffix':
      return (v) => fold(v).endsWith(want);
    case 'contains':
      return (v) => fold(v).includes(want);
  }
}

const INTEGER = /^[+-]?\d+$/;

/**
 * Compiles a header matcher (Envoy's HeaderUtility::matchHeaders). A missing header matches
 * only `present: false`, or — inverted — only `present: true`; with treat_missing_header_as_empty
 * (what Istio sends for `withoutHeaders`) it is matched as the empty string instead.
 */
export function compileHeaderMatch(m: HeaderMatchModel): Matcher {
  return headerMatcher<RequestView>(m, readHeader);
}

const readHeader = (req: RequestView, name: string): string | undefined => req.header(name);

/**
 * The header matcher over any request shape, given how to read one of its headers: outbound
 * routes read the RequestView, inbound RBAC the InboundRequestView (pseudo-headers included).
 */
export function headerMatcher<R>(m: HeaderMatchModel, read: (req: R, name: string) => string | undefined): (req: R) => boolean {
  const name = m.name.toLowerCase();
  const invert = m.invert;
  let test: (v: string) => boolean;
  const missingAsEmpty = m.treatMissingAsEmpty === true;
  if (m.kind === 'present') {
    const present = m.present;
    return (req) => {
      const has = missingAsEmpty || read(req, name) !== undefined;
      return (has === present) !== invert;
    };
  }
  if (m.kind === 'range') {
    const { start, end } = m;
    test = (v) => INTEGER.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    test = compileStringMatch(m);
  }
  return (req) => {
    const v = read(req, name);
    if (v === undefined) return missingAsEmpty && test('') !== invert;
    return test(v) !== invert;
  };
}

/** Compiles a query parameter matcher; an absent parameter never matches. */
export function compileQueryMatch(m: QueryParamMatchModel): Matcher {
  const name = m.name;
  if (m.kind === 'present') return (req) => req.queryParam(name) !== undefined;
  const test = compileStringMatch(m);
  return (req) => {
    const v = req.queryParam(name);
    return v !== undefined && test(v);
  };
}

/** Compiles a whole RouteMatch into one predicate. */
export function compileRouteMatch(m: RouteMatchModel): Matcher {
  const path = compilePathMatch(m.path);
  const rest: Matcher[] = [...m.headers.map(compileHeaderMatch), ...m.queryParams.map(compileQueryMatch)];
  const grpcOnly = m.grpcOnly;
  const fraction = m.fraction;
  return (req, random) => {
    if (!path(req.path)) return false;
    if (grpcOnly && !req.isGrpc()) return false;
    for (let i = 0; i < rest.length; i++) if (!(rest[i] as Matcher)(req, random)) return false;
    return fraction === undefined || rollFraction(fraction, random);
  };
}
