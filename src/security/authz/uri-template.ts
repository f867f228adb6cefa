/**
 * Envoy's uri_template path matcher (`envoy.path.match.uri_template`), the form Istio turns
 * `{*}` / `{**}` AuthorizationPolicy paths into (`pilot/pkg/security/authz/matcher/template.go`):
 * `*` is exactly one non-empty path segment, `**` (last only) is the rest of the path, possibly
 * empty, slashes included; both only over RFC 3986 pchar (Envoy's `[a-zA-Z0-9-._~%!$&'()+,;:@=]`).
 * Compiled into segment comparisons, no regex.
 */

const PCHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()+,;:@=") PCHAR[c.charCodeAt(0)] = 1;

function pchars(s: string, from: number, to: number, slash: boolean): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (PCHAR[c] === 0 && !(slash && c === 0x2f))) return false;
  }
  return true;
}

/**
 * Compiles a validated template (see `uriTemplateProblem` in xds/resources/rbac.ts).
 *
 * @example
 * ```ts
 * const m = compileUriTemplate('/api/*\/reviews/**');
 * m('/api/v1/reviews/1/2'); // true
 * m('/api/v1/x/reviews');   // false
 * ```
 */
export function compileUriTemplate(template: string): (path: string) => boolean {
  const segments = template.slice(1).split('/');
  const last = segments[segments.length - 1];
  const tail = last === '**';
  const fixed = tail ? segments.slice(0, -1) : segments;
  const star = template.indexOf('*');
  const literal = star < 0 ? template : template.slice(0, star);
  return (path) => {
    if (!path.startsWith(literal)) return false;
    let at = 1;
    for (let i = 0; i < fixed.length; i++) {
      const seg = fixed[i] as string;
      let end = path.indexOf('/', at);
      if (end < 0) end = path.length;
      const isLast = !tail && i === fixed.length - 1;
      if (isLast && end !== path.length) return false;
      if (seg === '*') {
        if (end === at || !pchars(path, at, end, false)) return false;
      } else if (end - at !== seg.length || !path.startsWith(seg, at)) {
        return false;
      }
      if (isLast) return true;
      if (end === path.length) return false;
      at = end + 1;
    }
    return tail ? pchars(path, at, path.length, true) : at > path.length;
  };
}
