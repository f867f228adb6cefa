/**
 * An ADS call through grpc-js: for credentials, channel options or target schemes the plain
 * HTTP/2 transport does not cover (ads-call.ts). A fresh channel per attempt: the xDS client's
 * own backoff decides retry timing, not grpc-js's subchannel backoff (which would add up to two
 * minutes after an outage).
 */
import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import type { AdsCall, AdsCallHandlers, AdsTarget } from './ads-call.js';

/**
 * Opens the call with grpc-js (loaded here, on first use).
 *
 * @example
 * ```ts
 * const call = openGrpcCall({ server: 'dns:///cp:15010', maxReceiveBytes: 256 << 20 }, ADS_METHOD, handlers);
 * ```
 */
export function openGrpcCall(target: AdsTarget, method: string, handlers: AdsCallHandlers): AdsCall {
  const lib = createRequire(import.meta.url)('@grpc/grpc-js') as typeof grpc;
  // grpc-js retries are off: a failed stream is the client's to reopen, and with retries on
  // grpc-js keeps every written ACK in a retry buffer with extra bookkeeping per message.
  const channel = new lib.Client(target.server, target.credentials ?? lib.credentials.createInsecure(), {
    'grpc.max_receive_message_length': target.maxReceiveBytes,
    'grpc.enable_retries': 0,
    ...target.channelOptions,
  });
  const call = channel.makeBidiStreamRequest<Buffer, Buffer>(method, (b) => b, (b) => b);
  call.on('metadata', () => handlers.onMetadata());
  call.on('data', (buf: Buffer) => handlers.onMessage(buf));
  // 'status' always follows 'error'; this listener only keeps the error from being unhandled.
  call.on('error', () => {});
  call.on('status', (s: grpc.StatusObject) => handlers.onStatus({ code: s.code, details: s.details }));
  return {
    write: (message) => void call.write(message),
    end: () => call.end(),
    cancel: () => call.cancel(),
    close: () => channel.close(),
  };
}
