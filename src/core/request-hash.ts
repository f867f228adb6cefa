/**
 * Route hash policies → one request hash (Envoy's HashPolicy): policies are evaluated in order,
 * hashes of those that produce a value are combined, and a terminal policy that produced a value
 * stops the evaluation. No value at all → NaN (the balancer then uses a random hash).
 * Envoy's cookie policy with a TTL would also generate the cookie; meshlet does not (yet).
 */
import type { HashPolicyModel } from '../xds/model.js';
import { combineHash, hash53 } from './hash.js';
import type { RequestView } from './request.js';

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function policyValue(p: HashPolicyModel, req: RequestView): string | undefined {
  switch (p.kind) {
    case 'header':
      return req.header(p.name.toLowerCase());
    case 'cookie':
      return cookieValue(req.header('cookie'), p.name);
    case 'connection':
      return p.sourceIp ? req.info.sourceIp : undefined;
    case 'query_parameter':
      return req.queryParam(p.name);
  }
}

/** The request hash, or NaN when no policy produced a value. */
export function requestHash(policies: readonly HashPolicyModel[], req: RequestView): number {
  let h = NaN;
  for (const p of policies) {
    const v = policyValue(p, req);
    if (v === undefined) continue;
    const ph = hash53(v);
    h = Number.isNaN(h) ? ph : combineHash(h, ph);
    if (p.terminal) break;
  }
  return h;
}
