/**
 * The per-call half of the `mesh:` resolver: a grpc-js ConfigSelector (gRFC A31) that runs
 * `engine.route()` once per logical call with the method path and the call's metadata, and
 * returns a CallConfig whose timeout is the route's, whose `pickInformation` leads the LB
 * picker to the CallPlan, and whose dynamic filter applies what must happen before anything is
 * sent: fault delay/abort, circuit-breaker admission, local replies (no route, direct
 * response). Filters can end a call with any status; a CallConfig status cannot (grpc-js
 * rewrites some codes coming from the control plane), which is why local replies go there too.
 */
import type { Clock } from '../internal/clock.js';
import type { experimental, Metadata, StatusObject } from '@grpc/grpc-js';
import { newMetadata, Status } from './lib.js';
import type { CallPlan, RouteResult } from '../core/types.js';
import { setLongTimeout } from '../internal/timer.js';
import { AttemptContext, CallState } from './call-state.js';
import { ATTEMPT, attemptOf } from './registry.js';
import { httpToGrpcStatus } from './status.js';
import type { GrpcMeshRuntime } from './types.js';

type ConfigSelector = experimental.ConfigSelector;
type CallConfig = ReturnType<ConfigSelector['invoke']>;
type Filter = experimental.Filter;
type FilterFactory = experimental.FilterFactory<Filter>;
type WriteObject = Parameters<Filter['sendMessage']>[0] extends Promise<infer W> ? W : never;

/** Envoy's local-reply texts, as the HTTP adapter uses them. */
export const GRPC_LOCAL_REPLY = {
  noRoute: 'meshlet: no route matched the call',
  notInMesh: 'meshlet: host is not in the mesh',
  overflow: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  faultAbort: 'fault filter abort',
  noHealthyUpstream: 'no healthy upstream',
  connectFailure: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
} as const;

function localStatus(code: Status, details: string): StatusObject {
  return { code, details, metadata: newMetadata() };
}

/** Call metadata as the engine's lower-case header record (binary values are skipped). */
export function metadataHeaders(metadata: Metadata): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { 'content-type': 'application/grpc' };
  for (const [key, values] of Object.entries(metadata.toHttp2Headers())) {
    if (key.endsWith('-bin') || values === undefined) continue;
    out[key] = Array.isArray(values) ? values.map(String) : String(values);
  }
  return out;
}

function delay(ms: number, clock: Clock | undefined): Promise<void> {
  return new Promise((resolve) => (clock ? clock.setTimeout(resolve, ms) : setLongTimeout(resolve, ms)));
}

/**
 * The per-attempt filter: first attempts run fault + admission, every attempt watches headers.
 * It implements grpc-js' Filter interface itself rather than extending its BaseFilter, so this
 * module loads without grpc-js (lib.ts).
 */
class MeshFilter implements Filter, FilterFactory {
  private ended = false;

  constructor(private readonly attempt: AttemptContext, private readonly first: boolean, private readonly reject: StatusObject | undefined) {}

  /** Its own factory: a config is made per attempt and grpc-js makes one filter from it. */
  createFilter(): MeshFilter {
    return this;
  }

  sendMessage(message: Promise<WriteObject>): Promise<WriteObject> {
    return message;
  }

  receiveMessage(message: Promise<Buffer>): Promise<Buffer> {
    return message;
  }

  /**
   * Synchronous when nothing needs the metadata itself (no observer to start on it, no fault
   * delay): an async function here cost a promise and microtask hops on every call.
   */
  sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    if (this.reject) return Promise.reject(this.reject);
    const call = this.attempt.call;
    const plan = this.first ? call.plan : undefined;
    const delayMs = plan?.fault?.delayMs ?? 0;
    if (delayMs > 0 || call.wantsMetadata()) return this.prepared(metadata, plan, delayMs);
    if (!plan) return metadata;
    const refused = this.admit(plan);
    return refused ? Promise.reject(refused) : metadata;
  }

  /** Observers start on the outgoing metadata (they may add headers), then the fault delay and admission. */
  private async prepared(metadata: Promise<Metadata>, plan: CallPlan | undefined, delayMs: number): Promise<Metadata> {
    const md = await metadata;
    const call = this.attempt.call;
    call.prepareAttempt(md);
    if (!plan) return md;
    if (delayMs > 0) {
      call.flag('DI');
      await delay(delayMs, call.runtime.clock);
      if (this.ended) throw localStatus(Status.CANCELLED, 'call ended during fault delay');
    }
    const refused = this.admit(plan);
    if (refused) throw refused;
    return md;
  }

  /** Fault abort, then circuit-breaker admission (Envoy's filter order); the status to fail with, if any. */
  private admit(plan: CallPlan): StatusObject | undefined {
    const call = this.attempt.call;
    const fault = plan.fault;
    if (fault && (fault.abortGrpcStatus !== undefined || fault.abortStatus !== undefined)) {
      call.flag('FI');
      this.attempt.local = true;
      return localStatus(fault.abortGrpcStatus ?? httpToGrpcStatus(fault.abortStatus as number), GRPC_LOCAL_REPLY.faultAbort);
    }
    const admission = plan.admit();
    if (!admission.ok) {
      call.flag(admission.flag);
      this.attempt.local = true;
      return localStatus(Status.UNAVAILABLE, GRPC_LOCAL_REPLY.overflow);
    }
    call.admission = admission;
    return undefined;
  }

  receiveMetadata(metadata: Metadata): Metadata {
    this.attempt.sawHeaders = true;
    return metadata;
  }

  receiveTrailers(status: StatusObject): StatusObject {
    this.ended = true;
    const call = this.attempt.call;
    if (!call.intercepted) {
      // A bare channel call (no meshlet interceptor): this is the only attempt.
      if (status.code === Status.DEADLINE_EXCEEDED && call.routeDeadline <= call.callerDeadline) call.flag('UT');
      call.finish(status.code);
    }
    return status;
  }
}

const warned = new Set<string>();

/**
 * HTTP passes a host the mesh does not know through to its own address; a `mesh:///` gRPC
 * channel cannot (its calls are placed by the mesh LB policy), so it fails UNAVAILABLE and says
 * so once per host as a process warning instead of leaving the caller to guess.
 */
function warnNotInMesh(host: string): void {
  if (warned.has(host) || warned.size >= 256) return;
  warned.add(host);
  process.emitWarning(`meshlet: gRPC target mesh:///${host} is not a mesh host (no service, ServiceEntry or route knows it); its calls fail UNAVAILABLE. Dial it without mesh:/// or add a ServiceEntry.`, {
    type: 'MeshletWarning',
    code: 'MESHLET_ERR_UNKNOWN_HOST',
  });
}

/** The method config of a call without a route timeout (grpc-js only reads it). */
const NO_TIMEOUT: CallConfig['methodConfig'] = Object.freeze({ name: Object.freeze([]) as unknown as [] });

function config(attempt: AttemptContext, first: boolean, reject?: StatusObject, timeoutMs?: number): CallConfig {
  const pickInformation = { [ATTEMPT]: attempt } as Record<string, string>;
  const methodConfig: CallConfig['methodConfig'] = timeoutMs !== undefined && timeoutMs > 0
    ? { name: [], timeout: { seconds: Math.floor(timeoutMs / 1000), nanos: (timeoutMs % 1000) * 1_000_000 } }
    : NO_TIMEOUT;
  return { methodConfig, pickInformation, status: Status.OK, dynamicFilterFactories: [new MeshFilter(attempt, first, reject)] };
}

function localReply(attempt: AttemptContext, code: Status, details: string): CallConfig {
  attempt.local = true;
  return config(attempt, true, localStatus(code, details));
}

function routed(attempt: AttemptContext, result: RouteResult): CallConfig {
  const call = attempt.call;
  switch (result.kind) {
    case 'forward': {
      const plan = result.plan;
      call.plan = plan;
      const timeout = plan.timeoutMs !== undefined && plan.timeoutMs > 0 ? plan.timeoutMs : undefined;
      if (timeout !== undefined) call.routeDeadline = Date.now() + timeout;
      // An intercepted call's per-try deadlines are the interceptor's timer (hedged attempts
      // outlive theirs); a bare channel call has one attempt, bounded by it as well.
      const perTry = call.intercepted ? undefined : plan.retry?.perTryTimeoutMs;
      const attemptTimeout = perTry !== undefined && perTry > 0 ? Math.min(perTry, timeout ?? Infinity) : timeout;
      call.owner?.onRouted(plan);
      return config(attempt, true, undefined, attemptTimeout);
    }
    case 'no_route':
      call.flag('NR');
      return localReply(attempt, Status.UNAVAILABLE, GRPC_LOCAL_REPLY.noRoute);
    case 'passthrough':
      warnNotInMesh(call.host);
      return localReply(attempt, Status.UNAVAILABLE, `${GRPC_LOCAL_REPLY.notInMesh}: ${call.host} (dial it without mesh:///, or add a ServiceEntry)`);
    case 'direct':
      return localReply(attempt, httpToGrpcStatus(result.status), result.body ?? `direct response ${result.status}`);
    case 'redirect':
      return localReply(attempt, Status.UNAVAILABLE, `meshlet: route redirects to ${result.location}; gRPC does not follow redirects`);
  }
}

/**
 * Builds the ConfigSelector of a `mesh:///host:port` channel.
 *
 * @example
 * ```ts
 * listener(statusOrFromValue([]), { [CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: createConfigSelector(runtime, 'reviews', 9080) }, serviceConfig, '');
 * ```
 */
export function createConfigSelector(runtime: GrpcMeshRuntime, host: string, port: number): ConfigSelector {
  return {
    invoke(methodName: string, metadata: Metadata): CallConfig {
      let attempt = attemptOf(metadata.getOptions());
      if (!attempt) attempt = new AttemptContext(new CallState(runtime, false));
      const call = attempt.call;
      if (call.routed) {
        // A retry of an intercepted call: same plan, no second roll of the dice; the
        // interceptor already gave this attempt its deadline.
        return call.plan ? config(attempt, false) : localReply(attempt, Status.UNAVAILABLE, GRPC_LOCAL_REPLY.noRoute);
      }
      call.routed = true;
      call.host = host;
      call.path = methodName;
      let result: RouteResult;
      try {
        result = runtime.engine.route({ method: 'POST', path: methodName, host, port, headers: metadataHeaders(metadata) });
      } catch (err) {
        return localReply(attempt, Status.INTERNAL, `meshlet: routing failed: ${(err as Error).message}`);
      }
      return routed(attempt, result);
    },
    unref() {},
  };
}
