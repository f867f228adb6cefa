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
import type { AnnouncePort } from './announce.js';
import type { Socket } from 'node:net';
import type { InboundTls } from '../security/tls/inbound.js';
import { verifiedPeerId } from '../security/tls/peer.js';
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
  /** SPIFFE ID of the caller's client certificate, only when the mTLS handshake verified it. */
  readonly principal?: string;
  readonly startedAt: number;
  /** Free-form state hooks share (e.g. the peer's SPIFFE identity). */
  readonly state: Record<string, unknown>;
}

/** A denial: the call ends with this status and the handler never runs. */
export interface GrpcDenial {
  code: Status;
  details: string;
}

/** An inbound hook; every part is optional. Hooks run in the order they were added. */
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

function runHooks(hooks: readonly GrpcInboundHook[], ctx: GrpcInboundContext): GrpcDenial | undefined {
  for (const h of hooks) {
    try {
      const denial = h.onCall?.(ctx);
      if (denial) return denial;
    } catch (err) {
      return { code: Status.INTERNAL, details: `meshlet: inbound hook failed: ${(err as Error).message}` };
    }
  }
  return undefined;
}

/** The verified peer SPIFFE ID of a call: grpc-js' auth context has a certificate only for an authorized TLS socket. */
function principalOf(call: unknown): string | undefined {
  const c = call as { getAuthContext?: () => { transportSecurityType?: string; sslPeerCertificate?: import('node:tls').PeerCertificate } };
  const cert = c.getAuthContext?.().sslPeerCertificate;
  return cert ? verifiedPeerId({ encrypted: true, authorized: true, getPeerCertificate: () => cert }) : undefined;
}

/** The server interceptor that runs a hook list. */
export function inboundInterceptor(hooks: readonly GrpcInboundHook[]): ServerInterceptor {
  return (descriptor, call) => {
    const { ServerInterceptingCall } = grpcLib();
    if (hooks.length === 0) return new ServerInterceptingCall(call);
    const principal = principalOf(call);
    const ctx: GrpcInboundContext = { method: descriptor.path, metadata: newMetadata(), peer: call.getPeer(), ...(principal ? { principal } : {}), startedAt: performance.now(), state: {} };
    let ended = false;
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMd) => {
            ctx.metadata = metadata;
            const denial = runHooks(hooks, ctx);
            if (denial) intercepted.sendStatus(denial);
            else nextMd(metadata);
          },
        }),
      sendStatus: (status, nextStatus) => {
        if (!ended) {
          ended = true;
          for (const h of hooks) {
            try {
              h.onEnd?.(ctx, { code: status.code, details: status.details });
            } catch {
              // metrics hooks never break a call
            }
          }
        }
        nextStatus(status);
      },
    });
    return intercepted;
  };
}

/** Builds the {@link MeshGrpcServer} API around a server. */
export function meshServer(server: Server, hooks: GrpcInboundHook[] | undefined, announce: AnnouncePort, options: GrpcServerOptions, acceptor?: GrpcAcceptorFactory): MeshGrpcServer {
  const announced: Disposable[] = [];
  const sniffing: SniffingBinding[] = [];
  let closing: Promise<void> | undefined;
  const drainMs = options.drainTimeoutMs ?? 5000;
  return {
    server,
    use(hook) {
      if (!hooks) throw meshError('MESHLET_ERR_USAGE', 'meshlet: inbound hooks need createServer(); a wrapped server has no meshlet interceptor');
      hooks.push(hook);
      return { dispose: () => void (hooks.includes(hook) && hooks.splice(hooks.indexOf(hook), 1)) };
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
