/**
 * Small pieces of the upstream side of a routed call: Envoy's local-reply bodies, body
 * replayability, endpoint origins, and mirroring (fire-and-forget shadow copies).
 */
import type { Dispatcher } from 'undici';
import type { Engine } from '../core/types.js';
import { DISCARD } from './attempt.js';
import { shadowHost, type HeaderRecord } from './headers.js';

/** Envoy's local-reply bodies, so callers and dashboards see familiar text. */
export const LOCAL_REPLY = {
  overflow: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  connectFailure: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  reset: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  noHealthyUpstream: 'no healthy upstream',
  timeout: 'upstream request timeout',
  faultAbort: 'fault filter abort',
  noRoute: '',
} as const;

/**
 * Whether a request body can be sent again (retries, mirrors): absent, a string or bytes.
 * Streams and async iterables are consumed by the first attempt.
 *
 * @example
 * ```ts
 * replayable('{"a":1}'); // true
 * replayable(fs.createReadStream('big.bin')); // false
 * ```
 */
export function replayable(body: unknown): boolean {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/** `http://address:port`, IPv6 in brackets. */
export function upstreamOrigin(address: string, port: number): string {
  return address.includes(':') ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

/**
 * Fire-and-forget copies of a (replayable) request to each mirror cluster, Host
 * `<host>-shadow` (Envoy); responses are discarded and errors swallowed, so a mirror never
 * delays or fails the main request.
 *
 * @example
 * ```ts
 * sendMirrors(agent, engine, plan.mirrors, { opts, upstreamPath: '/x', headers: { host: 'reviews:9080' }, host: 'reviews' });
 * ```
 */
export function sendMirrors(
  agent: Dispatcher,
  engine: Engine,
  clusters: readonly string[],
  req: { readonly opts: Dispatcher.DispatchOptions; readonly upstreamPath: string; readonly headers: HeaderRecord; readonly host: string },
): void {
  const host = req.headers['host'];
  const headers: HeaderRecord = { ...req.headers, host: shadowHost(typeof host === 'string' ? host : req.host) };
  for (const cluster of clusters) {
    try {
      const ep = engine.pickFrom(cluster);
      if (ep) agent.dispatch({ ...req.opts, origin: upstreamOrigin(ep.address, ep.port), path: req.upstreamPath, headers }, DISCARD);
    } catch {
      // a mirror never fails the main request
    }
  }
}
