/**
 * SPIFFE IDs as the SPIFFE-ID standard defines them (spiffe/spiffe `standards/SPIFFE-ID.md`):
 * `spiffe://<trust domain>/<path>`, trust domain lowercase `[a-z0-9._-]` (≤ 255 bytes), path
 * segments `[A-Za-z0-9._-]`, no empty / `.` / `..` segments, no trailing slash, no percent
 * encoding, query, fragment, port or userinfo, ≤ 2048 bytes. Workload identities use Istio's path
 * shape `/ns/<namespace>/sa/<service account>`.
 */

/** Default trust domain, as in Istio. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

const PREFIX = 'spiffe://';
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
// Kubernetes names: a namespace is a DNS-1123 label, a service account a DNS-1123 subdomain.
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN_MAX = 253;

/** A parsed SPIFFE ID. */
export interface SpiffeId {
  trustDomain: string;
  /** The path, `''` for a trust domain's own ID, else starting with `/`. */
  path: string;
}

/** A workload identity `spiffe://<td>/ns/<namespace>/sa/<serviceAccount>`. */
export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** Why `text` is not a valid trust domain name, or `undefined` when it is. */
export function trustDomainProblem(text: string): string | undefined {
  if (text === '') return 'trust domain is empty';
  if (text.length > MAX_TRUST_DOMAIN_BYTES) return `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} characters`;
  if (!TRUST_DOMAIN.test(text)) return `trust domain "${text}" may contain only lowercase letters, digits, ".", "-" and "_"`;
  return undefined;
}

/**
 * Parses a SPIFFE ID; returns the reason as a string when it is not one.
 *
 * @example
 * ```ts
 * parseSpiffeId('spiffe://cluster.local/ns/default/sa/reviews'); // { trustDomain: 'cluster.local', path: '/ns/default/sa/reviews' }
 * parseSpiffeId('spiffe://Cluster.local/x');                     // 'trust domain "Cluster.local" may contain only …'
 * ```
 */
export function parseSpiffeId(text: string): SpiffeId | string {
  if (typeof text !== 'string') return 'SPIFFE ID must be a string';
  if (Buffer.byteLength(text) > MAX_ID_BYTES) return `SPIFFE ID is longer than ${MAX_ID_BYTES} bytes`;
  if (!text.startsWith(PREFIX)) return 'SPIFFE ID must start with "spiffe://" (lowercase scheme)';
  const rest = text.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem) return tdProblem;
  if (path === '') return { trustDomain, path };
  if (path === '/') return 'SPIFFE ID path must not end with "/"';
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') return 'SPIFFE ID path has an empty segment or a trailing "/"';
    if (segment === '.' || segment === '..') return 'SPIFFE ID path must not contain "." or ".." segments';
    if (!SEGMENT.test(segment)) return `SPIFFE ID path segment "${segment}" may contain only letters, digits, ".", "-" and "_"`;
  }
  return { trustDomain, path };
}

/** Why `name` is not a Kubernetes namespace name, or `undefined`. */
export function namespaceProblem(name: string): string | undefined {
  return DNS_LABEL.test(name) ? undefined : `namespace "${name}" must be a DNS-1123 label (lowercase letters, digits, "-"; ≤ 63 characters)`;
}

/** Why `name` is not a Kubernetes service account name, or `undefined`. */
export function serviceAccountProblem(name: string): string | undefined {
  if (name.length > 0 && name.length <= DNS_SUBDOMAIN_MAX && name.split('.').every((label) => DNS_LABEL.test(label))) return undefined;
  return `service account "${name}" must be a DNS-1123 subdomain (lowercase letters, digits, "-", "."; ≤ 253 characters)`;
}

/**
 * The SPIFFE ID of a workload, validating each part.
 *
 * @example
 * ```ts
 * workloadSpiffeId({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'reviews' });
 * // 'spiffe://cluster.local/ns/default/sa/reviews'
 * ```
 */
export function workloadSpiffeId(id: WorkloadIdentity): string {
  const problem = trustDomainProblem(id.trustDomain) ?? namespaceProblem(id.namespace) ?? serviceAccountProblem(id.serviceAccount);
  if (problem) throw new TypeError(problem);
  return `${PREFIX}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/**
 * Reads a workload SPIFFE ID (`/ns/<ns>/sa/<sa>`); returns the reason as a string otherwise.
 *
 * @example
 * ```ts
 * parseWorkloadSpiffeId('spiffe://cluster.local/ns/default/sa/reviews'); // { trustDomain, namespace: 'default', serviceAccount: 'reviews' }
 * ```
 */
export function parseWorkloadSpiffeId(text: string): WorkloadIdentity | string {
  const id = parseSpiffeId(text);
  if (typeof id === 'string') return id;
  const parts = id.path.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return `SPIFFE ID "${text}" is not a workload identity spiffe://<trust domain>/ns/<namespace>/sa/<service account>`;
  const namespace = parts[2]!;
  const serviceAccount = parts[4]!;
  const problem = namespaceProblem(namespace) ?? serviceAccountProblem(serviceAccount);
  if (problem) return problem;
  return { trustDomain: id.trustDomain, namespace, serviceAccount };
}
