/**
 * Reads the SNI name from a TLS ClientHello without terminating TLS: what Envoy's
 * `envoy.filters.listener.tls_inspector` does before a passthrough filter chain is chosen
 * (Envoy `source/extensions/filters/listener/tls_inspector/tls_inspector.cc`; the formats are
 * RFC 8446 §4.1.2 / §5.1 for the record layer and ClientHello, RFC 6066 §3 for server_name,
 * RFC 7301 §3.1 for ALPN).
 *
 * The parser is incremental and bounded: it is called with everything received so far and
 * answers `more` until a whole ClientHello is in (it may span several records), `hello` with
 * the SNI name and ALPN list, `not-tls` the moment the bytes cannot be a ClientHello (Envoy
 * then matches the connection as `raw_buffer`), or `too-large`. It never
 * looks past `maxBytes` (Envoy's `max_client_hello_size`, 64 KiB), never allocates more than the
 * handshake message, and never throws.
 */

/** What the bytes so far say. */
export type ClientHelloResult =
  | { readonly kind: 'more' }
  /** `serverName`: lower case, without a trailing dot; undefined when the client sent none. */
  | { readonly kind: 'hello'; readonly serverName: string | undefined; readonly alpn: readonly string[] }
  | { readonly kind: 'not-tls'; readonly reason: string }
  /** A handshake that does not fit in `maxBytes` (Envoy closes the connection: `client_hello_too_large`). */
  | { readonly kind: 'too-large' };

/** Envoy's default and maximum `max_client_hello_size`. */
export const MAX_CLIENT_HELLO = 64 * 1024;
/** RFC 8446 §5.1: a plaintext record fragment is at most 2^14 bytes. */
const MAX_RECORD = 1 << 14;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const MAX_ALPN = 32;

const MORE: ClientHelloResult = { kind: 'more' };
const notTls = (reason: string): ClientHelloResult => ({ kind: 'not-tls', reason });
const TOO_LARGE: ClientHelloResult = { kind: 'too-large' };

/**
 * Parses the ClientHello at the start of `data` (everything the client sent so far).
 *
 * @example
 * ```ts
 * const r = parseClientHello(buffered);
 * if (r.kind === 'hello') route(r.serverName);
 * else if (r.kind === 'not-tls') socket.destroy();
 * ```
 */
export function parseClientHello(data: Uint8Array, maxBytes = MAX_CLIENT_HELLO): ClientHelloResult {
  // Reassemble the handshake message from the records' fragments (RFC 8446 §5.1 lets a
  // handshake message span records; all of them must be handshake records).
  let at = 0;
  let need = -1; // handshake message length with its 4-byte header, once known
  const fragments: Uint8Array[] = [];
  let have = 0;
  while (need < 0 || have < need) {
    if (at + 5 > data.length) return data.length >= maxBytes ? TOO_LARGE : checkPrefix(data, at);
    const type = data[at]!;
    const major = data[at + 1]!;
    const len = (data[at + 3]! << 8) | data[at + 4]!;
    if (type !== HANDSHAKE) return notTls(at === 0 ? 'not a TLS handshake record' : 'ClientHello interrupted by another record type');
    if (major !== 3) return notTls('not a TLS record version');
    if (len === 0 || len > MAX_RECORD) return notTls('bad TLS record length');
    if (at + 5 + len > maxBytes) return TOO_LARGE;
    if (at + 5 + len > data.length) {
      // The header of the handshake message may already say it cannot fit.
      if (need < 0 && have === 0 && data.length >= at + 9) {
        const early = checkHandshakeHeader(data, at + 5, maxBytes);
        if (early) return early;
      }
      return MORE;
    }
    fragments.push(data.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need < 0 && have >= 4) {
      const head = concat(fragments, 4);
      if (head[0] !== CLIENT_HELLO) return notTls('first handshake message is not a ClientHello');
      const body = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
      if (body + 4 > maxBytes) return TOO_LARGE;
      need = body + 4;
    }
  }
  const msg = concat(fragments, need);
  return parseHelloBody(msg.subarray(4));
}

/** Rejects early a prefix whose first bytes already cannot start a ClientHello. */
function checkPrefix(data: Uint8Array, at: number): ClientHelloResult {
  if (at === 0 && data.length > 0) {
    if (data[0] !== HANDSHAKE) return notTls('not a TLS handshake record');
    if (data.length > 1 && data[1] !== 3) return notTls('not a TLS record version');
  }
  return MORE;
}

function checkHandshakeHeader(data: Uint8Array, at: number, maxBytes: number): ClientHelloResult | undefined {
  if (data[at] !== CLIENT_HELLO) return notTls('first handshake message is not a ClientHello');
  const body = (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
  return body + 4 > maxBytes ? TOO_LARGE : undefined;
}

function concat(parts: readonly Uint8Array[], n: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length >= n) return parts[0]!.subarray(0, n);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.length, n - at);
    out.set(p.subarray(0, take), at);
    at += take;
    if (at === n) break;
  }
  return out;
}

/** ClientHello body (after the 4-byte handshake header): RFC 8446 §4.1.2. */
function parseHelloBody(b: Uint8Array): ClientHelloResult {
  let at = 0;
  const need = (n: number): boolean => at + n <= b.length;
  if (!need(2 + 32)) return notTls('ClientHello truncated');
  if (b[0] !== 3) return notTls('bad ClientHello version');
  at += 2 + 32; // legacy_version, random
  if (!need(1)) return notTls('ClientHello truncated');
  const sid = b[at]!;
  if (sid > 32 || !need(1 + sid)) return notTls('bad session id');
  at += 1 + sid;
  if (!need(2)) return notTls('ClientHello truncated');
  const suites = (b[at]! << 8) | b[at + 1]!;
  if (suites < 2 || suites % 2 !== 0 || !need(2 + suites)) return notTls('bad cipher suites');
  at += 2 + suites;
  if (!need(1)) return notTls('ClientHello truncated');
  const comp = b[at]!;
  if (comp < 1 || !need(1 + comp)) return notTls('bad compression methods');
  at += 1 + comp;
  if (at === b.length) return { kind: 'hello', serverName: undefined, alpn: [] }; // no extensions (TLS 1.2 allows it)
  if (!need(2)) return notTls('ClientHello truncated');
  const extLen = (b[at]! << 8) | b[at + 1]!;
  at += 2;
  if (at + extLen !== b.length) return notTls('extensions length does not match the ClientHello');
  const seen = new Set<number>();
  let serverName: string | undefined;
  let alpn: string[] = [];
  while (at < b.length) {
    if (!need(4)) return notTls('extension truncated');
    const type = (b[at]! << 8) | b[at + 1]!;
    const len = (b[at + 2]! << 8) | b[at + 3]!;
    at += 4;
    if (!need(len)) return notTls('extension truncated');
    if (seen.has(type)) return notTls('duplicate extension'); // RFC 8446 §4.2
    seen.add(type);
    const ext = b.subarray(at, at + len);
    at += len;
    if (type === EXT_SERVER_NAME) {
      const r = serverNameOf(ext);
      if (typeof r === 'object') return r;
      serverName = r;
    } else if (type === EXT_ALPN) {
      const r = alpnOf(ext);
      if (!Array.isArray(r)) return r;
      alpn = r;
    }
  }
  return { kind: 'hello', serverName, alpn };
}

/** RFC 6066 §3 server_name: one host_name entry; the name as a DNS name, lower case. */
function serverNameOf(ext: Uint8Array): string | undefined | ClientHelloResult {
  if (ext.length === 0) return undefined; // a server's empty echo; tolerated
  if (ext.length < 2) return notTls('bad server_name extension');
  const listLen = (ext[0]! << 8) | ext[1]!;
  if (listLen + 2 !== ext.length) return notTls('bad server_name list length');
  let at = 2;
  let name: string | undefined;
  while (at < ext.length) {
    if (at + 3 > ext.length) return notTls('bad server_name entry');
    const type = ext[at]!;
    const len = (ext[at + 1]! << 8) | ext[at + 2]!;
    at += 3;
    if (at + len > ext.length) return notTls('bad server_name entry');
    if (type === 0) {
      if (name !== undefined) return notTls('more than one host_name in server_name');
      const n = hostName(ext.subarray(at, at + len));
      if (n === undefined) return notTls('server_name is not a DNS host name');
      name = n;
    }
    at += len;
  }
  return name;
}

/** Letters, digits, `-`, `_`, `.`; labels 1–63 bytes; 1–253 bytes without a trailing dot. */
function hostName(raw: Uint8Array): string | undefined {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 46) end--;
  if (end === 0 || end > 253) return undefined;
  let out = '';
  let label = 0;
  for (let i = 0; i < end; i++) {
    let c = raw[i]!;
    if (c >= 65 && c <= 90) c += 32;
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46;
    if (!ok) return undefined;
    if (c === 46) {
      if (label === 0) return undefined;
      label = 0;
    } else if (++label > 63) return undefined;
    out += String.fromCharCode(c);
  }
  return out;
}

/** RFC 7301 §3.1 protocol_name_list (at most {@link MAX_ALPN} names kept). */
function alpnOf(ext: Uint8Array): string[] | ClientHelloResult {
  if (ext.length < 2) return notTls('bad ALPN extension');
  const listLen = (ext[0]! << 8) | ext[1]!;
  if (listLen + 2 !== ext.length || listLen === 0) return notTls('bad ALPN list length');
  const out: string[] = [];
  let at = 2;
  while (at < ext.length) {
    const len = ext[at]!;
    if (len === 0 || at + 1 + len > ext.length) return notTls('bad ALPN protocol name');
    if (out.length < MAX_ALPN) out.push(Buffer.from(ext.buffer, ext.byteOffset + at + 1, len).toString('latin1'));
    at += 1 + len;
  }
  return out;
}
