/**
 * A per-request view for matching and hashing: the normalized path is computed once, header
 * values are joined lazily (Envoy joins repeated headers with ','), the query is parsed only if
 * a matcher or hash policy asks for it.
 */
import type { RequestInfo } from './types.js';
import { normalizePath } from './path.js';

/** Lower-case header lookup, including the `:method`, `:authority`, `:path` pseudo headers. */
export class RequestView {
  /** Normalized path without query: what path matchers see. */
  readonly path: string;
  /** The query with its leading `?`, or ''. */
  readonly query: string;
  /** The path as sent, without the query. */
  readonly rawPath: string;
  private params: Map<string, string> | undefined;
  private hostPort: string | undefined;

  constructor(readonly info: RequestInfo) {
    // splitPathQuery without its result object: this runs for every routed request.
    const target = info.path;
    let end = target.indexOf('#');
    if (end < 0) end = target.length;
    const q = target.indexOf('?');
    if (q >= 0 && q < end) {
      this.rawPath = target.slice(0, q);
      this.query = target.slice(q, end);
    } else {
      this.rawPath = end === target.length ? target : target.slice(0, end);
      this.query = '';
    }
    this.path = normalizePath(this.rawPath);
  }

  /** `host:port` as the caller addressed it (built on first use: most requests never ask). */
  get authority(): string {
    return (this.hostPort ??= this.info.port === 80 || this.info.port === 443 ? this.info.host : `${this.info.host}:${this.info.port}`);
  }

  /** The header's value, repeated values joined with ','; undefined when absent. */
  header(name: string): string | undefined {
    switch (name) {
      case ':method':
        return this.info.method;
      case ':authority':
      case 'host':
        return join(this.info.headers[':authority'] ?? this.info.headers.host) ?? this.authority;
      case ':path':
        return this.info.path;
      case ':scheme':
        return join(this.info.headers[':scheme']) ?? (this.info.port === 443 ? 'https' : 'http');
      default:
        return join(this.info.headers[name]);
    }
  }

  /** The first value of a query parameter (percent-decoded), undefined when absent. */
  queryParam(name: string): string | undefined {
    if (this.params === undefined) this.params = parseQuery(this.query);
    return this.params.get(name);
  }

  /** Whether the request is gRPC (content-type application/grpc*), for `grpc: {}` matchers. */
  isGrpc(): boolean {
    return this.header('content-type')?.startsWith('application/grpc') === true;
  }
}

function join(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s; // malformed escapes are matched literally rather than failing the request
  }
}

function parseQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (query.length <= 1) return out;
  for (const part of query.slice(1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(key)) out.set(key, eq < 0 ? '' : decode(part.slice(eq + 1)));
  }
  return out;
}
