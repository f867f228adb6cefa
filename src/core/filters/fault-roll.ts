/**
 * Fault injection (Envoy's HTTP fault filter): the dice are rolled once per request when the
 * plan is built. Header-controlled faults read `x-envoy-fault-delay-request` (ms),
 * `x-envoy-fault-abort-request` (HTTP status) and `x-envoy-fault-abort-grpc-request` (gRPC
 * status); `…-percentage` headers override the numerator as in Envoy. `maxActiveFaults` is not
 * enforced (it needs a release hook per faulted request).
 */
import type { FaultModel, Fraction } from '../model/index.js';
import { rollFraction } from '../fraction.js';
import type { RequestView } from '../request.js';

/** The fault decided for one request. */
export interface RolledFault {
  readonly delayMs?: number;
  readonly abortStatus?: number;
  readonly abortGrpcStatus?: number;
}

function headerInt(req: RequestView, name: string): number | undefined {
  const v = req.header(name);
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function withHeaderPercentage(f: Fraction, req: RequestView, name: string): Fraction {
  const n = headerInt(req, name);
  return n === undefined ? f : { numerator: Math.min(n, f.numerator), denominator: f.denominator };
}

/**
 * Rolls a fault config for a request. Undefined when nothing fires.
 *
 * @example rollFault({ abort: { kind: 'http', httpStatus: 503, fraction: { numerator: 10, denominator: 100 } } }, req, Math.random)
 */
export function rollFault(fault: FaultModel, req: RequestView, random: () => number): RolledFault | undefined {
  let delayMs: number | undefined;
  let abortStatus: number | undefined;
  let abortGrpcStatus: number | undefined;
  const d = fault.delay;
  if (d) {
    if (d.kind === 'fixed') {
      if (rollFraction(d.fraction, random)) delayMs = d.delayMs;
    } else {
      const ms = headerInt(req, 'x-envoy-fault-delay-request');
      if (ms !== undefined && rollFraction(withHeaderPercentage(d.fraction, req, 'x-envoy-fault-delay-request-percentage'), random)) delayMs = ms;
    }
  }
  const a = fault.abort;
  if (a) {
    if (a.kind === 'http') {
      if (rollFraction(a.fraction, random)) abortStatus = a.httpStatus;
    } else if (a.kind === 'grpc') {
      if (rollFraction(a.fraction, random)) abortGrpcStatus = a.grpcStatus;
    } else {
      const http = headerInt(req, 'x-envoy-fault-abort-request');
      const grpc = headerInt(req, 'x-envoy-fault-abort-grpc-request');
      if ((http !== undefined || grpc !== undefined) && rollFraction(withHeaderPercentage(a.fraction, req, 'x-envoy-fault-abort-request-percentage'), random)) {
        if (http !== undefined && http >= 200 && http < 600) abortStatus = http;
        else if (grpc !== undefined) abortGrpcStatus = grpc;
      }
    }
  }
  if (delayMs === undefined && abortStatus === undefined && abortGrpcStatus === undefined) return undefined;
  const out: { delayMs?: number; abortStatus?: number; abortGrpcStatus?: number } = {};
  if (delayMs !== undefined) out.delayMs = delayMs;
  if (abortStatus !== undefined) out.abortStatus = abortStatus;
  if (abortGrpcStatus !== undefined) out.abortGrpcStatus = abortGrpcStatus;
  return out;
}
