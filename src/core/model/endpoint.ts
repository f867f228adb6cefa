/** Endpoint model: localities, priorities, health and metadata (ClusterLoadAssignment). Plain immutable data built by src/xds/resources, read by the engine. */
import type { JsonObject } from '../../internal/json.js';
import type { Fraction } from './common.js';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LocalityModel {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface EndpointModel {
  /** IP address (EDS/STATIC) or host name (DNS clusters). */
  readonly address: string;
  readonly port: number;
  /** Default 1. */
  readonly weight: number;
  readonly health: HealthStatus;
  /** filter_metadata['envoy.lb'] string values (Istio puts subset labels there). */
  readonly labels: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, JsonObject>>;
  readonly hostname?: string;
}

export interface LocalityEndpointsModel {
  readonly locality: LocalityModel;
  /** Default 1. */
  readonly weight: number;
  /** 0 is highest. */
  readonly priority: number;
  readonly endpoints: readonly EndpointModel[];
}

/** An EDS resource (ClusterLoadAssignment). */
export interface EndpointsModel {
  readonly clusterName: string;
  readonly localities: readonly LocalityEndpointsModel[];
  readonly dropOverloads: ReadonlyArray<{ readonly category: string; readonly fraction: Fraction }>;
}
