/**
 * Mesh-aware gRPC servers: `createServer()` builds a grpc-js Server whose server interceptor
 * runs the inbound hooks (peer identity, authorization, metrics plug in there); `bind()`
 * announces the port to the control server once bound; `close()` withdraws the announcement,
 * drains (tryShutdown) and force-closes what is left after the drain timeout.
 */
import type { Metadata, Server, ServerCredentials, ServerInterceptingCall, ServerInterceptor, ServerOptions } from '@grpc/grpc-js';
import { grpcLib, newMetadata, Status } from './lib.js';
import { meshError } from '../errors.js';
import type { Disposable } from '../internal/events.js';
import type { InboundRequestView, InboundVerdict } from '../core/inbound.js';
import { httpToGrpcCode } from '../internal/grpc-codes.js';
import { runInScope } from '../telemetry/context.js';
import { INBOUND_PHASE, type InboundCall, type InboundOutcome, type InboundPolicy, type InboundStage } from '../security/inbound-policy.js';
import { grpcView } from './inbound-view.js';
import type { AnnouncePort } from './announce.js';
import type { Socket } from 'node:net';
import type { InboundTls } from '../security/tls/inbound.js';
import { bindSniffing, type SniffingBinding } from './secure-bind.js';

/** The mesh's mTLS acceptor for gRPC ports; `enabled()` is false when the mesh has no identity (plaintext bind). */
export interface GrpcAcceptorFactory {
  enabled(): boolean;
  create(deliver: (s: Socket) => void): InboundTls;
}

/** What inbound hooks see of a call. */
export interface GrpcInboundContext {
  /** `/pkg.Service/Method`. */
  readonly method: string;
  /** Request metadata (available from `onCall` on). */
  metadata: Metadata;
  /** `address:port` of the caller. */
  readonly peer: string;
  readonly startedAt: number;
  /** Free-form state hooks share (e.g. the peer's SPIFFE identity). */
  readonly state: Record<string, unknown>;
  /** The protocol-neutral view the inbound policy evaluated (verified peer, host, metadata). */
  view?: InboundRequestView;
}

/** A denial: the call ends with this status and the handler never runs. */
export interface GrpcDenial {
  code: Status;
  details: string;
}

/** An inbound hook; every part is optional. Hooks run in the order they were added, after the mesh's policy. */
export interface GrpcInboundHook {
  /** Runs when request metadata arrived; return a status to deny the call. */
  onCall?(ctx: GrpcInboundContext): GrpcDenial | void;
  /** Runs when the call's status is sent. */
  onEnd?(ctx: GrpcInboundContext, status: { code: Status; details: string }): void;
}

/** Options of `createServer()`. */
export interface GrpcServerOptions extends ServerOptions {
  /** Service port announced to the control server (default: the bound port). */
  servicePort?: number;
  /** Port name announced; default `grpc` (Istio infers the protocol from it). */
  portName?: string;
  /** How long `close()` lets calls finish before force-closing. Default 5000. */
  drainTimeoutMs?: number;
}

/** A gRPC server in the mesh. */
export interface MeshGrpcServer {
  readonly server: Server;
  /** Adds an inbound hook (createServer only; a wrapped server has no interceptor); dispose to remove. */
  use(hook: GrpcInboundHook): Disposable;
  /** bindAsync, then announce. `address` is `host:port` or a port (host 0.0.0.0). Resolves the bound port. */
  bind(address: string | number, credentials?: ServerCredentials): Promise<number>;
  /** Withdraws, drains, force-closes after the drain timeout. Idempotent. */
  close(): Promise<void>;
}

/** How the gRPC adapter hands a call to the policy's stages (`call.native`). */
export interface GrpcNative {
  readonly kind: 'grpc';
  readonly ctx: GrpcInboundContext;
}

/** A server's own `use()` hook as a stage of its policy: gRPC-shaped denials become verdicts. */
export function grpcHookStage(hook: GrpcInboundHook): InboundStage {
  return {
    name: 'server.use',
    ...(hook.onCall
      ? {
          onRequest: (call: InboundCall) => {
            const denial = (hook.onCall as NonNullable<GrpcInboundHook['onCall']>)((call.native as GrpcNative).ctx);
            return denial ? { status: 200, body: denial.details, grpcStatus: denial.code } : undefined;
          },
        }
      : {}),
    ...(hook.onEnd
      ? { onEnd: (call: InboundCall, outcome: InboundOutcome) => (hook.onEnd as NonNullable<GrpcInboundHook['onEnd']>)((call.native as GrpcNative).ctx, { code: outcome.grpcStatus ?? Status.OK, details: (outcome as { details?: string }).details ?? '' }) }
      : {}),
  };
}

/** The mesh-wide side of the gRPC inbound path (the same policy the HTTP pipeline runs). */
export interface GrpcInboundWiring {
  readonly policy: InboundPolicy;
  /** Maps the socket's local port to the announced service port. */
  readonly servicePort: (local: number) => number;
}

type Verdict = (InboundVerdict & { stage: string }) | undefined;

/**
 * The server interceptor: builds the call's view when metadata arrives, runs the mesh's policy
 * and then the server's own, refuses with the verdict's gRPC status, and reports the end.
 */
export function inboundInterceptor(mesh: GrpcInboundWiring | undefined, local: InboundPolicy): ServerInterceptor {
  const policies = mesh ? [mesh.policy, local] : [local];
  const servicePort = mesh?.servicePort ?? ((p: number) => p);
  return (descriptor, call) => {
    const { ServerInterceptingCall } = grpcLib();
    if (policies.every((p) => p.empty)) return new ServerInterceptingCall(call);
    const ctx: GrpcInboundContext = { method: descriptor.path, metadata: newMetadata(), peer: call.getPeer(), startedAt: performance.now(), state: {} };
    let policyCall: InboundCall | undefined;
    let denied: Verdict;
    let received = 0;
    let sent = 0;
    let ended = false;
    const run = (i: number, done: (v: Verdict) => void): void => {
      if (i === policies.length) return done(undefined);
      (policies[i] as InboundPolicy).run(policyCall as InboundCall, (v) => (v ? done(v) : run(i + 1, done)));
    };
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMd) => {
            ctx.metadata = metadata;
            const view = grpcView(call, descriptor.path, metadata, servicePort);
            ctx.view = view;
            policyCall = { view, startTime: ctx.startedAt, flags: [], state: ctx.state, native: { kind: 'grpc', ctx } satisfies GrpcNative };
            run(0, (v) => {
              if (!v) return runInScope(ctx.state, () => nextMd(metadata)); // stream handlers start here
              denied = v;
              intercepted.sendStatus({ code: (v.grpcStatus ?? httpToGrpcCode(v.status)) as Status, details: v.body ?? '', metadata: newMetadata() });
            });
          },
          onReceiveMessage: (message, nextMsg) => {
            received++;
            runInScope(ctx.state, () => nextMsg(message));
          },
          // Unary and server-streaming handlers run at half-close: in the inbound scope, so their
          // own calls continue the trace and carry the x-request-id.
          onReceiveHalfClose: (nextHalfClose) => runInScope(ctx.state, nextHalfClose),
        }),
      sendMessage: (message, nextMsg) => {
        sent++;
        nextMsg(message);
      },
      sendStatus: (status, nextStatus) => {
        if (!ended && policyCall) {
          ended = true;
          const outcome = {
            status: 200,
            grpcStatus: status.code,
            details: status.details,
            requestBytes: 0,
            responseBytes: 0,
            requestMessages: received,
            responseMessages: sent,
            durationMs: performance.now() - ctx.startedAt,
            ...(denied ? { denied } : {}),
          };
          for (const p of policies) p.end(policyCall, outcome);
        }
        nextStatus(status);
      },
    });
    return intercepted;
  };
}

/** Builds the {@link MeshGrpcServer} API around a server. */
export function meshServer(server: Server, local: InboundPolicy | undefined, announce: AnnouncePort, options: GrpcServerOptions, acceptor?: GrpcAcceptorFactory): MeshGrpcServer {
  const announced: Disposable[] = [];
  const sniffing: SniffingBinding[] = [];
  let closing: Promise<void> | undefined;
  const drainMs = options.drainTimeoutMs ?? 5000;
  return {
    server,
    use(hook) {
      if (!local) throw meshError('MESHLET_ERR_USAGE', 'meshlet: inbound hooks need createServer(); a wrapped server has no meshlet interceptor');
      return local.use(grpcHookStage(hook), INBOUND_PHASE.app);
    },
    async bind(address, credentials) {
      const addr = typeof address === 'number' ? `0.0.0.0:${address}` : address;
      let port: number;
      // A mesh with an identity serves mTLS (and, PERMISSIVE, plaintext) unless told otherwise.
      if (credentials === undefined && acceptor?.enabled()) {
        const binding = await bindSniffing(server, addr, (deliver) => acceptor.create(deliver));
        sniffing.push(binding);
        port = binding.port;
      } else {
        const creds = credentials ?? grpcLib().ServerCredentials.createInsecure();
        port = await new Promise<number>((resolve, reject) => server.bindAsync(addr, creds, (err, p) => (err ? reject(err) : resolve(p))));
      }
      const servicePort = options.servicePort ?? port;
      const name = options.portName ?? (announced.length === 0 ? 'grpc' : `grpc-${servicePort}`);
      announced.push(announce({ number: servicePort, name, protocol: 'GRPC', targetPort: port }));
      return port;
    },
    close() {
      closing ??= (async () => {
        for (const a of announced.splice(0)) a.dispose();
        // Stop accepting now; the injected sessions drain with the server below.
        const stopped = sniffing.splice(0).map((b) => b.close());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, drainMs);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await Promise.all(stopped);
      })();
      return closing;
    },
  };
}
