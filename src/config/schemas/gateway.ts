/**
 * networking.istio.io Gateway schema. Port protocols are upper-cased like ServicePort's.
 */
import { arrayOf, enumOf, obj, port, report, str, type Schema } from '../schema.js';
import { bool, checkUnique, dnsLabelProblem, hostProblem, stringMap } from './common.js';
import { protocol } from './service-entry.js';

/** Gateway hosts are `[namespace/]host`, the namespace being a name, `*`, `.` or `~`. */
function gatewayHostProblem(v: string): string | undefined {
  const slash = v.indexOf('/');
  if (slash >= 0) {
    const ns = v.slice(0, slash);
    if (ns !== '*' && ns !== '.' && ns !== '~' && dnsLabelProblem(ns)) return `invalid namespace ${JSON.stringify(ns)} in gateway host ${JSON.stringify(v)}`;
  }
  return hostProblem(v.slice(slash + 1), { ip: true });
}

const TLS_VERSIONS = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

const serverTls = obj({
  fields: {
    httpsRedirect: bool(),
    mode: enumOf(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']),
    serverCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    credentialName: str(),
    subjectAltNames: arrayOf(str({ nonEmpty: true })),
    minProtocolVersion: enumOf(TLS_VERSIONS),
    maxProtocolVersion: enumOf(TLS_VERSIONS),
    cipherSuites: arrayOf(str({ nonEmpty: true })),
  },
  check: (v, ctx, path) => {
    const mode = v.mode as string | undefined;
    if ((mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && !v.credentialName) {
      if (!v.serverCertificate) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `${mode} TLS needs serverCertificate (or credentialName)`);
      if (!v.privateKey) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `${mode} TLS needs privateKey (or credentialName)`);
      if (mode !== 'SIMPLE' && !v.caCertificates) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `${mode} TLS needs caCertificates (or credentialName)`);
    }
    const min = TLS_VERSIONS.indexOf((v.minProtocolVersion as string | undefined) ?? 'TLS_AUTO');
    const max = TLS_VERSIONS.indexOf((v.maxProtocolVersion as string | undefined) ?? 'TLS_AUTO');
    if (min > 0 && max > 0 && min > max) report(ctx, `${path}.minProtocolVersion`, 'MESHLET_ERR_CONFIG_SCHEMA', 'minProtocolVersion is above maxProtocolVersion');
  },
});

const server = obj({
  fields: {
    port: obj({ fields: { number: port(), protocol, name: str({ nonEmpty: true }), targetPort: port() }, required: ['number', 'protocol', 'name'] }),
    bind: str(),
    hosts: arrayOf(str({ nonEmpty: true, check: gatewayHostProblem }), { nonEmpty: true }),
    tls: serverTls,
    defaultEndpoint: str(),
    name: str({ nonEmpty: true }),
  },
  required: ['port', 'hosts'],
  check: (v, ctx, path) => {
    const proto = (v.port as { protocol: string }).protocol;
    const secure = proto === 'HTTPS' || proto === 'TLS';
    const tls = v.tls as { httpsRedirect?: boolean; mode?: string } | undefined;
    if (secure && !tls) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `server with protocol ${proto} must have tls settings`);
    if (!secure && tls && tls.mode !== undefined) {
      report(ctx, `${path}.tls`, 'MESHLET_ERR_CONFIG_SCHEMA', `only HTTPS/TLS servers may set tls.mode (protocol is ${proto}); plain-text servers may only set httpsRedirect`);
    }
  },
});

/** Gateway `spec`. */
export const gatewaySpec: Schema = obj({
  fields: { selector: stringMap, servers: arrayOf(server, { nonEmpty: true }) },
  required: ['servers'],
  check: (v, ctx, path) => checkUnique(v.servers, 'name', ctx, `${path}.servers`, 'server name'),
});
