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
import { DELTA_ADS_METHOD, decodeDeltaResponse, encodeDeltaRequest, type DeltaRequestObject, type DeltaResponseObject } from './wire/delta.js';

/** Which ADS method a stream speaks: state of the world, or incremental (delta). */
export type AdsProtocol = 'sotw' | 'delta';

const log = trace('ads');

export interface AdsStreamHandlers {
  /** The server answered (response headers or a first response). Called at most once. */
  onConnected(): void;
  /** A decoded response: a DiscoveryResponse on a SotW stream, a DeltaDiscoveryResponse on a delta one. */
  onResponse(res: DiscoveryResponseObject | DeltaResponseObject): void;
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
  /** How the call ended (set with onEnd), e.g. UNIMPLEMENTED from a server without delta xDS. */
  status: CallStatus | undefined;
  private readonly call: AdsCall;
  private ended = false;
  private closing = false;
  private endError: MeshError | undefined;
  private onClosed: (() => void) | undefined;

  constructor(private readonly target: AdsTarget, private readonly handlers: AdsStreamHandlers, readonly protocol: AdsProtocol = 'sotw') {
    // A fresh connection per attempt: the client's backoff alone decides retry timing.
    this.call = openAdsCall(target, protocol === 'delta' ? DELTA_ADS_METHOD : ADS_METHOD, {
      onMetadata: () => this.markConnected(),
      onMessage: (buf) => this.onData(buf),
      onStatus: (status) => this.onStatus(status),
    });
  }

  /** Sends a request; false when the call is already over (its end is reported separately). */
  write(req: DiscoveryRequestObject | DeltaRequestObject): boolean {
    if (this.ended || this.closing) return false;
    try {
      this.call.write(this.protocol === 'delta' ? encodeDeltaRequest(req as DeltaRequestObject) : encodeDiscoveryRequest(req as DiscoveryRequestObject));
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
    let res: DiscoveryResponseObject | DeltaResponseObject;
    try {
      res = this.protocol === 'delta' ? decodeDeltaResponse(buf) : decodeDiscoveryResponse(buf);
    } catch (err) {
      // No nonce to NACK with: drop the stream and let the client start over.
      this.endError = meshError('MESHLET_ERR_XDS_DECODE', `undecodable ${this.protocol === 'delta' ? 'DeltaDiscoveryResponse' : 'DiscoveryResponse'} from ${this.target.server}: ${(err as Error).message}`, { cause: err });
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
    this.status = status;
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
