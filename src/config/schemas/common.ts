/**
 * Building blocks shared by the per-kind schemas: StringMatch, Destination, Percent, selectors,
 * header operations, and the host/name/address validators Istio applies.
 */
import { isIP } from 'node:net';
import { arrayOf, bool, int, mapOf, moveMark, obj, percentNumber, port, report, str, type Schema, type WalkContext } from '../schema.js';
import { joinPath } from '../schema.js';
import { regexProblem as re2Problem } from '../../internal/regex.js';

// ---------------------------------------------------------------- validators (return a message)

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOST_LABEL = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;

/** RFC 1123 label (namespace, subset and port names). */
export function dnsLabelProblem(v: string): string | undefined {
  return DNS_LABEL.test(v) ? undefined : `${JSON.stringify(v)} is not a valid name: lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit`;
}

/** RFC 1123 subdomain (resource names). */
export function dnsSubdomainProblem(v: string): string | undefined {
  const ok = v.length > 0 && v.length <= 253 && v.split('.').every((l) => DNS_LABEL.test(l));
  return ok ? undefined : `${JSON.stringify(v)} is not a valid name: lower-case RFC 1123 subdomain (letters, digits, '-', '.'), at most 253 characters`;
}

/**
 * Istio's wildcard-domain check: `*`, `*.example.com`, or a DNS name (a short name like
 * `reviews` is fine: it is resolved against the namespace).
 */
export function hostProblem(v: string, options: { ip?: boolean; star?: boolean } = {}): string | undefined {
  if (v === '*') return options.star === false ? `host "*" is not allowed here` : undefined;
  if (options.ip && isIP(v)) return undefined;
  const rest = v.startsWith('*.') ? v.slice(2) : v;
  if (rest.length === 0 || v.length > 255 || !rest.split('.').every((l) => HOST_LABEL.test(l))) {
    return `invalid host ${JSON.stringify(v)}: expected a DNS name, "*.domain" or "*"`;
  }
  return undefined;
}

/** An IP address or CIDR block. */
export function cidrProblem(v: string): string | undefined {
  const [ip, bits, extra] = v.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || extra !== undefined) return `${JSON.stringify(v)} is not an IP address or CIDR block`;
  if (bits === undefined) return undefined;
  const n = Number(bits);
  const max = family === 4 ? 32 : 128;
  return /^\d+$/.test(bits) && n <= max ? undefined : `${JSON.stringify(v)} has an invalid prefix length (0..${max})`;
}

/**
 * Why a config regex is not valid RE2, Istio's regex engine (`(?=…)`, `\1`, `a{1001}` are
 * rejected; `(?s)`, `\pL`, `(?P<name>…)` accepted), or undefined. See src/internal/regex.ts.
 */
export function regexProblem(v: string): string | undefined {
  const problem = re2Problem(v);
  return problem === undefined ? undefined : `invalid regular expression ${JSON.stringify(v)} (RE2 syntax): ${problem}`;
}

// ---------------------------------------------------------------- schemas

/** `map<string,string>`, e.g. labels. */
export const stringMap: Schema = mapOf(str());

/** StringMatch: exactly one of exact, prefix, regex (regex must compile). */
export const stringMatch: Schema = obj({
  fields: { exact: str(), prefix: str(), regex: str({ check: regexProblem }) },
  oneOf: [{ fields: ['exact', 'prefix', 'regex'], required: true }],
});

/**
 * A header / query-parameter StringMatch, which Istio also accepts empty (`x-foo: {}`) or as
 * `regex: "*"` (not RE2: Istio's spelling of "present"); both become a presence match.
 */
export const presenceOrStringMatch: Schema = obj({
  fields: { exact: str(), prefix: str(), regex: str({ check: (v) => (v === '*' ? undefined : regexProblem(v)) }) },
  oneOf: [{ fields: ['exact', 'prefix', 'regex'] }],
});

/** Percent: `{ value: 0..100 }`. */
export const percentage: Schema = obj({ fields: { value: percentNumber() } });

/** PortSelector: `{ number }`. */
export const portSelector: Schema = obj({ fields: { number: port() } });

/** Destination: host (required, not `*`), subset, port. */
export const destination: Schema = obj({
  fields: {
    host: str({ nonEmpty: true, check: (v) => hostProblem(v, { star: false }) }),
    subset: str({ nonEmpty: true }),
    port: portSelector,
  },
  required: ['host'],
});

/** WorkloadSelector: `{ matchLabels }`. */
export const workloadSelector: Schema = obj({ fields: { matchLabels: stringMap } });

/** exportTo entries: `.`, `*`, `~` or a namespace name. */
export const exportTo: Schema = arrayOf(
  str({ check: (v) => (v === '.' || v === '*' || v === '~' ? undefined : dnsLabelProblem(v)) }),
);

const headerOperations: Schema = obj({
  fields: { set: stringMap, add: stringMap, remove: arrayOf(str({ nonEmpty: true })) },
});

/** Headers: request/response header operations. */
export const headers: Schema = obj({ fields: { request: headerOperations, response: headerOperations } });

/**
 * A non-negative integer that lands in a proto `int32` field (Istio's connection-pool limits,
 * retry attempts): larger values are rejected, never wrapped on the wire.
 */
export const int32 = (): Schema => int({ min: 0, max: 2_147_483_647 });
/** A non-negative integer that lands in a proto `uint32` / `UInt32Value` field. */
export const uint32 = (): Schema => int({ min: 0, max: 4_294_967_295 });

/** Boolean (re-exported for brevity in the kind schemas). */
export { bool };

// ---------------------------------------------------------------- normalization helpers

/**
 * Moves a deprecated integer percentage (`percent: N`) into `percentage: { value: N }` unless
 * `percentage` is also set (then, as in Istio, `percentage` wins). The deprecation warning was
 * already reported by the object schema.
 */
export function migratePercent(value: Record<string, unknown>, ctx: WalkContext, path: string, from: string, to: string): void {
  if (!(from in value)) return;
  if (!(to in value)) {
    value[to] = { value: value[from] };
    moveMark(ctx, joinPath(path, from), joinPath(path, to));
    moveMark(ctx, joinPath(path, from), `${joinPath(path, to)}.value`);
  }
  delete value[from];
}

/** Reports duplicates among `items[i][key]` as MESHLET_ERR_CONFIG_DUPLICATE at `path[i].key`. */
export function checkUnique(items: unknown, key: string, ctx: WalkContext, path: string, what: string): void {
  if (!Array.isArray(items)) return;
  const seen = new Map<unknown, number>();
  items.forEach((item, i) => {
    const v = (item as Record<string, unknown>)[key];
    if (v === undefined) return;
    const first = seen.get(v);
    if (first === undefined) seen.set(v, i);
    else report(ctx, `${path}[${i}].${key}`, 'MESHLET_ERR_CONFIG_DUPLICATE', `duplicate ${what} ${JSON.stringify(v)} (first defined at ${path}[${first}])`);
  });
}
