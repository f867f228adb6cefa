import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { meshError, type MeshErrorCode } from '../errors.js';

/** Limits and access rules of the admin API. */
export interface AdminLimits {
  /** Largest request body, bytes. Default 3 MiB (kube-apiserver's default request body limit). */
  maxBodyBytes: number;
  /** Requests served at once; more answer 503. Default 64. */
  maxConcurrentRequests: number;
  /** Requests with a body (writes) served at once; more answer 503. Default 4. */
  maxConcurrentWrites: number;
}

export const DEFAULT_ADMIN_LIMITS: Readonly<AdminLimits> = Object.freeze({
  maxBodyBytes: 3 * 1024 * 1024,
  maxConcurrentRequests: 64,
  maxConcurrentWrites: 4,
});

/** Media types a write may carry. Each needs a CORS preflight, so a web page cannot send one blind. */
const WRITE_TYPES = new Set(['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** `x-meshlet-file` is a label for diagnostics: printable ASCII (no control characters to forge log lines). */
const LABEL = /^[\x20-\x7e]+$/;
const MAX_LABEL = 256;

/** An admin API refusal: HTTP status + coded message. */
export class AdminRefusal extends Error {
  constructor(readonly status: number, readonly code: MeshErrorCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Who may use the admin API, checked before any route runs:
 *
 * - a token (`Authorization: Bearer …`) on every route but `/healthz` and the dashboard's page
 *   `GET /` (a static shell holding no data: its script asks for the token and sends it as
 *   this header) when one is configured, and one must be configured whenever the API listens
 *   beyond loopback;
 * - on loopback without a token, `Host` must name loopback (a DNS-rebinding page sends its
 *   own host name), and an `Origin` must be the API's own: browsers send it on cross-site
 *   requests, so a web page cannot drive the API;
 * - writes need a JSON or YAML `Content-Type` (not `text/plain`, which a page may POST
 *   cross-site without a preflight).
 *
 * @example
 * ```ts
 * const guard = new AdminGuard({ host: '0.0.0.0', token: process.env.MESHLET_ADMIN_TOKEN });
 * guard.check(req); // throws AdminRefusal
 * ```
 */
export class AdminGuard {
  private readonly token: Buffer | undefined;
  private readonly loopback: boolean;

  /** Throws MESHLET_ERR_CONFIG when `host` is beyond loopback and no token is given. */
  constructor(options: { host: string; token?: string | undefined }) {
    this.loopback = isLoopback(options.host);
    if (options.token !== undefined && options.token.length < 16) {
      throw meshError('MESHLET_ERR_CONFIG', 'the admin token must be at least 16 characters');
    }
    if (!this.loopback && options.token === undefined) {
      throw meshError('MESHLET_ERR_CONFIG', `the admin API would listen on ${options.host}, beyond loopback, without a token: set adminToken (--admin-token or MESHLET_ADMIN_TOKEN), or bind 127.0.0.1`);
    }
    this.token = options.token !== undefined ? Buffer.from(options.token) : undefined;
  }

  check(req: IncomingMessage, path: string): void {
    const method = req.method ?? 'GET';
    if (this.token && !(method === 'GET' && (path === '/healthz' || path === '/'))) this.checkToken(req);
    const host = req.headers.host ?? '';
    if (!this.token && !isLoopback(hostName(host))) {
      throw new AdminRefusal(403, 'MESHLET_ERR_ADMIN_AUTH', `Host "${host.slice(0, 100)}" is not a loopback address (the admin API listens on loopback only)`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host)) {
      throw new AdminRefusal(403, 'MESHLET_ERR_ADMIN_AUTH', `cross-origin request from ${origin.slice(0, 100)} refused`);
    }
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!WRITE_TYPES.has(type)) {
        throw new AdminRefusal(415, 'MESHLET_ERR_ADMIN_REQUEST', `writes need Content-Type application/yaml or application/json, got "${type.slice(0, 100) || 'none'}"`);
      }
    }
  }

  private checkToken(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '');
    const ok = this.token !== undefined && given.length === this.token.length && timingSafeEqual(given, this.token);
    if (!ok) throw new AdminRefusal(401, 'MESHLET_ERR_ADMIN_AUTH', 'missing or wrong admin token (Authorization: Bearer <token>)', { 'www-authenticate': 'Bearer' });
  }
}

/** Source label of resources applied with `x-meshlet-file: LABEL`: `admin:LABEL`, never a file path. */
export function applyLabel(header: string | string[] | undefined): string {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw === '') return 'admin:apply';
  if (!LABEL.test(raw)) throw new AdminRefusal(400, 'MESHLET_ERR_ADMIN_REQUEST', 'x-meshlet-file must be printable ASCII (it is a label)');
  return `admin:${raw.slice(0, MAX_LABEL)}`;
}

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon > 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === host.toLowerCase();
  } catch {
    return false;
  }
}
