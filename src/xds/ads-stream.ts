/**
 * One ADS stream attempt: a grpc-js channel plus a bidi call carrying protobuf-encoded
 * Discovery messages. It reports through callbacks and never throws; the protocol (what to send,
 * when to reconnect) lives in {@link XdsClient}.
 */
import * as grpc from '@grpc/grpc-js';
import { trace } from '../internal/debug.js';
import { meshError, type MeshError } from '../errors.js';
import {
  ADS_METHOD, decodeDiscoveryResponse, encodeDiscoveryRequest, type DiscoveryRequestObject, type DiscoveryResponseObject,
} from './ads-codec.js';

const log = trace('ads');

export interface AdsStreamHandlers {
  /** The server answered (response headers or a first response). Called at most once. */
  onConnected(): void;
  onResponse(res: DiscoveryResponseObject): void;
  /** The stream is over (not called after {@link AdsStream.close}). */
  onEnd(error: MeshError): void;
}

/** Connection settings shared by every attempt. */
export interface AdsTarget {
  server: string;
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
}

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
  private readonly channel: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private ended = false;
  private closing = false;
  private endError: MeshError | undefined;

  constructor(private readonly target: AdsTarget, private readonly handlers: AdsStreamHandlers) {
    // A fresh channel per attempt: the client's backoff alone decides retry timing, not
    // grpc-js's subchannel backoff (which would add up to two minutes after an outage).
    this.channel = new grpc.Client(target.server, target.credentials, target.channelOptions);
    this.call = this.channel.makeBidiStreamRequest<Buffer, Buffer>(ADS_METHOD, (b) => b, (b) => b);
    this.call.on('metadata', () => this.markConnected());
    this.call.on('data', (buf: Buffer) => this.onData(buf));
    // 'status' always follows 'error'; this listener only keeps the error from being unhandled.
    this.call.on('error', (err: Error) => log('ADS stream error: %s', err.message));
    this.call.on('status', (status: grpc.StatusObject) => this.onStatus(status));
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
      this.call.on('status', () => {
        clearTimeout(timer);
        resolve();
      });
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

  private onStatus(status: grpc.StatusObject): void {
    if (this.ended) return;
    this.ended = true;
    this.channel.close();
    if (this.closing) return;
    const error = this.endError ?? meshError(
      'MESHLET_ERR_XDS_STREAM',
      `ADS stream to ${this.target.server} ended: ${grpc.status[status.code] ?? status.code} ${status.details}`,
      { detail: { server: this.target.server, code: status.code, details: status.details } },
    );
    this.handlers.onEnd(error);
  }
}
