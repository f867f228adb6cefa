// A CallObserver that writes each event of each call as a line, for order assertions.
import type { CallObserver, ObservedCall } from '../../src/core/observer.js';
import { subsetOf } from '../../src/core/observer.js';

export interface ObservedLog {
  observer: CallObserver<number>;
  /** Per call (by onStart order): its event lines. */
  calls: string[][];
  /** The call objects' fields read in onEnd, per call. */
  ends: Array<{ route: string; cluster: string; subset: string; endpoint: string | undefined; labels: Record<string, string> | undefined; status: number; grpcStatus: number | undefined; flags: string[]; attempts: number; protocol: string; durationMs: number; responseBytes: number }>;
}

export function observerLog(filter: (call: ObservedCall) => boolean = () => true): ObservedLog {
  const log: ObservedLog = { observer: undefined as never, calls: [], ends: [] };
  log.observer = {
    onStart: (call) => {
      if (!filter(call)) return -1;
      log.calls.push([`start ${call.protocol} ${call.method} ${call.authority}${call.path}`]);
      return log.calls.length - 1;
    },
    onAttempt: (id, _call, n, endpoint) => {
      if (id >= 0) log.calls[id]!.push(`attempt ${n} ${endpoint.key}`);
    },
    onAttemptEnd: (id, _call, n, endpoint, outcome) => {
      if (id >= 0) log.calls[id]!.push(`attemptEnd ${n} ${endpoint.key} ${outcome.kind}${outcome.kind === 'response' ? ` ${outcome.status}` : ''}`);
    },
    onEnd: (id, call) => {
      if (id < 0) return;
      log.calls[id]!.push(`end ${call.status}`);
      const e = call.endpoint;
      log.ends[id] = {
        route: call.routeName, cluster: call.clusterName, subset: subsetOf(call.clusterName), endpoint: e?.key, labels: e ? { ...e.labels } : undefined,
        status: call.status, grpcStatus: call.grpcStatus, flags: [...call.flags], attempts: call.attempts, protocol: call.protocol,
        durationMs: call.durationMs, responseBytes: call.responseBytes,
      };
    },
  };
  return log;
}
