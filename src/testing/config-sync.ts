/**
 * The test kit's view of the control server's config: what the test applied, plus the faults in
 * force written into the VirtualServices of the faulted hosts. Every change recomputes the
 * desired set and writes only the difference to the store, so disposing the last fault restores
 * the user's VirtualService exactly (or removes the one the kit made).
 */
import { meshError } from '../errors.js';
import { formatDiagnostic, parseConfig } from '../config/index.js';
import { resourceKey, type IstioResource, type VirtualService } from '../config/types.js';
import type { ConfigStore } from '../control/store/types.js';
import { routesService, serviceFqdn, syntheticVirtualService, toIstioFault, withFault, type FaultSpec } from './fault.js';
import type { HTTPFaultInjection } from '../config/types.js';

/**
 * What `t.apply()` takes: YAML text (one or more documents), or resources as objects.
 *
 * @example
 * ```ts
 * const input: ApplyInput = [{ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'r' }, spec: { host: 'ratings' } }];
 * ```
 */
export type ApplyInput = string | object | readonly object[];

/** At most this many documents per `t.apply()`, and this much text. */
const MAX_APPLY_TEXT = 4 * 1024 * 1024;

/**
 * Parses YAML text or plain objects with the same loader as `meshlet apply` (schema validation,
 * coded errors); throws the first error diagnostic as a MeshError.
 *
 * @example
 * ```ts
 * parseInput({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r' }, spec: { hosts: ['ratings'] } });
 * ```
 */
export function parseInput(input: ApplyInput, namespace: string, file = 't.apply'): IstioResource[] {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (Array.isArray(input)) text = input.map((r) => JSON.stringify(r)).join('\n---\n');
  else if (typeof input === 'object' && input !== null) text = JSON.stringify(input);
  else throw meshError('MESHLET_ERR_CONFIG', 't.apply(): pass YAML text, a resource object or an array of them');
  if (text.length > MAX_APPLY_TEXT) throw meshError('MESHLET_ERR_CONFIG_LIMIT', `t.apply(): input is over ${MAX_APPLY_TEXT} characters`);
  const { resources, diagnostics } = parseConfig(text, file, { defaultNamespace: namespace });
  const error = diagnostics.find((d) => d.severity === 'error');
  if (error) throw meshError(error.code, formatDiagnostic(error));
  return resources;
}

/** A resource without its loader bookkeeping (`source`), as JSON. */
function fingerprint(r: IstioResource): string {
  const { source: _source, ...rest } = r;
  return JSON.stringify(rest);
}

interface FaultEntry {
  readonly n: number;
  readonly spec: FaultSpec;
  readonly fqdn: string;
  readonly fault: HTTPFaultInjection | undefined;
}

/**
 * The desired config and the store it is written to.
 *
 * @example
 * ```ts
 * const sync = new ConfigSync(server.store, 'default');
 * sync.addUser(parseInput(yaml, 'default'));
 * const n = sync.addFault({ service: 'ratings', abort: { httpStatus: 503, percentage: 10 } });
 * await sync.write();
 * ```
 */
export class ConfigSync {
  private readonly user = new Map<string, IstioResource>();
  private readonly faults: FaultEntry[] = [];
  private written = new Map<string, string>();
  private seq = 0;

  constructor(private readonly store: ConfigStore, private readonly namespace: string, private readonly domainSuffix = 'cluster.local') {}

  addUser(resources: readonly IstioResource[]): void {
    for (const r of resources) {
      const key = resourceKey(r);
      this.user.delete(key); // re-applied: keeps Istio's oldest-first order by when it was last applied
      this.user.set(key, r);
    }
  }

  /** Adds a fault (validated now); returns its number for {@link removeFault}. */
  addFault(spec: FaultSpec): number {
    const fault = toIstioFault(spec);
    const entry: FaultEntry = { n: ++this.seq, spec, fqdn: serviceFqdn(spec.service, this.namespace, this.domainSuffix), fault };
    this.faults.push(entry);
    try {
      this.desired(); // a bad route name or field fails the call, not a later write
    } catch (err) {
      this.faults.pop();
      throw err;
    }
    return entry.n;
  }

  removeFault(n: number): boolean {
    const i = this.faults.findIndex((f) => f.n === n);
    if (i >= 0) this.faults.splice(i, 1);
    return i >= 0;
  }

  /** FQDNs of the services with a connection-reset fault, with each fault's percentage. */
  resets(): Array<{ fqdn: string; percentage: number }> {
    return this.faults
      .filter((f) => f.spec.reset)
      .map((f) => {
        const p = f.spec.reset?.percentage;
        return { fqdn: f.fqdn, percentage: p === undefined ? 100 : typeof p === 'number' ? p : p.value };
      });
  }

  /** FQDN of a service name as the kit resolves it. */
  fqdn(service: string): string {
    return serviceFqdn(service, this.namespace, this.domainSuffix);
  }

  /** The resources the store should hold: the user's, faulted VirtualServices replaced. */
  desired(): Map<string, IstioResource> {
    const out = new Map(this.user);
    const byHost = new Map<string, FaultEntry[]>();
    for (const f of this.faults) {
      if (!f.fault) continue;
      const list = byHost.get(f.fqdn) ?? [];
      list.push(f);
      byHost.set(f.fqdn, list);
    }
    for (const [fqdn, faults] of byHost) {
      let base: VirtualService | undefined;
      for (const r of this.user.values()) if (r.kind === 'VirtualService' && routesService(r, fqdn, this.domainSuffix)) { base = r; break; }
      let vs = base ?? syntheticVirtualService(fqdn.split('.')[0] as string, fqdn, this.namespace);
      for (const f of faults) vs = withFault(vs, f.spec, f.fault as HTTPFaultInjection, f.n);
      // Through the loader again: the fault's values get the VirtualService schema's checks.
      const [checked] = parseInput(JSON.parse(fingerprint(vs)) as object, this.namespace, `t.fault(${fqdn})`);
      if (checked) out.set(resourceKey(vs), checked);
    }
    return out;
  }

  /** Writes the difference between the desired set and what was written last; true if anything changed. */
  async write(): Promise<boolean> {
    const desired = this.desired();
    const next = new Map<string, string>();
    const changed: IstioResource[] = [];
    for (const [key, r] of desired) {
      const fp = fingerprint(r);
      next.set(key, fp);
      if (this.written.get(key) !== fp) changed.push(r);
    }
    const removed = [...this.written.keys()].filter((k) => !desired.has(k));
    if (changed.length > 0) await this.store.apply(changed, 'meshlet/testing');
    for (const key of removed) {
      const [kind, ns, name] = key.split('/') as [string, string, string];
      await this.store.delete(kind, ns, name);
    }
    this.written = next;
    return changed.length > 0 || removed.length > 0;
  }
}
