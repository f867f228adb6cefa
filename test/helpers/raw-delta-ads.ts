/**
 * A bare incremental ADS client for tests (`DeltaAggregatedResources`): grpc-js with protobufjs
 * codecs (not meshlet's hand-written ones, so the server's bytes are checked by an independent
 * decoder), no caching or validation. Every response is kept with its size on the wire.
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/xds/protos.js';
import { messageNameOf } from '../../src/xds/type-urls.js';

const DELTA_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export interface RawDeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  control_plane?: { identifier?: string };
  /** Resource wrappers: name and version as the server sent them. */
  resources: Array<{ name: string; version: string }>;
  removed_resources: string[];
  /** Decoded inner messages. */
  decoded: Array<Record<string, unknown>>;
  /** Bytes of the response message (the gRPC frame's payload). */
  bytes: number;
}

export interface RawDeltaRequest {
  typeUrl: string;
  subscribe?: string[];
  unsubscribe?: string[];
  initialVersions?: Record<string, string>;
  responseNonce?: string;
  node?: Record<string, unknown>;
  errorDetail?: { code?: number; message: string };
}

function decodeResponse(bytes: Buffer): RawDeltaResponse {
  const T = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const obj = T.toObject(T.decode(bytes), { defaults: true, longs: Number, enums: String }) as {
    system_version_info: string; type_url: string; nonce: string; control_plane?: { identifier?: string };
    resources: Array<{ name: string; version: string; resource?: { type_url: string; value: Uint8Array } }>;
    removed_resources: string[];
  };
  const decoded = obj.resources.map((r) => {
    const R = messageType(messageNameOf(r.resource!.type_url));
    return R.toObject(R.decode(r.resource!.value), { longs: Number, enums: String }) as Record<string, unknown>;
  });
  return {
    system_version_info: obj.system_version_info,
    type_url: obj.type_url,
    nonce: obj.nonce,
    ...(obj.control_plane ? { control_plane: obj.control_plane } : {}),
    resources: obj.resources.map((r) => ({ name: r.name, version: r.version })),
    removed_resources: obj.removed_resources,
    decoded,
    bytes: bytes.length,
  };
}

function encodeRequest(req: RawDeltaRequest): Buffer {
  const T = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  return Buffer.from(T.encode(T.fromObject({
    type_url: req.typeUrl,
    resource_names_subscribe: req.subscribe ?? [],
    resource_names_unsubscribe: req.unsubscribe ?? [],
    initial_resource_versions: req.initialVersions ?? {},
    response_nonce: req.responseNonce ?? '',
    ...(req.node ? { node: req.node } : {}),
    ...(req.errorDetail ? { error_detail: { code: req.errorDetail.code ?? 3, message: req.errorDetail.message } } : {}),
  })).finish());
}

/**
 * One delta stream; `next()` resolves the next response (of a type), queued until awaited.
 *
 * @example
 * ```ts
 * const ads = new RawDeltaAds(`127.0.0.1:${server.xdsPort}`, { id: 'n1' });
 * ads.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'] });
 * ads.ack(await ads.next(TYPE_URL.cluster));
 * ```
 */
export class RawDeltaAds {
  readonly responses: RawDeltaResponse[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly queue: RawDeltaResponse[] = [];
  private waiters: Array<{ typeUrl: string | undefined; resolve: (r: RawDeltaResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  error: (Error & { code?: number }) | undefined;
  private sentAny = false;

  constructor(target: string, readonly node?: Record<string, unknown>) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(DELTA_METHOD, (b: Buffer) => b, (b: Buffer) => b);
    this.call.on('data', (bytes: Buffer) => {
      const res = decodeResponse(bytes);
      this.responses.push(res);
      const i = this.waiters.findIndex((w) => w.typeUrl === undefined || w.typeUrl === res.type_url);
      const w = i >= 0 ? this.waiters.splice(i, 1)[0] : undefined;
      if (w) {
        clearTimeout(w.timer);
        w.resolve(res);
      } else this.queue.push(res);
    });
    const fail = (err: Error) => {
      this.error ??= err;
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.waiters = [];
    };
    this.call.on('error', fail);
    this.call.on('end', () => fail(new Error('stream ended')));
  }

  /** Sends a request; the node goes with the first request only. */
  send(req: RawDeltaRequest): void {
    const node = req.node ?? (this.sentAny ? undefined : this.node);
    this.sentAny = true;
    this.call.write(encodeRequest({ ...req, ...(node ? { node } : {}) }));
  }

  /** The next response (of `typeUrl` if given); rejects after `timeoutMs` (a hang guard, not a timing assertion). */
  next(typeUrl?: string, timeoutMs = 10_000): Promise<RawDeltaResponse> {
    const i = this.queue.findIndex((r) => typeUrl === undefined || r.type_url === typeUrl);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no ${typeUrl ?? 'any'} delta response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ typeUrl, resolve, reject, timer });
    });
  }

  /** Responses received but not yet taken by next(). */
  pending(): readonly RawDeltaResponse[] {
    return this.queue;
  }

  ack(res: RawDeltaResponse): void {
    this.send({ typeUrl: res.type_url, responseNonce: res.nonce });
  }

  nack(res: RawDeltaResponse, message: string): void {
    this.send({ typeUrl: res.type_url, responseNonce: res.nonce, errorDetail: { message } });
  }

  close(): void {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}
