/**
 * HTTP filter runtimes keyed by type URL, like their decoders (src/xds/resources/filters.ts). A listener's filters compile through the registry its
 * engine holds; a kind without a runtime (the router, an optional filter meshlet lacks)
 * compiles to nothing.
 */
import type { FilterConfigModel, HttpFilterModel } from '../model/index.js';
import { faultFilter } from './fault.js';
import type { CompiledHttpFilter, HttpFilterRuntime } from './types.js';

/**
 * The runtimes an engine compiles listeners with.
 *
 * @example
 * ```ts
 * const filters = new HttpFilterRegistry().register(faultFilter);
 * const chain = filters.compile(listener.httpFilters);
 * ```
 */
export class HttpFilterRegistry {
  private readonly runtimes = new Map<string, HttpFilterRuntime>();

  /** Adds (or replaces) the runtime of one filter type URL. */
  register<C extends FilterConfigModel>(runtime: HttpFilterRuntime<C>): this {
    this.runtimes.set(runtime.typeUrl, runtime as unknown as HttpFilterRuntime);
    return this;
  }

  /** The listener's filters, compiled, in its order (kinds without a runtime are skipped). */
  compile(filters: readonly HttpFilterModel[]): readonly CompiledHttpFilter[] {
    const out: CompiledHttpFilter[] = [];
    for (const f of filters) {
      const compiled = this.runtimes.get(f.config.typeUrl)?.compile(f.name, f.config);
      if (compiled) out.push(compiled);
    }
    return out;
  }
}

/** The runtimes meshlet ships: fault (the router needs none: it is the engine itself). */
export function defaultHttpFilterRuntimes(): HttpFilterRegistry {
  return new HttpFilterRegistry().register(faultFilter);
}
