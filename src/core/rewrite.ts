/** Path rewrites (prefix/regex), header mutation lists and redirect locations. */
import type { RewriteRegex } from '../internal/regex.js';
import type { HeaderToAddModel, PathMatchModel, RedirectModel, RegexRewriteModel } from './model/index.js';
import type { HeaderMutation } from './types.js';
import type { RequestView } from './request.js';

/** A regex rewrite ready to apply: Envoy's `\1` substitutions become the engine's `$1`. */
export interface CompiledRegexRewrite {
  readonly regex: RewriteRegex;
  readonly replacement: string;
}

/** Converts an Envoy substitution (RE2 `\N` groups) into a `$N` replacement string. */
export function compileRegexRewrite(r: RegexRewriteModel): CompiledRegexRewrite {
  const replacement = r.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
  return { regex: r.regex, replacement };
}

/**
 * Replaces the part of `path` matched by a prefix matcher with `rewrite` (Envoy's
 * prefix_rewrite). For exact/regex matchers the whole path is the matched part.
 */
export function applyPrefixRewrite(match: PathMatchModel, path: string, rewrite: string): string {
  if (match.kind === 'prefix' || match.kind === 'path_separated_prefix') {
    return rewrite + path.slice(match.value.length);
  }
  return rewrite;
}

/** Applies a regex rewrite to a path (every match, as Envoy does). */
export function applyRegexRewrite(r: CompiledRegexRewrite, path: string): string {
  return r.regex.replaceAll(path, r.replacement);
}

/** Builds a HeaderMutation; values that are empty are dropped unless keepEmptyValue (Envoy). */
export function headerMutation(add: readonly HeaderToAddModel[], remove: readonly string[]): HeaderMutation {
  return Object.freeze({
    set: Object.freeze(add.filter((h) => h.value !== '' || h.keepEmptyValue).map((h) => Object.freeze({ name: h.name.toLowerCase(), value: h.value, action: h.action }))),
    remove: Object.freeze(remove.map((n) => n.toLowerCase())),
  });
}

/** The empty mutation, shared. */
export const NO_HEADERS: HeaderMutation = headerMutation([], []);

/**
 * The Location of a redirect route (Envoy's Http::Utility::newUri): scheme, host, port and
 * path may each be replaced; the query is kept unless stripped or the new path carries its own.
 * As in Envoy's processRequestHost, the request's authority keeps its port unless a
 * port_redirect replaces it (or the scheme changes away from that port's default scheme);
 * a host_redirect replaces the whole authority, port included.
 */
export function redirectLocation(r: RedirectModel, match: PathMatchModel, req: RequestView, regex: CompiledRegexRewrite | undefined): string {
  const origScheme = req.info.port === 443 ? 'https' : 'http';
  const scheme = r.scheme ?? origScheme;
  let host = r.host;
  if (host === undefined) {
    const defaultOfOrig = origScheme === 'https' ? 443 : 80;
    host = r.port !== undefined || (scheme !== origScheme && req.info.port === defaultOfOrig) ? req.info.host : req.authority;
  }
  const port = r.port;
  const defaultPort = (scheme === 'https' && port === 443) || (scheme === 'http' && port === 80);
  let path = req.path;
  let query = r.stripQuery ? '' : req.query;
  if (r.path !== undefined) {
    path = r.path;
    const q = path.indexOf('?');
    if (q >= 0) {
      query = path.slice(q);
      path = path.slice(0, q);
    }
  } else if (r.prefixRewrite !== undefined) {
    path = applyPrefixRewrite(match, req.path, r.prefixRewrite);
  } else if (regex) {
    path = applyRegexRewrite(regex, req.path);
  }
  const authority = port === undefined || defaultPort ? host : `${host}:${port}`;
  return `${scheme}://${authority}${path}${query}`;
}
