/**
 * core.v3.CidrRange parsing and matching (Envoy's `Network::Address::CidrRange`): the address
 * is masked to its prefix, so `10.1.2.3/8` means `10.0.0.0/8`. An IPv4-mapped IPv6 peer
 * (`::ffff:10.1.2.3`, what a dual-stack Node socket reports) is matched as IPv4.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { CidrModel } from '../../core/model/index.js';

function v4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

function v6Bytes(s: string): number[] | undefined {
  let text = s;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = text.slice(lastColon + 1);
    if (!isIPv4(v4)) return undefined;
    const b = v4Bytes(v4);
    tail = [((b[0]! << 8) | b[1]!), ((b[2]! << 8) | b[3]!)];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const hi = parse(head);
  const lo = rest === undefined ? [] : parse(rest);
  const groups = rest === undefined ? hi : [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * Parses an address and prefix length into a {@link CidrModel}, or the reason it is invalid.
 *
 * @example
 * ```ts
 * parseCidr('10.0.0.0', 8); // { family: 4, bytes: [10, 0, 0, 0], prefixLen: 8, text: '10.0.0.0/8' }
 * ```
 */
export function parseCidr(address: string, prefixLen: number): CidrModel | string {
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0) return `address_prefix ${JSON.stringify(address)} is not an IP address`;
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) return `prefix_len ${prefixLen} is not in [0, ${max}]`;
  const bytes = family === 4 ? v4Bytes(address) : (v6Bytes(address) as number[]);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return { family, bytes, prefixLen, text: `${address}/${prefixLen}` };
}

/** A peer address as (family, bytes), IPv4-mapped IPv6 as IPv4; undefined when not an IP. */
export function addressBytes(address: string): { family: 4 | 6; bytes: number[] } | undefined {
  if (isIPv4(address)) return { family: 4, bytes: v4Bytes(address) };
  if (!isIPv6(address)) return undefined;
  const bytes = v6Bytes(address);
  if (!bytes) return undefined;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
}

/** True when `addr` (from {@link addressBytes}) lies in `cidr`. */
export function cidrContains(cidr: CidrModel, addr: { family: 4 | 6; bytes: readonly number[] } | undefined): boolean {
  if (!addr || addr.family !== cidr.family) return false;
  let bits = cidr.prefixLen;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr.bytes[i]! & mask) !== cidr.bytes[i]) return false;
  }
  return true;
}
