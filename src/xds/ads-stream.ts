/**
 * One ADS stream attempt: a bidi call (ads-call.ts) carrying protobuf-encoded Discovery
 * messages. It reports through callbacks and never throws; the protocol (what to send, when to
 * reconnect) lives in {@link XdsClient}.
 */
import { trace } from '../internal/debug.js';
import { grpcStatusName } from '../internal/grpc-codes.js';
import { openAdsCall, type AdsCall, type AdsTarget, type CallStatus } from './ads-call.js';
import { meshError, type MeshError } from '../errors.js';
import { encodeDiscoveryRequest, type DiscoveryRequestObject } from './wire/discovery-request.js';
import { decodeDiscoveryResponse, type DiscoveryResponseObject } from './wire/discovery-response.js';
import { ADS_METHOD } from './wire/index.js';

const log = trace('ads');

export interface AdsStreamHandlers {
  /** The server answered (response headers or a first response). Called at most once. */
  onConnected(): void;
  onResponse(res: DiscoveryResponseObject): void;
  /** The stream is over (not called after {@link AdsStream.close}). */
  onEnd(error: MeshError): void;
}

export type { AdsTarget } from './ads-call.js';

/**
 * Opens the stream on construction.
 *
 * @example
 * ```ts
 * const stream = new AdsStream(target, { onConnected, onResponse, onEnd });
 * stream.write({ type_url: TYPE_URL.cluster, resource_names: [], node });
 * await stream.close(500);
 * ```
 */
export class AdsStream {
  /** The node went out on this stream (only its first request needs it). */
  nodeSent = false;
  /** A response arrived on this stream. */
  received = false;
  connected = false;
  private readonly call: AdsCall;
  private ended = false;
  private closing = false;
  private endError: MeshError | undefined;
  private onClosed: (() => void) | undefined;

  constructor(private readonly target: AdsTarget, private readonly handlers: AdsStreamHandlers) {
    // A fresh connection per attempt: the client's backoff alone decides retry timing.
    this.call = openAdsCall(target, ADS_METHOD, {
      onMetadata: () => this.markConnected(),
      onMessage: (buf) => this.onData(buf),
      onStatus: (status) => this.onStatus(status),
    });
  }

  /** Sends a request; false when the call is already over (its end is reported separately). */
  write(req: DiscoveryRequestObject): boolean {
    if (this.ended || this.closing) return false;
    try {
      this.call.write(encodeDiscoveryRequest(req));
      if (req.node) this.nodeSent = true;
      return true;
    } catch (err) {
      log('ADS write failed: %o', err);
      return false;
    }
  }

  /** Half-closes, gives the server `graceMs` to end the stream, then cancels. Never rejects. */
  close(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.ended) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.call.cancel(), graceMs);
      timer.unref();
      this.onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        this.call.end();
      } catch {
        this.call.cancel();
      }
    });
  }

  private markConnected(): void {
    if (this.connected || this.closing) return;
    this.connected = true;
    this.handlers.onConnected();
  }

  private onData(buf: Buffer): void {
    if (this.closing || this.ended) return;
    let res: DiscoveryResponseObject;
    try {
      res = decodeDiscoveryResponse(buf);
    } catch (err) {
      // No nonce to NACK with: drop the stream and let the client start over.
      this.endError = meshError('MESHLET_ERR_XDS_DECODE', `undecodable DiscoveryResponse from ${this.target.server}: ${(err as Error).message}`, { cause: err });
      this.call.cancel();
      return;
    }
    this.received = true;
    this.markConnected();
    this.handlers.onResponse(res);
  }

  private onStatus(status: CallStatus): void {
    if (this.ended) return;
    this.ended = true;
    this.call.close();
    log('ADS stream ended: %s %s', grpcStatusName(status.code), status.details);
    this.onClosed?.();
    if (this.closing) return;
    const error = this.endError ?? meshError(
      'MESHLET_ERR_XDS_STREAM',
      `ADS stream to ${this.target.server} ended: ${grpcStatusName(status.code)} ${status.details}`,
      { detail: { server: this.target.server, code: status.code, details: status.details } },
    );
    this.handlers.onEnd(error);
  }
}
