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

/** Why {@link canonicalRequestPath} refused a request target (each is a 400 as in Envoy). */
export type PathRejection = 'nul' | 'control-character' | 'bad-escape' | 'not-absolute' | 'too-long';

/** Longest request target accepted (Envoy's default max request headers size is 60 KiB). */
export const MAX_PATH_LENGTH = 8192;

/**
 * The strict normalization an inbound request gets before authorization, and the path the app
 * then receives, so a policy and the app's router never read one request two ways. Istio's
 * `DECODE_AND_MERGE_SLASHES` (`pathNormalization` in MeshConfig), i.e. Envoy's HCM with
 * `path_with_escaped_slashes_action: UNESCAPE_AND_FORWARD`, `normalize_path` and
 * `merge_slashes`, in Envoy's order (`ConnectionManagerUtility::maybeNormalizePath`): the
 * fragment is dropped, `%2F`/`%5C` (any case) and `\` become `/`, unreserved escapes are
 * decoded and the others upper-cased (`%25` is never decoded twice), dot segments are removed
 * (RFC 3986 §5.2.4), then repeated slashes merge. A NUL (raw or `%00`), another control
 * character or a malformed escape is refused.
 *
 * @example
 * ```ts
 * canonicalRequestPath('/a/..%2Fadmin?x=1'); // { ok: true, path: '/admin', query: 'x=1' }
 * canonicalRequestPath('/a%00b');            // { ok: false, reason: 'nul' }
 * ```
 */
export function canonicalRequestPath(target: string): { ok: true; path: string; query: string } | { ok: false; reason: PathRejection } {
  if (target.length > MAX_PATH_LENGTH) return { ok: false, reason: 'too-long' };
  const hash = target.indexOf('#');
  const t = hash >= 0 ? target.slice(0, hash) : target;
  const q = t.indexOf('?');
  const raw = q < 0 ? t : t.slice(0, q);
  const query = q < 0 ? '' : t.slice(q + 1);
  if (!raw.startsWith('/') && !raw.startsWith('\\')) return { ok: false, reason: 'not-absolute' };
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0) return { ok: false, reason: 'nul' };
    if (c < 0x20 || c === 0x7f) return { ok: false, reason: 'control-character' };
    if (c === 0x5c) {
      out += '/';
      continue;
    }
    if (c !== 0x25) {
      out += raw[i];
      continue;
    }
    const hi = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
    const lo = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 2)) : -1;
    if (hi < 0 || lo < 0) return { ok: false, reason: 'bad-escape' };
    const code = hi * 16 + lo;
    if (code === 0) return { ok: false, reason: 'nul' };
    if (code === 0x2f || code === 0x5c) out += '/';
    else out += isUnreserved(code) ? String.fromCharCode(code) : `%${HEX[hi]}${HEX[lo]}`;
    i += 2;
  }
  if (out.includes('/.')) out = removeDotSegments(out);
  if (out.includes('//')) out = out.replace(/\/{2,}/g, '/');
  return { ok: true, path: out, query };
}

/**
 * Splits and normalizes an inbound request target: the normalized path, the raw query without
 * `?`, the fragment dropped; `undefined` when the path is malformed (bad escape, NUL, control
 * character), which an inbound server answers with 400. The form is {@link canonicalRequestPath}
 * (escaped slashes decoded, as Istio's DECODE_AND_MERGE_SLASHES), so the authorization policy
 * and the app read one path.
 *
 * @example
 * ```ts
 * normalizeTarget('/a/./b//c?x=1'); // { path: '/a/b/c', query: 'x=1' }
 * normalizeTarget('/a%zz');         // undefined
 * ```
 */
export function normalizeTarget(target: string): { path: string; query: string } | undefined {
  const r = canonicalRequestPath(target);
  return r.ok ? { path: r.path, query: r.query } : undefined;
}
