/**
 * The transport of one ADS stream: a gRPC bidi call carrying serialized Discovery messages.
 * Plaintext `host:port` targets (the default, Istio's 15010) speak gRPC over node:http2
 * directly (h2-call.ts); custom credentials, channel options or grpc-js target schemes
 * (`dns:///`, `unix:`) go through grpc-js (grpc-call.ts). grpc-js with one channel costs a fresh
 * process ~10 MB of RSS and ~30 ms (bench/cold-start.ts), which a mesh that never makes a gRPC
 * call should not pay: it is loaded only when one of those is asked for.
 */
import type * as grpc from '@grpc/grpc-js';
import { GRPC_STATUS } from '../internal/grpc-codes.js';
import { openGrpcCall } from './grpc-call.js';
import { openH2Call } from './h2-call.js';

/** How a call ended: a gRPC status code (grpc's status codes) and its details. */
export interface CallStatus {
  code: number;
  details: string;
}

export interface AdsCallHandlers {
  /** Response headers arrived (the server accepted the call). */
  onMetadata(): void;
  /** One whole message. */
  onMessage(message: Buffer): void;
  /** The call is over; called exactly once. */
  onStatus(status: CallStatus): void;
}

/** One open call. */
export interface AdsCall {
  write(message: Buffer): void;
  /** Half-close: no more requests. */
  end(): void;
  /** Ends the call now (status CANCELLED). */
  cancel(): void;
  /** Releases the connection; after onStatus. */
  close(): void;
}

/** Where and how to connect; the same for every attempt of a client. */
export interface AdsTarget {
  server: string;
  /** Set only when the caller chose credentials (then grpc-js carries the call). */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options (then grpc-js carries the call). */
  channelOptions?: grpc.ChannelOptions;
  /** Largest response message accepted. */
  maxReceiveBytes: number;
}

/** `host:port` or `[v6]:port`: what node:http2 can dial without grpc-js' name resolution. */
export function plainHostPort(server: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]/]+)):(\d+)$/.exec(server);
  if (!m) return undefined;
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}

/**
 * Opens the ADS call for `target` over the transport it needs.
 *
 * @example
 * ```ts
 * const call = openAdsCall({ server: '127.0.0.1:15010', maxReceiveBytes: 256 << 20 }, '/envoy…/StreamAggregatedResources', handlers);
 * ```
 */
export function openAdsCall(target: AdsTarget, method: string, handlers: AdsCallHandlers): AdsCall {
  const hostPort = plainHostPort(target.server);
  try {
    if (hostPort && !target.credentials && !target.channelOptions) return openH2Call(target.server, hostPort, method, target.maxReceiveBytes, handlers);
    return openGrpcCall(target, method, handlers);
  } catch (err) {
    // A target neither transport can even start with (e.g. a host name node:http2 rejects):
    // an ended call, reported asynchronously like any other failure.
    let done = false;
    const end = (details: string): void => {
      if (done) return;
      done = true;
      handlers.onStatus({ code: GRPC_STATUS.UNAVAILABLE, details });
    };
    setImmediate(() => end(`No connection established. Last error: ${(err as Error).message}`));
    return { write: () => {}, end: () => {}, cancel: () => end('Cancelled on client'), close: () => {} };
  }
}
