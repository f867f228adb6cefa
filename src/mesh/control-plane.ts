/**
 * The control-plane address a mesh dials: checked at once (a malformed one is a
 * MESHLET_ERR_CONFIG error from createMesh, not a silent five-second wait), and, while the
 * mesh has never heard from it, why not: the first failed attempt is classified (refused, DNS,
 * not an xDS server, TLS) into one coded warning, and a request the mesh cannot route meanwhile
 * says so instead of failing with a bare ENOTFOUND.
 */
import { isIP } from 'node:net';
import { meshError, type MeshError, type MeshErrorCode } from '../errors.js';

/** grpc-js target schemes accepted besides `host:port` (grpc's naming doc). */
const GRPC_SCHEMES = /^(dns|ipv4|ipv6|unix|unix-abstract):/;

/**
 * Validates a control-plane address: `host:port`, `[v6]:port`, or a grpc-js target with a
 * scheme (`dns:///cp:15010`, `unix:/run/cp.sock`). Throws MESHLET_ERR_CONFIG with what is wrong.
 *
 * @example
 * ```ts
 * checkControlPlane('127.0.0.1:15010'); // ok
 * checkControlPlane('http://cp:15010'); // throws MESHLET_ERR_CONFIG: … use host:port, without http://
 * ```
 */
export function checkControlPlane(address: string): string {
  const bad = (why: string): never => {
    throw meshError('MESHLET_ERR_CONFIG', `controlPlane ${JSON.stringify(address)} is not a valid xDS address: ${why}`, { detail: { controlPlane: address } });
  };
  if (typeof address !== 'string' || address.trim() === '') bad('empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address) && !GRPC_SCHEMES.test(address)) bad('use host:port (e.g. 127.0.0.1:15010), without a URL scheme such as http://');
  if (GRPC_SCHEMES.test(address)) return address;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(address);
  if (!m) bad('expected host:port (e.g. 127.0.0.1:15010 or [::1]:15010)');
  const [, v6, host, portText] = m!;
  if (v6 !== undefined && isIP(v6) !== 6) bad(`${v6} is not an IPv6 address`);
  if (host !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(host) && isIP(host) === 0) bad(`${JSON.stringify(host)} is not a host name or IP address`);
  const port = Number(portText);
  if (!(port >= 1 && port <= 65535)) bad(`port ${portText} is out of range 1-65535`);
  return address;
}

/** Most control servers one mesh lists. */
const MAX_CONTROL_PLANES = 16;

/**
 * The control servers a mesh dials, in priority order: `controlPlane` as a list, or a string
 * that may be a comma list (`MESHLET_CONTROL_PLANE=a:15010,b:15010`); each checked by
 * {@link checkControlPlane}. Throws MESHLET_ERR_CONFIG for an empty list, more than 16, or a
 * repeated address.
 *
 * @example
 * ```ts
 * controlPlanes('cp-a:15010, cp-b:15010'); // ['cp-a:15010', 'cp-b:15010']
 * ```
 */
export function controlPlanes(option: string | readonly string[]): string[] {
  // A grpc-js target keeps its commas (`ipv4:10.0.0.1:15010,10.0.0.2:15010` is one target).
  if (typeof option === 'string' && (GRPC_SCHEMES.test(option) || !option.includes(','))) return [checkControlPlane(option)];
  const list = typeof option === 'string' ? option.split(',').map((s) => s.trim()).filter((s) => s !== '') : [...option];
  if (list.length === 0 || list.length > MAX_CONTROL_PLANES) {
    throw meshError('MESHLET_ERR_CONFIG', `controlPlane lists ${list.length} servers; give 1 to ${MAX_CONTROL_PLANES}`, { detail: { controlPlane: list.join(',') } });
  }
  const seen = new Set<string>();
  for (const a of list) {
    checkControlPlane(a);
    if (seen.has(a)) throw meshError('MESHLET_ERR_CONFIG', `controlPlane lists ${a} twice`, { detail: { controlPlane: list.join(',') } });
    seen.add(a);
  }
  return list;
}

/** Why an ADS attempt failed, as a code and a few words. */
export interface Unreachable {
  code: MeshErrorCode;
  reason: string;
}

/** Classifies the error of a failed ADS attempt (grpc-js status code and details). */
export function classifyAdsFailure(err: MeshError): Unreachable {
  const code = err.detail?.['code'];
  const details = `${String(err.detail?.['details'] ?? '')} ${err.message}`;
  if (/ECONNREFUSED/.test(details)) return { code: 'MESHLET_ERR_CONTROL_REFUSED', reason: 'connection refused' };
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(details)) return { code: 'MESHLET_ERR_CONTROL_DNS', reason: 'the host name does not resolve' };
  if (/SSL|TLS|certificate|handshake|self[- ]signed|unable to verify/i.test(details)) return { code: 'MESHLET_ERR_CONTROL_TLS', reason: 'the TLS handshake failed' };
  if (code === 12 || /Protocol error|Received HTTP status code|Bad status code|unexpected content-type/i.test(details)) {
    return { code: 'MESHLET_ERR_CONTROL_NOT_XDS', reason: 'it answers, but not as an xDS (ADS) server — an HTTP port such as the admin API (15014)?' };
  }
  return { code: 'MESHLET_ERR_CONTROL_UNREACHABLE', reason: String(err.detail?.['details'] ?? err.message) };
}

/**
 * Tracks whether a mesh has heard from its control plane, and why not: `why()` is undefined
 * once a response arrived, else a sentence naming the address (and the reason, after a failed
 * attempt). `onFirstFailure` runs once, for the first failed attempt before any response.
 */
export class ControlPlaneState {
  private answered = false;
  private failure: Unreachable | undefined;
  private warned = false;

  constructor(readonly address: string, private readonly onFirstFailure: (u: Unreachable) => void) {}

  /** A response arrived: the mesh has config (possibly empty). */
  answer(): void {
    this.answered = true;
  }

  /** An ADS attempt failed. */
  fail(err: MeshError): void {
    if (this.answered) return;
    this.failure = classifyAdsFailure(err);
    if (this.warned) return;
    this.warned = true;
    this.onFirstFailure(this.failure);
  }

  /** Why the mesh has no config, or undefined when it has heard from the control plane. */
  why(): string | undefined {
    if (this.answered) return undefined;
    return this.failure
      ? `the mesh has no configuration: the control plane at ${this.address} is unreachable (${this.failure.reason}; ${this.failure.code})`
      : `the mesh has no configuration yet: the control plane at ${this.address} has not answered`;
  }
}
