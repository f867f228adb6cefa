/**
 * A host of a cluster: the endpoint adapters see plus the mutable per-host state (active
 * requests, outlier detection) that must survive snapshot rebuilds, keyed by `address:port`.
 */
import { PLAINTEXT, type HealthStatus, type TransportModel } from '../model/index.js';
import type { UpstreamEndpoint } from '../types.js';

/** Per-host outlier detection counters (Envoy's DetectorHostMonitor). */
export interface OutlierHostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocal: number;
  /** Ejection multiplier (Envoy's num_ejections / eject time backoff). */
  ejections: number;
  ejected: boolean;
  ejectedUntil: number;
  /** When the multiplier last stopped growing (unejection or last decrement), for lazy decay. */
  decayFrom: number;
}

/** An endpoint with its live state. Instances are what balancers return. */
export class Host implements UpstreamEndpoint {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  labels: Readonly<Record<string, string>>;
  locality: { readonly region: string; readonly zone: string; readonly subZone: string };
  /** Endpoint weight (× locality weight for hash policies with locality weighting). */
  weight = 1;
  /** The EDS locality's weight (locality-weighted balancing). */
  localityWeight = 1;
  health: HealthStatus = 'UNKNOWN';
  /** Effective priority (EDS, or derived from locality). */
  priority = 0;
  /** How connections to this host are secured (the cluster's transport socket matched against the endpoint). */
  transport: TransportModel = PLAINTEXT;
  /** Requests in flight to this host (least-request). */
  active = 0;
  readonly outlier: OutlierHostState = {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocal: 0,
    ejections: 0,
    ejected: false,
    ejectedUntil: 0,
    decayFrom: 0,
  };

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
    this.key = `${address}:${port}`;
    this.labels = {};
    this.locality = { region: '', zone: '', subZone: '' };
  }

  /** EDS health says the host must not receive traffic (Envoy treats DEGRADED as usable). */
  get edsUnhealthy(): boolean {
    return this.health === 'UNHEALTHY' || this.health === 'DRAINING' || this.health === 'TIMEOUT';
  }

  /** Excluded from normal load balancing: unhealthy per EDS or ejected by outlier detection. */
  get excluded(): boolean {
    return this.outlier.ejected || this.edsUnhealthy;
  }
}
