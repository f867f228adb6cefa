/**
 * A gRPC bidi call over node:http2, for the ADS stream to a plaintext `host:port`: what grpc-js
 * would put on the wire (PROTOCOL-HTTP2.md: POST, `content-type: application/grpc`,
 * `te: trailers`, 5-byte length-prefixed messages, status in trailers or a trailers-only
 * response), without loading grpc-js. Failures become the status grpc-js would report, with
 * the same words in the details (ECONNREFUSED, ENOTFOUND, "Received HTTP status code", …), so
 * callers classify them alike (mesh/control-plane.ts).
 */
import http2 from 'node:http2';
import { GRPC_STATUS, httpToGrpcCode } from '../internal/grpc-codes.js';
import type { AdsCall, AdsCallHandlers, CallStatus } from './ads-call.js';

const { NGHTTP2_CANCEL } = http2.constants;
const { CANCELLED, UNKNOWN, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE } = GRPC_STATUS;

function decodeMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Connects and opens the call; never throws (failures arrive as `onStatus`).
 *
 * @example
 * ```ts
 * const call = openH2Call('127.0.0.1:15010', { host: '127.0.0.1', port: 15010 }, ADS_METHOD, 256 << 20, handlers);
 * ```
 */
export function openH2Call(authority: string, at: { host: string; port: number }, method: string, maxReceiveBytes: number, handlers: AdsCallHandlers): AdsCall {
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  let done = false;
  let pending: Buffer = Buffer.alloc(0);
  const finish = (status: CallStatus): void => {
    if (done) return;
    done = true;
    handlers.onStatus(status);
  };

  // Windows large enough that a big push is not throttled by WINDOW_UPDATE round trips.
  const session = http2.connect(`http://${host}:${at.port}`, { settings: { initialWindowSize: 4 * 1024 * 1024, enablePush: false } });
  session.on('connect', () => session.setLocalWindowSize(16 * 1024 * 1024));
  session.on('error', (err: Error) => finish({ code: UNAVAILABLE, details: `No connection established. Last error: ${err.message}` }));
  const stream = session.request({
    ':method': 'POST',
    ':scheme': 'http',
    ':path': method,
    ':authority': authority,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-accept-encoding': 'identity',
    'user-agent': 'meshlet-h2',
  });

  stream.on('response', (headers) => {
    const status = Number(headers[':status']);
    if (status !== 200) {
      finish({ code: httpToGrpcCode(status), details: `Received HTTP status code ${status}` });
      stream.close(NGHTTP2_CANCEL);
      return;
    }
    const type = String(headers['content-type'] ?? '');
    if (!type.startsWith('application/grpc')) {
      finish({ code: UNKNOWN, details: `Protocol error: unexpected content-type ${JSON.stringify(type)}` });
      stream.close(NGHTTP2_CANCEL);
      return;
    }
    if (headers['grpc-status'] !== undefined) {
      // Trailers-only: the call ended before any message (e.g. UNIMPLEMENTED).
      finish({ code: Number(headers['grpc-status']), details: decodeMessage(String(headers['grpc-message'] ?? '')) });
      return;
    }
    handlers.onMetadata();
  });
  stream.on('data', (chunk: Buffer) => {
    if (done) return;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      if (pending[0] !== 0) {
        finish({ code: INTERNAL, details: 'Received a compressed message, but no compression was negotiated' });
        stream.close(NGHTTP2_CANCEL);
        return;
      }
      const length = pending.readUInt32BE(1);
      if (length > maxReceiveBytes) {
        finish({ code: RESOURCE_EXHAUSTED, details: `Received message larger than max (${length} vs. ${maxReceiveBytes})` });
        stream.close(NGHTTP2_CANCEL);
        return;
      }
      if (pending.length < 5 + length) break;
      const message = pending.subarray(5, 5 + length);
      pending = pending.subarray(5 + length);
      handlers.onMessage(message);
      if (done) return;
    }
  });
  stream.on('trailers', (trailers) => {
    const code = trailers['grpc-status'] !== undefined ? Number(trailers['grpc-status']) : UNKNOWN;
    finish({ code, details: decodeMessage(String(trailers['grpc-message'] ?? (trailers['grpc-status'] === undefined ? 'No status received' : ''))) });
  });
  stream.on('error', (err: Error) => finish({ code: UNAVAILABLE, details: err.message }));
  stream.on('close', () => {
    const code = stream.rstCode;
    if (code === NGHTTP2_CANCEL) finish({ code: CANCELLED, details: 'Cancelled on client' });
    else finish({ code: UNAVAILABLE, details: code ? `Stream closed with error code ${code}` : 'Stream closed without a status' });
    session.close();
  });

  return {
    write: (message) => {
      if (done || stream.destroyed) return;
      const head = Buffer.allocUnsafe(5);
      head[0] = 0;
      head.writeUInt32BE(message.length, 1);
      stream.write(Buffer.concat([head, message]));
    },
    end: () => {
      if (!stream.destroyed) stream.end();
    },
    cancel: () => {
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
      else finish({ code: CANCELLED, details: 'Cancelled on client' });
    },
    close: () => {
      if (!session.destroyed) session.close();
    },
  };
}
