// A scripted Engine for testing the HTTP adapter alone: each test says what route() returns and
// records what the adapter reported back (attempts, outcomes, admissions).
import type {
  AttemptOutcome, CallPlan, Engine, HeaderMutation, RequestInfo, RetryPlan, RouteResult, UpstreamEndpoint,
} from '../../src/core/types.js';

export const NO_MUTATION: HeaderMutation = { set: [], remove: [] };

export function endpoint(port: number, address = '127.0.0.1'): UpstreamEndpoint {
  return { key: `${address}:${port}`, address, port, labels: {}, locality: { region: '', zone: '', subZone: '' } };
}

export interface FakeLog {
  started: string[];
  ended: Array<{ endpoint: string; outcome: AttemptOutcome }>;
  admitted: number;
  released: number;
  retrySlots: number;
  retryReleased: number;
}

export function retryPlan(over: Partial<RetryPlan> & { on?: string[] } = {}): RetryPlan {
  const retryOn = new Set(over.on ?? ['5xx', 'connect-failure', 'reset']);
  return {
    retryOn,
    numRetries: over.numRetries ?? 2,
    ...(over.perTryTimeoutMs !== undefined ? { perTryTimeoutMs: over.perTryTimeoutMs } : {}),
    retriableStatusCodes: over.retriableStatusCodes ?? new Set(),
    retryNonIdempotent: over.retryNonIdempotent ?? false,
    hedgeOnPerTryTimeout: over.hedgeOnPerTryTimeout ?? false,
    hedges: over.hedges ?? ((idempotent: boolean) => (over.hedgeOnPerTryTimeout ?? false) && idempotent),
    backoffMs: over.backoffMs ?? (() => 1),
    shouldRetry: over.shouldRetry ?? ((o: AttemptOutcome, idempotent: boolean) => {
      if (o.kind === 'connect-failure') return retryOn.has('connect-failure');
      if (!idempotent) return false;
      if (o.kind === 'response') return o.status >= 500 && retryOn.has('5xx');
      if (o.kind === 'reset') return retryOn.has('reset');
      return retryOn.has('5xx');
    }),
  };
}

/** Builds a CallPlan over fixed endpoints (round robin, skipping tried ones when possible). */
export function plan(endpoints: UpstreamEndpoint[], log: FakeLog, over: Partial<CallPlan> & { maxActive?: number; retryBudget?: number } = {}): CallPlan {
  let rr = 0;
  let active = 0;
  let retries = 0;
  return {
    routeName: 'r', clusterName: 'c', requestHeaders: NO_MUTATION, responseHeaders: NO_MUTATION, mirrors: [],
    ...over,
    admit: over.admit ?? (() => {
      if (over.maxActive !== undefined && active >= over.maxActive) return { ok: false, flag: 'UO' };
      active++;
      log.admitted++;
      return { ok: true, release: () => { active--; log.released++; } };
    }),
    admitRetry: over.admitRetry ?? (() => {
      if (over.retryBudget !== undefined && retries >= over.retryBudget) return { ok: false, flag: 'URX' };
      retries++;
      log.retrySlots++;
      return { ok: true, release: () => { retries--; log.retryReleased++; } };
    }),
    pick: over.pick ?? ((tried) => {
      if (endpoints.length === 0) return undefined;
      for (let i = 0; i < endpoints.length; i++) {
        const ep = endpoints[(rr + i) % endpoints.length] as UpstreamEndpoint;
        if (!tried?.includes(ep)) { rr = (rr + i + 1) % endpoints.length; return ep; }
      }
      return endpoints[rr++ % endpoints.length];
    }),
    startAttempt: (ep) => void log.started.push(ep.key),
    endAttempt: (ep, outcome) => void log.ended.push({ endpoint: ep.key, outcome }),
  };
}

export function newLog(): FakeLog {
  return { started: [], ended: [], admitted: 0, released: 0, retrySlots: 0, retryReleased: 0 };
}

/** An Engine whose route() is whatever the test sets. */
export class FakeEngine implements Engine {
  version = 1;
  next: (req: RequestInfo) => RouteResult = () => ({ kind: 'passthrough' });
  mirrorTargets = new Map<string, UpstreamEndpoint>();
  seen: RequestInfo[] = [];

  route(request: RequestInfo): RouteResult {
    this.seen.push(request);
    return this.next(request);
  }

  pickFrom(clusterName: string): UpstreamEndpoint | undefined {
    return this.mirrorTargets.get(clusterName);
  }

  knowsHost(): boolean {
    return true;
  }

  onUpdate(): { dispose(): void } {
    return { dispose() {} };
  }
}
