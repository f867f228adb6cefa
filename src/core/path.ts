/**
 * Request path normalization before route matching. A security requirement: without it a
 * request for `/public/../admin` would escape an `/admin` rule (Envoy's `normalize_path` +
 * `merge_slashes`, which Istio enables by default).
 */

const HEX = '0123456789ABCDEF';

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e // - . _ ~
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes %-escapes of unreserved characters (RFC 3986 §6.2.2.2) and upper-cases the hex of the
 * others. `%2F` stays encoded (Istio's default keeps escaped slashes unchanged), and `\` becomes
 * `/` as Envoy's URL canonicalizer does.
 */
function decodeUnreserved(path: string): string {
  if (path.indexOf('%') < 0 && path.indexOf('\\') < 0) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x5c) {
      out += '/';
      continue;
    }
    if (c === 0x25 && i + 2 < path.length) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const code = hi * 16 + lo;
        out += isUnreserved(code) ? String.fromCharCode(code) : `%${HEX[hi]}${HEX[lo]}`;
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

/** RFC 3986 §5.2.4 remove_dot_segments, on a path whose slashes are already merged. */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is '' for an absolute path.
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === segments.length - 1) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}

/**
 * Normalizes the path part of a request target (no query): decode unreserved escapes, merge
 * repeated slashes, remove dot segments. Always returns an absolute path.
 *
 * @example
 * ```ts
 * normalizePath('/a/../admin');     // "/admin"
 * normalizePath('/%2e%2e/admin');   // "/admin"
 * normalizePath('//x//y');          // "/x/y"
 * ```
 */
export function normalizePath(path: string): string {
  let p = decodeUnreserved(path);
  if (!p.startsWith('/')) p = `/${p}`;
  if (p.includes('//')) p = p.replace(/\/{2,}/g, '/');
  if (p.includes('/.')) p = removeDotSegments(p);
  return p;
}

/** Splits `/a/b?x=1` into the path and the query (with its `?`, or ''). Fragments are dropped. */
export function splitPathQuery(target: string): { path: string; query: string } {
  const hash = target.indexOf('#');
  const t = hash >= 0 ? target.slice(0, hash) : target;
  const q = t.indexOf('?');
  return q < 0 ? { path: t, query: '' } : { path: t.slice(0, q), query: t.slice(q) };
}

/** True for a %-escape that is not two hex digits, or a NUL (raw or escaped): Envoy answers 400. */
function malformed(path: string): boolean {
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
    if (i + 2 >= path.length) return true;
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0 || (hi === 0 && lo === 0)) return true;
  }
  return path.includes('\u0000');
}

/**
 * Splits and normalizes an inbound request target: the normalized path, the raw query without
 * `?`, the fragment dropped; `undefined` when the path is malformed (bad escape, NUL), which an
 * inbound server answers with 400.
 *
 * @example
 * ```ts
 * normalizeTarget('/a/./b//c?x=1'); // { path: '/a/b/c', query: 'x=1' }
 * normalizeTarget('/a%zz');         // undefined
 * ```
 */
export function normalizeTarget(target: string): { path: string; query: string } | undefined {
  const { path, query } = splitPathQuery(target);
  if (malformed(path)) return undefined;
  return { path: normalizePath(path), query: query ? query.slice(1) : '' };
}
