import * as grpc from '@grpc/grpc-js';
import { meshError, type MeshErrorCode } from '../errors.js';
import type { DiscoveryRequest } from '../xds/wire/discovery-request.js';
import type { DeltaRequest } from '../xds/wire/delta.js';

/** Limits the ADS server puts on each connection, stream and request. */
export interface AdsLimits {
  /** Largest DiscoveryRequest accepted, bytes (grpc-go's and grpc-js' default receive limit). Default 4 MiB. */
  maxMessageBytes: number;
  /** Concurrent HTTP/2 streams per connection (the RFC 9113 §6.5.2 floor; a client needs one ADS stream). Default 100. */
  maxStreamsPerConnection: number;
  /** resource_names in one request; on an incremental stream also the names subscribed per type. Default 10 000. */
  maxResourceNames: number;
  /** Node `metadata`, measured as JSON, bytes. Default 64 KiB. */
  maxNodeMetadataBytes: number;
  /** Sustained requests per second per stream (token bucket refill). Default 200. */
  requestsPerSecond: number;
  /** Requests a stream may send in one burst (bucket size). Default 1000. */
  requestBurst: number;
}

/**
 * Defaults of {@link AdsLimits}. grpc has no per-request name, metadata or rate limit, and neither
 * has istiod, so these are meshlet's: far above what a client does (one request per type per
 * push, at most 4 types × 50 debounced pushes/s = 200/s under constant churn), far below what
 * costs the server hundreds of MB.
 */
export const DEFAULT_ADS_LIMITS: Readonly<AdsLimits> = Object.freeze({
  maxMessageBytes: 4 * 1024 * 1024,
  maxStreamsPerConnection: 100,
  maxResourceNames: 10_000,
  maxNodeMetadataBytes: 64 * 1024,
  requestsPerSecond: 200,
  requestBurst: 1000,
});

/** A stream the server ends with a gRPC status and a coded message. */
export class StreamRefusal extends Error {
  constructor(readonly status: grpc.status, readonly code: MeshErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}

/**
 * Per-stream admission of DiscoveryRequests: names per request, node metadata size, and a
 * token bucket on the request rate. `check` throws {@link StreamRefusal}; the server ends the
 * stream with RESOURCE_EXHAUSTED and the client reconnects after its backoff.
 *
 * @example
 * ```ts
 * const guard = new RequestGuard(DEFAULT_ADS_LIMITS);
 * guard.check(request); // throws StreamRefusal over a limit
 * ```
 */
export class RequestGuard {
  private tokens: number;
  private last: number;

  constructor(private readonly limits: AdsLimits, private readonly now: () => number = Date.now) {
    this.tokens = limits.requestBurst;
    this.last = now();
  }

  check(req: DiscoveryRequest): void {
    this.admit(req.resourceNames.length, req.node, 'resource_names');
  }

  /** The same bounds for an incremental request: its subscribe, unsubscribe and initial version lists count as names. */
  checkDelta(req: DeltaRequest): void {
    this.admit(Math.max(req.subscribe.length, req.unsubscribe.length, req.initialVersions.size), req.node, 'resource_names_subscribe/unsubscribe/initial_resource_versions');
  }

  private admit(names: number, node: Record<string, unknown> | undefined, field: string): void {
    const t = this.now();
    this.tokens = Math.min(this.limits.requestBurst, this.tokens + ((t - this.last) / 1000) * this.limits.requestsPerSecond);
    this.last = t;
    if (this.tokens < 1) {
      throw new StreamRefusal(grpc.status.RESOURCE_EXHAUSTED, 'MESHLET_ERR_XDS_LIMIT', `more than ${this.limits.requestsPerSecond} requests/s (burst ${this.limits.requestBurst}) on one stream`);
    }
    this.tokens -= 1;
    if (names > this.limits.maxResourceNames) {
      throw new StreamRefusal(grpc.status.RESOURCE_EXHAUSTED, 'MESHLET_ERR_XDS_LIMIT', `${field}: ${names} names, the limit is ${this.limits.maxResourceNames} per request`);
    }
    const metadata = node?.['metadata'];
    if (metadata !== undefined && metadata !== null) {
      const size = jsonSize(metadata, this.limits.maxNodeMetadataBytes);
      if (size > this.limits.maxNodeMetadataBytes) {
        throw new StreamRefusal(grpc.status.RESOURCE_EXHAUSTED, 'MESHLET_ERR_XDS_LIMIT', `node.metadata: over ${this.limits.maxNodeMetadataBytes} bytes`);
      }
    }
  }
}

/** JSON size of `value`, stopping once it passes `cap` (the value is already bounded by the message size). */
function jsonSize(value: unknown, cap: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= cap) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      size += 2;
      for (const [k, x] of Object.entries(v)) {
        size += k.length + 4;
        stack.push(x);
      }
    } else size += String(v).length;
  }
  return size;
}

/** Resolves every limit: defaults overlaid by the caller's, each checked to be a positive integer. */
export function resolveAdsLimits(partial: Partial<AdsLimits> | undefined): AdsLimits {
  const out = { ...DEFAULT_ADS_LIMITS, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw meshError('MESHLET_ERR_CONFIG', `adsLimits.${k} must be a positive integer, got ${String(v)}`);
  }
  return out;
}
