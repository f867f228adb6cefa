import { BlockList, isIP } from 'node:net';
import { meshError, type MeshErrorCode } from '../errors.js';
import type { Announcement } from './model.js';

/** Bounds and networks an announced endpoint must respect. */
export interface AnnouncePolicyOptions {
  /**
   * CIDRs an announced address must fall in (e.g. `['10.0.0.0/8', '127.0.0.0/8']`). Default:
   * any unicast address. Link-local, multicast, unspecified and broadcast addresses are refused
   * either way: none of them reaches one instance (169.254.169.254 is the cloud metadata service).
   */
  networks?: readonly string[];
  /** Labels per announcement. Default 64. */
  maxLabels?: number;
  /** Ports per announcement. Default 64. */
  maxPorts?: number;
}

export const DEFAULT_MAX_ANNOUNCED_LABELS = 64;
export const DEFAULT_MAX_ANNOUNCED_PORTS = 64;

/** Kubernetes label bounds: a key is an optional DNS-subdomain prefix (253) + '/' + a name (63); a value is 63. */
const MAX_LABEL_KEY = 253 + 1 + 63;
const MAX_LABEL_VALUE = 63;
/** Service and namespace are DNS labels in the host name `<service>.<namespace>.svc.<suffix>`. */
const MAX_DNS_LABEL = 63;
const MAX_NODE_ID = 1024;

const NEVER: ReadonlyArray<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified ("this network")'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['255.255.255.255', 32, 'ipv4', 'broadcast'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

export type Rejection = { code: MeshErrorCode; message: string };

/**
 * Decides whether an announced endpoint may enter the registry. Rejections carry
 * MESHLET_ERR_ANNOUNCEMENT and the field at fault; the client still gets its config.
 *
 * @example
 * ```ts
 * const policy = new AnnouncePolicy({ networks: ['10.0.0.0/8'] });
 * policy.check(announcement); // undefined, or { code: 'MESHLET_ERR_ANNOUNCEMENT', message }
 * ```
 */
export class AnnouncePolicy {
  private readonly never: Array<{ list: BlockList; why: string }>;
  private readonly allowed: BlockList | undefined;
  private readonly networks: readonly string[];
  private readonly maxLabels: number;
  private readonly maxPorts: number;

  /** Throws MESHLET_ERR_CONFIG for a malformed CIDR or bound. */
  constructor(options: AnnouncePolicyOptions = {}) {
    this.never = NEVER.map(([net, prefix, type, why]) => {
      const list = new BlockList();
      list.addSubnet(net, prefix, type);
      return { list, why };
    });
    this.networks = options.networks ?? [];
    if (this.networks.length > 0) {
      this.allowed = new BlockList();
      for (const cidr of this.networks) addCidr(this.allowed, cidr);
    }
    this.maxLabels = bound(options.maxLabels, DEFAULT_MAX_ANNOUNCED_LABELS, 'maxLabels');
    this.maxPorts = bound(options.maxPorts, DEFAULT_MAX_ANNOUNCED_PORTS, 'maxPorts');
  }

  check(a: Announcement): Rejection | undefined {
    const reject = (message: string): Rejection => ({ code: 'MESHLET_ERR_ANNOUNCEMENT', message: `node ${a.nodeId.slice(0, 64)}: ${message}` });
    if (a.nodeId.length > MAX_NODE_ID) return reject(`node.id: longer than ${MAX_NODE_ID} characters`);
    if (a.service.length > MAX_DNS_LABEL) return reject(`service: longer than ${MAX_DNS_LABEL} characters`);
    if (a.namespace.length > MAX_DNS_LABEL) return reject(`namespace: longer than ${MAX_DNS_LABEL} characters`);
    const type = isIP(a.address);
    if (type === 0) return reject(`address "${a.address.slice(0, 64)}": not an IP address`);
    const family = type === 4 ? 'ipv4' : 'ipv6';
    for (const { list, why } of this.never) {
      if (list.check(a.address, family)) return reject(`address ${a.address}: ${why} addresses cannot be announced`);
    }
    if (this.allowed && !this.allowed.check(a.address, family)) {
      return reject(`address ${a.address}: outside the allowed networks (${this.networks.join(', ')})`);
    }
    const labels = Object.entries(a.labels);
    if (labels.length > this.maxLabels) return reject(`labels: ${labels.length} labels, the limit is ${this.maxLabels}`);
    for (const [k, v] of labels) {
      if (k.length > MAX_LABEL_KEY) return reject(`labels: key "${k.slice(0, 64)}…" longer than ${MAX_LABEL_KEY} characters`);
      if (v.length > MAX_LABEL_VALUE) return reject(`labels.${k.slice(0, 64)}: value longer than ${MAX_LABEL_VALUE} characters`);
    }
    if (a.ports.length > this.maxPorts) return reject(`ports: ${a.ports.length} ports, the limit is ${this.maxPorts}`);
    return undefined;
  }
}

function addCidr(list: BlockList, cidr: string): void {
  const [net, len, extra] = cidr.trim().split('/');
  const type = net ? isIP(net) : 0;
  const prefix = len === undefined ? (type === 4 ? 32 : 128) : Number(len);
  const max = type === 4 ? 32 : 128;
  if (type === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (len !== undefined && !/^\d{1,3}$/.test(len))) {
    throw meshError('MESHLET_ERR_CONFIG', `announce network "${cidr}" is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)`);
  }
  list.addSubnet(net!, prefix, type === 4 ? 'ipv4' : 'ipv6');
}

function bound(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw meshError('MESHLET_ERR_CONFIG', `announce policy ${name} must be a positive integer, got ${String(value)}`);
  return value;
}
