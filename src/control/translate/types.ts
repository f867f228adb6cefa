/**
 * The shapes translation produces and consumes, apart from the generators so that they, the
 * barrel and the incremental translator can all import them without importing each other.
 */
import type { IstioResource } from '../../config/types.js';
import type { ResourceTypeUrl } from '../../xds/type-urls.js';
import type { ServiceModel } from '../model.js';

/** Input to translation: validated config plus the registry's services. */
export interface TranslateInput {
  resources: readonly IstioResource[];
  services: readonly ServiceModel[];
  domainSuffix?: string;
}

/** One xDS resource as a plain object ready for protobufjs `Type.fromObject` (snake_case field names). */
export interface GeneratedResource {
  name: string;
  /** Plain object of the resource message (not wrapped in Any). */
  message: Record<string, unknown>;
}

/** Output: resources per type URL. The snapshot cache encodes them once and versions them. */
export type TranslateOutput = Map<ResourceTypeUrl, GeneratedResource[]>;
