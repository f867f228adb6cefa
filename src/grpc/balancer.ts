/**
 * The `meshlet` LB policy: keeps one subchannel per endpoint address and a picker that asks the
 * call's CallPlan (`plan.pick(tried)`) which endpoint to use, so round robin, least request,
 * ring hash with hash policies, locality priorities and outlier ejection are the engine's, the
 * same as for HTTP. Subchannels are created when the engine first picks an endpoint (and for
 * any endpoints the resolver lists up front), kept connected, and dropped after an idle period.
 */
import type { ChannelOptions, experimental, Metadata } from '@grpc/grpc-js';
import { grpcLib, newMetadata, State, Status } from './lib.js';

// grpc-js' PickResultType values (picker.ts), so picking needs no grpc-js lookup.
const PickResult_ = { COMPLETE: 0, QUEUE: 1, TRANSIENT_FAILURE: 2, DROP: 3 } as unknown as typeof experimental.PickResultType;
import type { UpstreamEndpoint } from '../core/types.js';
import type { TlsTransportModel } from '../core/model/transport.js';
import type { AttemptContext } from './call-state.js';
import { GRPC_LOCAL_REPLY } from './config-selector.js';
import { attemptOf, MESH_LB_POLICY } from './registry.js';
import { attemptOutcome } from './status.js';
import { previousHosts, recordTried } from '../core/resilience/previous-hosts.js';

type Helper = experimental.ChannelControlHelper;
type Subchannel = experimental.SubchannelInterface;
type PickResult = experimental.PickResult;

/** Subchannels nobody picked for this long are released (checked on config updates). */
export const SUBCHANNEL_IDLE_MS = 5 * 60_000;

/** The (empty) config of the `meshlet` policy. */
export class MeshLbConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return MESH_LB_POLICY;
  }
  toJsonObject(): object {
    return { [MESH_LB_POLICY]: {} };
  }
  static createFromJson(_obj: unknown): MeshLbConfig {
    return new MeshLbConfig();
  }
}

interface Entry {
  readonly subchannel: Subchannel;
  lastUsed: number;
  /** The TLS transport the subchannel was made with (undefined: plaintext). */
  readonly transport: TlsTransportModel | undefined;
}

/** Subchannel option naming the endpoint's TLS transport; the mesh's channel credentials read it per connection. */
const TRANSPORT_OPTION = 'grpc.meshlet.transport';

const NO_PICK = { subchannel: null, status: null, onCallStarted: null, onCallEnded: null };

function failed(type: experimental.PickResultType, code: Status, details: string): PickResult {
  return { pickResultType: type, subchannel: null, status: { code, details, metadata: newMetadata() }, onCallStarted: null, onCallEnded: null };
}

/** The picker: immutable, asks the plan, answers from the balancer's subchannel map. */
class MeshPicker implements experimental.Picker {
  constructor(private readonly lb: MeshLoadBalancer) {}

  pick(args: experimental.PickArgs): PickResult {
    const attempt = attemptOf(args.extraPickInfo);
    const plan = attempt?.call.plan;
    if (!attempt || !plan) return failed(PickResult_.DROP, Status.UNAVAILABLE, 'meshlet: call was not routed by the mesh resolver');
    const call = attempt.call;
    const endpoint = plan.pick(previousHosts(call));
    if (!endpoint) {
      call.flag('UH');
      attempt.local = true;
      return failed(PickResult_.DROP, Status.UNAVAILABLE, GRPC_LOCAL_REPLY.noHealthyUpstream);
    }
    const subchannel = this.lb.subchannelFor(endpoint);
    switch (subchannel.getConnectivityState()) {
      case State.READY:
        return new ReadyPick(subchannel, attempt, endpoint);
      case State.TRANSIENT_FAILURE:
        connectFailed(attempt, endpoint);
        return failed(PickResult_.DROP, Status.UNAVAILABLE, `${GRPC_LOCAL_REPLY.connectFailure} (${endpoint.key})`);
      default:
        subchannel.startConnecting();
        return { pickResultType: PickResult_.QUEUE, ...NO_PICK };
    }
  }
}

/**
 * A complete pick. grpc-js calls `onCallStarted` on the pick itself (a method) and keeps
 * `onCallEnded` to call later with its own `this` (so that one stays a closure).
 */
class ReadyPick implements PickResult {
  readonly pickResultType = PickResult_.COMPLETE;
  readonly status = null;
  readonly onCallEnded: (code: Status, details: string, trailers: Metadata) => void;

  constructor(readonly subchannel: Subchannel, private readonly attempt: AttemptContext, private readonly endpoint: UpstreamEndpoint) {
    this.onCallEnded = (code, _details, trailers) => ended(attempt, endpoint, code, trailers);
  }

  onCallStarted(): void {
    started(this.attempt, this.endpoint);
  }
}

function started(attempt: AttemptContext, endpoint: UpstreamEndpoint): void {
  const call = attempt.call;
  attempt.endpoint = endpoint;
  recordTried(call, endpoint);
  call.plan?.startAttempt(endpoint);
  call.attemptStarted(attempt);
}

function ended(attempt: AttemptContext, endpoint: UpstreamEndpoint, code: Status, trailers: Metadata): void {
  const outcome = attemptOutcome(code, trailers, attempt.sawHeaders);
  attempt.outcome = outcome;
  attempt.call.plan?.endAttempt(endpoint, outcome);
  attempt.call.attemptEnded(attempt, outcome);
}

/** The picked endpoint cannot be connected to: Envoy's connect failure (UF), fed to outlier detection. */
function connectFailed(attempt: AttemptContext, endpoint: UpstreamEndpoint): void {
  const call = attempt.call;
  const outcome = { kind: 'connect-failure' } as const;
  attempt.endpoint = endpoint;
  attempt.outcome = outcome;
  recordTried(call, endpoint);
  // An intercepted call's retry state flags UF if this failure ends the call (Envoy: the flag
  // of the final outcome, not of every retried attempt).
  if (!call.intercepted) call.flag('UF');
  call.plan?.startAttempt(endpoint);
  call.attemptStarted(attempt);
  call.plan?.endAttempt(endpoint, outcome);
  call.attemptEnded(attempt, outcome);
}

/** Equal TLS settings (transport objects are rebuilt with every CDS update). */
function sameTransport(a: TlsTransportModel | undefined, b: TlsTransportModel | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.sni === b.sni && a.identity === b.identity && a.trust === b.trust && a.subjectAltNames.join('\n') === b.subjectAltNames.join('\n')
    && a.files?.certificateChain === b.files?.certificateChain && a.files?.privateKey === b.files?.privateKey && a.files?.trustedCa === b.files?.trustedCa;
}

/** Keys grpc-js must not see in subchannel args (objects that change per resolution). */
function subchannelOptions(options: ChannelOptions): ChannelOptions {
  const out: ChannelOptions = {};
  for (const [k, v] of Object.entries(options)) if (!k.startsWith('grpc.internal.')) out[k] = v;
  return out;
}

/** The `meshlet` load balancer of one channel. */
export class MeshLoadBalancer implements experimental.LoadBalancer {
  private readonly entries = new Map<string, Entry>();
  private options: ChannelOptions = {};
  private destroyed = false;
  private state: State = State.IDLE;
  private readonly onState: experimental.ConnectivityStateListener = (subchannel, _prev, next) => {
    if (this.destroyed) return;
    if (next === State.IDLE) subchannel.startConnecting();
    this.publish();
  };

  constructor(private readonly helper: Helper) {}

  updateAddressList(endpoints: experimental.StatusOr<experimental.Endpoint[]>, _config: experimental.TypedLoadBalancingConfig, options: ChannelOptions): boolean {
    this.options = subchannelOptions(options);
    const now = Date.now();
    const listed = new Set<string>();
    if (endpoints.ok) {
      for (const ep of endpoints.value) {
        for (const a of ep.addresses) {
          if (!('host' in a)) continue;
          const key = `${a.host}:${a.port}`;
          listed.add(key);
          this.ensure(key, a.host, a.port).lastUsed = now;
        }
      }
    }
    for (const [key, e] of this.entries) if (!listed.has(key) && now - e.lastUsed > SUBCHANNEL_IDLE_MS) this.release(key, e);
    this.publish();
    return true;
  }

  /** The subchannel of an endpoint, created (and connecting) on first use. */
  subchannelFor(endpoint: UpstreamEndpoint): Subchannel {
    const t = endpoint.transport?.kind === 'tls' ? endpoint.transport : undefined;
    let e = this.ensure(endpoint.key, endpoint.address, endpoint.port, t);
    // The endpoint's transport changed (it gained an identity, a DestinationRule changed its
    // tls mode): a new subchannel, made with the new transport, replaces the old one.
    if (!sameTransport(e.transport, t)) {
      this.release(endpoint.key, e);
      e = this.ensure(endpoint.key, endpoint.address, endpoint.port, t);
    }
    e.lastUsed = Date.now();
    return e.subchannel;
  }

  exitIdle(): void {
    for (const e of this.entries.values()) if (e.subchannel.getConnectivityState() === State.IDLE) e.subchannel.startConnecting();
  }

  resetBackoff(): void {}

  destroy(): void {
    this.destroyed = true;
    for (const [key, e] of this.entries) this.release(key, e);
  }

  getTypeName(): string {
    return MESH_LB_POLICY;
  }

  private ensure(key: string, host: string, port: number, transport?: TlsTransportModel): Entry {
    let e = this.entries.get(key);
    if (e) return e;
    const subchannel = this.helper.createSubchannel({ host, port }, transport ? { ...this.options, [TRANSPORT_OPTION]: transport } : this.options);
    subchannel.ref();
    subchannel.addConnectivityStateListener(this.onState);
    this.helper.addChannelzChild(subchannel.getChannelzRef());
    e = { subchannel, lastUsed: Date.now(), transport };
    this.entries.set(key, e);
    if (subchannel.getConnectivityState() === State.IDLE) subchannel.startConnecting();
    return e;
  }

  private release(key: string, e: Entry): void {
    this.entries.delete(key);
    e.subchannel.removeConnectivityStateListener(this.onState);
    this.helper.removeChannelzChild(e.subchannel.getChannelzRef());
    e.subchannel.unref();
  }

  /** Channel state: READY if any subchannel is; CONNECTING while any tries (or none exist yet). */
  private publish(): void {
    if (this.destroyed) return;
    let ready = false;
    let connecting = this.entries.size === 0;
    for (const e of this.entries.values()) {
      const s = e.subchannel.getConnectivityState();
      if (s === State.READY) ready = true;
      else if (s === State.CONNECTING || s === State.IDLE) connecting = true;
    }
    this.state = ready ? State.READY : connecting ? State.CONNECTING : State.TRANSIENT_FAILURE;
    this.helper.updateState(this.state, new MeshPicker(this), null);
  }
}

/**
 * Registers the `meshlet` LB policy with grpc-js (idempotent per grpc-js copy).
 *
 * @example
 * ```ts
 * registerMeshBalancer();
 * ```
 */
export function registerMeshBalancer(): void {
  grpcLib().experimental.registerLoadBalancerType(MESH_LB_POLICY, MeshLoadBalancer, MeshLbConfig);
}
