/**
 * A bare ADS client for tests: grpc-js `makeBidiStreamRequest` with protobufjs codecs, no
 * caching or validation, so tests can send exactly the requests they want (stale nonces,
 * NACKs, wildcard vs named) and look at exactly what the server answered.
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/xds/protos.js';
import { messageNameOf } from '../../src/xds/type-urls.js';

const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** A decoded DiscoveryResponse; `resources` are the decoded inner messages, with `name`s. */
export interface RawResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  control_plane?: { identifier?: string };
  resources: Array<{ type_url: string; value: Uint8Array }>;
  /** Names of the resources (from the decoded messages' `name` / `cluster_name`). */
  names: string[];
  /** Decoded inner messages as plain objects. */
  decoded: Array<Record<string, unknown>>;
}

export interface RawRequest {
  typeUrl: string;
  resourceNames?: string[];
  versionInfo?: string;
  responseNonce?: string;
  node?: Record<string, unknown>;
  errorDetail?: { code?: number; message: string };
}

function decodeResponse(bytes: Buffer): RawResponse {
  const T = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const obj = T.toObject(T.decode(bytes), { defaults: true, longs: Number, enums: String }) as Omit<RawResponse, 'names' | 'decoded'>;
  const decoded = obj.resources.map((any) => {
    const R = messageType(messageNameOf(any.type_url));
    return R.toObject(R.decode(any.value), { longs: Number, enums: String }) as Record<string, unknown>;
  });
  const names = decoded.map((d) => String(d['name'] ?? d['cluster_name'] ?? ''));
  return { ...obj, names, decoded };
}

function encodeRequest(req: RawRequest): Buffer {
  const T = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const msg = T.fromObject({
    type_url: req.typeUrl,
    resource_names: req.resourceNames ?? [],
    version_info: req.versionInfo ?? '',
    response_nonce: req.responseNonce ?? '',
    ...(req.node ? { node: req.node } : {}),
    ...(req.errorDetail ? { error_detail: { code: req.errorDetail.code ?? 3, message: req.errorDetail.message } } : {}),
  });
  return Buffer.from(T.encode(msg).finish());
}

/**
 * One ADS stream. `next()` resolves the next response (optionally of one type); responses that
 * nobody awaited yet are queued.
 *
 * @example
 * ```ts
 * const ads = new RawAds(`127.0.0.1:${server.xdsPort}`);
 * ads.send({ typeUrl: TYPE_URL.listener, resourceNames: ['a'] });
 * const res = await ads.next(TYPE_URL.listener);
 * ads.ack(res);
 * ```
 */
export class RawAds {
  readonly responses: RawResponse[] = [];
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly queue: RawResponse[] = [];
  private waiters: Array<{ typeUrl: string | undefined; resolve: (r: RawResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  /** Set when the stream ended or failed. */
  error: Error | undefined;
  private readonly lastNames = new Map<string, string[]>();

  constructor(target: string, readonly node?: Record<string, unknown>, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    this.client = new grpc.Client(target, credentials, options);
    this.call = this.client.makeBidiStreamRequest(ADS_METHOD, (b: Buffer) => b, (b: Buffer) => b);
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

  /** Sends a request; the node is attached to the first request only (like grpc-js-xds). */
  send(req: RawRequest): void {
    const node = req.node ?? (this.sentAny ? undefined : this.node);
    this.sentAny = true;
    this.lastNames.set(req.typeUrl, req.resourceNames ?? []);
    this.call.write(encodeRequest({ ...req, ...(node ? { node } : {}) }));
  }
  private sentAny = false;

  /** The next response (of `typeUrl` if given) within `timeoutMs`. */
  next(typeUrl?: string, timeoutMs = 3000): Promise<RawResponse> {
    const i = this.queue.findIndex((r) => typeUrl === undefined || r.type_url === typeUrl);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no ${typeUrl ?? 'any'} response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ typeUrl, resolve, reject, timer });
    });
  }

  /** Resolves `true` if no response (of `typeUrl`) arrives within `ms`. */
  async quiet(typeUrl: string | undefined, ms: number): Promise<boolean> {
    try {
      await this.next(typeUrl, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** ACKs a response, keeping (or replacing) the subscription. */
  ack(res: RawResponse, resourceNames?: string[]): void {
    this.send({ typeUrl: res.type_url, versionInfo: res.version_info, responseNonce: res.nonce, resourceNames: resourceNames ?? this.lastNames.get(res.type_url) ?? [] });
  }

  /** NACKs a response: `versionInfo` is the last accepted version. */
  nack(res: RawResponse, message: string, lastGoodVersion = ''): void {
    this.send({ typeUrl: res.type_url, versionInfo: lastGoodVersion, responseNonce: res.nonce, resourceNames: this.lastNames.get(res.type_url) ?? [], errorDetail: { message } });
  }

  /** Half-closes the stream (client done) and closes the channel. */
  close(): void {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}
