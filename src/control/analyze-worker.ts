// Entry of the config-analysis worker thread (see analysis.ts): keeps its own copy of the
// config and the services, updated by deltas, and answers each batch of deltas with one
// { seq, diagnostics } after running analyze() over the whole copy. (No top-level await: the
// CJS bundle cannot have it.)
import { parentPort } from 'node:worker_threads';
import { analyze } from '../config/analyze.js';
import type { IstioResource } from '../config/types.js';
import type { ServiceModel } from './model.js';

/** One message from the control server's thread. */
export interface AnalysisDelta {
  seq: number;
  domainSuffix: string;
  /** Resources added or replaced, by key. */
  resources: Array<[string, IstioResource]>;
  removedResources: string[];
  services: ServiceModel[];
  removedServices: string[];
}

const port = parentPort;
if (port) {
  const resources = new Map<string, IstioResource>();
  const services = new Map<string, ServiceModel>();
  let suffix = 'cluster.local';
  let seq = 0;
  let scheduled = false;
  const run = () => {
    scheduled = false;
    const keys = [...resources.keys()].sort();
    const hosts = [...services.keys()].sort();
    try {
      const diagnostics = analyze(keys.map((k) => resources.get(k)!), { services: hosts.map((h) => services.get(h)!), domainSuffix: suffix });
      port.postMessage({ seq, diagnostics });
    } catch (err) {
      port.postMessage({ seq, error: String((err as Error)?.stack ?? err) });
    }
  };
  port.on('message', (d: AnalysisDelta) => {
    suffix = d.domainSuffix;
    seq = d.seq;
    for (const k of d.removedResources) resources.delete(k);
    for (const [k, r] of d.resources) resources.set(k, r);
    for (const h of d.removedServices) services.delete(h);
    for (const s of d.services) services.set(s.hostname, s);
    // Deltas that queued up while analyze() ran are all applied before the next run.
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  });
}
