/**
 * A scriptable ADS server for tests: records every DiscoveryRequest, lets the test push
 * DiscoveryResponses to the open streams, and await requests by predicate (no sleeps).
 */
import * as grpc from '@grpc/grpc-js';
import {
  ADS_METHOD, decodeDiscoveryRequest, decodeDiscoveryResponse, encodeAny, encodeDiscoveryRequest, encodeDiscoveryResponse, packAny,
  type DiscoveryRequestObject, type DiscoveryResponseObject,
} from '../../src/xds/wire/index.js';

type Call = grpc.ServerDuplexStream<DiscoveryRequestObject, DiscoveryResponseObject>;

export interface RecordedRequest extends DiscoveryRequestObject {
  /** 1-based index of the stream the request came on. */
  stream: number;
}

interface Waiter {
  pred: (r: RecordedRequest) => boolean;
  resolve: (r: RecordedRequest) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A request as the control server decodes it, recorded in the client's (protobuf object) form. */
function requestObject(bytes: Buffer): DiscoveryRequestObject {
  const req = decodeDiscoveryRequest(bytes);
  const out: DiscoveryRequestObject = { version_info: req.versionInfo, resource_names: req.resourceNames, type_url: req.typeUrl, response_nonce: req.responseNonce };
  if (req.node) out.node = req.node;
  if (req.errorDetail) out.error_detail = req.errorDetail;
  return out;
}

/** A response object written with the server's encoder. */
function responseBytes(res: DiscoveryResponseObject): Buffer {
  return encodeDiscoveryResponse({
    versionInfo: res.version_info ?? '',
    resources: (res.resources ?? []).map((a) => encodeAny(a.type_url ?? '', a.value ?? new Uint8Array())),
    typeUrl: res.type_url ?? '',
    nonce: res.nonce ?? '',
    ...(res.control_plane?.identifier ? { controlPlane: res.control_plane.identifier } : {}),
  });
}

const SERVICE: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: ADS_METHOD,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeDiscoveryRequest,
    requestDeserialize: requestObject,
    responseSerialize: responseBytes,
    responseDeserialize: decodeDiscoveryResponse,
  },
};

export class FakeAds {
  readonly requests: RecordedRequest[] = [];
  private readonly calls = new Set<Call>();
  private readonly waiters = new Set<Waiter>();
  private streamCount = 0;
  private nonceSeq = 0;

  private constructor(private readonly server: grpc.Server, readonly port: number) {}

  /** Starts on 127.0.0.1:`port` (0 = any free port). */
  static async start(port = 0): Promise<FakeAds> {
    const server = new grpc.Server();
    let ads: FakeAds | undefined;
    server.addService(SERVICE, {
      StreamAggregatedResources: (call: Call) => ads?.onStream(call),
    });
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    ads = new FakeAds(server, bound);
    return ads;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get openStreams(): number {
    return this.calls.size;
  }

  /** While true, every new stream is ended at once (status OK) without a response. */
  hangUpStreams = false;

  private onStream(call: Call): void {
    const stream = ++this.streamCount;
    if (this.hangUpStreams) {
      call.end();
      return;
    }
    this.calls.add(call);
    call.on('data', (req: DiscoveryRequestObject) => {
      const rec: RecordedRequest = { ...req, stream };
      this.requests.push(rec);
      for (const w of [...this.waiters]) {
        if (w.pred(rec)) {
          clearTimeout(w.timer);
          this.waiters.delete(w);
          w.resolve(rec);
        }
      }
    });
    // A graceful client half-close gets a graceful end, as a real control server would do.
    call.on('end', () => {
      this.calls.delete(call);
      call.end();
    });
    call.on('error', () => this.calls.delete(call));
    call.on('cancelled', () => this.calls.delete(call));
  }

  /** Resolves with the first request (already received or future) matching `pred`. */
  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    const found = this.requests.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`no matching DiscoveryRequest within ${timeoutMs} ms; got ${JSON.stringify(this.requests.map(({ node: _n, ...r }) => r))}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Sends a response to every open stream. `resources` are plain resource messages (encoded
   * with `typeUrl`) or ready `Any`s. Returns the nonce used.
   */
  push(typeUrl: string, version: string, resources: Array<Record<string, unknown>>, nonce = `n${++this.nonceSeq}`): string {
    const anys = resources.map((r) => (typeof r['type_url'] === 'string' && r['value'] instanceof Uint8Array ? r : packAny(typeUrl, r)));
    for (const call of this.calls) call.write({ version_info: version, type_url: typeUrl, nonce, resources: anys as DiscoveryResponseObject['resources'] });
    return nonce;
  }

  /** Kills the server and every stream at once (like a crash). */
  shutdown(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('FakeAds shut down'));
    }
    this.waiters.clear();
    this.server.forceShutdown();
    this.calls.clear();
  }
}
