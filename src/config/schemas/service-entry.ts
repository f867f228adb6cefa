/**
 * networking.istio.io ServiceEntry and WorkloadEntry schemas. ServicePort protocols are
 * upper-cased (Istio accepts any case; bookinfo writes `http`).
 */
import { isIP } from 'node:net';
import { arrayOf, enumOf, int, mapOf, obj, port, report, str, type Schema, type WalkContext } from '../schema.js';
import { checkUnique, cidrProblem, dnsLabelProblem, exportTo, hostProblem, stringMap } from './common.js';

/** Protocols Istio understands (`protocol.Parse`); anything else is rejected as unsupported. */
export const PROTOCOLS = ['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'GRPC-WEB', 'TCP', 'TLS', 'UDP', 'MONGO', 'MYSQL', 'REDIS', 'THRIFT', 'HTTP_PROXY'];

/** A port protocol, any case in, upper case out. */
export const protocol: Schema = str({
  upper: true,
  check: (p) => (PROTOCOLS.includes(p.toUpperCase()) ? undefined : `unsupported protocol ${JSON.stringify(p)}: expected one of ${PROTOCOLS.join(', ')}`),
});

const servicePort = obj({
  fields: { number: port(), protocol, name: str({ check: dnsLabelProblem }), targetPort: port() },
  required: ['number'],
});

function addressProblem(a: string): string | undefined {
  if (isIP(a) || a.startsWith('unix://')) return undefined;
  return hostProblem(a, { star: false }) ? `invalid address ${JSON.stringify(a)}: expected an IP, a DNS name or unix:// path` : undefined;
}

const workloadFields = {
  address: str({ check: addressProblem }),
  ports: mapOf(port(), { key: (k) => dnsLabelProblem(k) }),
  labels: stringMap,
  network: str(),
  locality: str(),
  weight: int({ min: 0, max: 4294967295 }),
  serviceAccount: str(),
};

const workloadCheck = (v: Record<string, unknown>, ctx: WalkContext, path: string): void => {
  if (!v.address) {
    if (!v.network) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'address is required (unless network is set for a cross-network workload)');
    else report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'address is unset with network populated; this is not recommended', { severity: 'warning' });
  }
};

/** WorkloadEntry `spec` (also each ServiceEntry endpoint). */
export const workloadEntrySpec: Schema = obj({ fields: workloadFields, check: workloadCheck });

/** ServiceEntry `spec`. */
export const serviceEntrySpec: Schema = obj({
  fields: {
    hosts: arrayOf(str({ nonEmpty: true, check: (h) => hostProblem(h, { star: false }) }), { nonEmpty: true }),
    addresses: arrayOf(str({ check: cidrProblem })),
    ports: arrayOf(servicePort),
    location: enumOf(['MESH_EXTERNAL', 'MESH_INTERNAL']),
    resolution: enumOf(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN']),
    endpoints: arrayOf(workloadEntrySpec),
    workloadSelector: obj({ fields: { labels: stringMap } }),
    exportTo,
    subjectAltNames: arrayOf(str({ nonEmpty: true })),
  },
  required: ['hosts'],
  oneOf: [{ fields: ['endpoints', 'workloadSelector'] }],
  unsupported: {
    addresses: 'there is no traffic capture: callers dial the host name, so virtual IPs are never matched',
    exportTo: 'every resource is visible to every namespace',
    subjectAltNames: 'server identities come from the endpoints\' service accounts, or a DestinationRule\'s tls.subjectAltNames',
  },
  check: (v, ctx, path) => {
    checkUnique(v.ports, 'number', ctx, `${path}.ports`, 'port number');
    checkUnique(v.ports, 'name', ctx, `${path}.ports`, 'port name');
    const hosts = v.hosts as string[];
    const endpoints = (v.endpoints as Array<{ address?: string; ports?: Record<string, number> }> | undefined) ?? [];
    const resolution = (v.resolution as string | undefined) ?? 'NONE';
    if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
      hosts.forEach((h, i) => {
        if (h.startsWith('*')) report(ctx, `${path}.hosts[${i}]`, 'MESHLET_ERR_CONFIG_SCHEMA', `hosts must be fully qualified when resolution is ${resolution} and no endpoints are given`);
      });
    }
    const portNames = new Set(((v.ports as Array<{ name?: string }> | undefined) ?? []).map((p) => p.name));
    endpoints.forEach((e, i) => {
      if (resolution === 'STATIC' && e.address && !isIP(e.address) && !e.address.startsWith('unix://')) {
        report(ctx, `${path}.endpoints[${i}].address`, 'MESHLET_ERR_CONFIG_SCHEMA', `endpoint address ${JSON.stringify(e.address)} must be an IP (or unix://) for STATIC resolution`);
      }
      for (const name of Object.keys(e.ports ?? {})) {
        if (!portNames.has(name)) report(ctx, `${path}.endpoints[${i}].ports["${name}"]`, 'MESHLET_ERR_CONFIG_SCHEMA', `endpoint port ${JSON.stringify(name)} is not defined by the service entry's ports`);
      }
    });
  },
});
