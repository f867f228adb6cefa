/**
 * security.istio.io schemas: PeerAuthentication, AuthorizationPolicy, RequestAuthentication.
 */
import { arrayOf, duration, enumOf, mapOf, obj, report, str, type Schema, type WalkContext } from '../schema.js';
import { bool, cidrProblem, workloadSelector } from './common.js';

const mtls = obj({ fields: { mode: enumOf(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']) } });

const hasSelector = (v: Record<string, unknown>): boolean =>
  Object.keys((v.selector as { matchLabels?: object } | undefined)?.matchLabels ?? {}).length > 0;

/** PeerAuthentication `spec`. */
export const peerAuthenticationSpec: Schema = obj({
  fields: {
    selector: workloadSelector,
    mtls,
    portLevelMtls: mapOf(mtls, {
      key: (k) => (/^\d+$/.test(k) && Number(k) >= 1 && Number(k) <= 65535 ? undefined : `port ${JSON.stringify(k)} must be a number 1..65535`),
    }),
  },
  check: (v, ctx, path) => {
    if (v.portLevelMtls && !hasSelector(v)) {
      report(ctx, `${path}.portLevelMtls`, 'MESHLET_ERR_CONFIG_SCHEMA', 'portLevelMtls needs a workload selector (mesh- and namespace-wide policies cannot set it)');
    }
  },
});

const nonEmptyList = arrayOf(str({ nonEmpty: true }));
const ipList = arrayOf(str({ check: cidrProblem }));
const portString = str({
  check: (p) => (/^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535 ? undefined : `port ${JSON.stringify(p)} must be a number 1..65535 (written as a string)`),
});

/** Istio CheckServiceAccount: `sa` or `ns/sa`, no wildcards. */
function serviceAccountProblem(v: string): string | undefined {
  if (v.includes('*')) return `service account ${JSON.stringify(v)}: wildcards are not allowed`;
  const parts = v.split('/');
  return parts.length > 2 || parts.some((p) => p === '') ? `service account ${JSON.stringify(v)} must be <sa> or <namespace>/<sa>` : undefined;
}

/**
 * Istio CheckValidPathTemplate: `{*}` and `{**}` only as whole segments, `{**}` last, no other
 * `{`/`}`; a path with a template has only pchar literals around it.
 */
function pathTemplateProblem(path: string): string | undefined {
  if (!path.includes('{') && !path.includes('}')) return undefined;
  if (!path.startsWith('/')) return `path template ${JSON.stringify(path)} must start with /`;
  let any = false;
  for (const seg of path.slice(1).split('/')) {
    if (any) return `path template ${JSON.stringify(path)}: {**} must be the last operator`;
    if (seg === '{**}') any = true;
    else if (seg !== '{*}' && /[{}]/.test(seg)) return `path template ${JSON.stringify(path)}: { and } are only allowed as {*} or {**} segments`;
    else if (seg !== '{*}' && !/^[A-Za-z0-9\-._~%!$&'()+,;:@=]*$/.test(seg)) return `path template ${JSON.stringify(path)}: segment ${JSON.stringify(seg)} is not a valid literal`;
  }
  return undefined;
}
const pathList = arrayOf(str({ nonEmpty: true, check: pathTemplateProblem }));

const notEmpty = (what: string) => (v: Record<string, unknown>, ctx: WalkContext, path: string): void => {
  if (Object.keys(v).length === 0) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `${what} must not be empty`);
};

const source = obj({
  fields: {
    principals: nonEmptyList,
    notPrincipals: nonEmptyList,
    requestPrincipals: nonEmptyList,
    notRequestPrincipals: nonEmptyList,
    namespaces: nonEmptyList,
    notNamespaces: nonEmptyList,
    ipBlocks: ipList,
    notIpBlocks: ipList,
    remoteIpBlocks: ipList,
    notRemoteIpBlocks: ipList,
    serviceAccounts: arrayOf(str({ check: serviceAccountProblem })),
    notServiceAccounts: arrayOf(str({ check: serviceAccountProblem })),
  },
  check: notEmpty('source'),
});

const operation = obj({
  fields: {
    hosts: nonEmptyList,
    notHosts: nonEmptyList,
    ports: arrayOf(portString),
    notPorts: arrayOf(portString),
    methods: nonEmptyList,
    notMethods: nonEmptyList,
    paths: pathList,
    notPaths: pathList,
  },
  check: notEmpty('operation'),
});

const CONDITION_KEYS = new Set([
  'source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences',
  'request.auth.presenter', 'destination.ip', 'destination.port', 'connection.sni',
]);
const IP_KEYS = new Set(['source.ip', 'remote.ip', 'destination.ip']);

function conditionKeyProblem(k: string): string | undefined {
  if (CONDITION_KEYS.has(k) || /^request\.headers\[[^\]]+\]$/.test(k) || /^request\.auth\.claims(\[[^\]]+\])+$/.test(k)) return undefined;
  if (k.startsWith('experimental.envoy.filters.')) return undefined;
  return `unsupported condition key ${JSON.stringify(k)}`;
}

const condition = obj({
  fields: { key: str({ check: conditionKeyProblem }), values: arrayOf(str()), notValues: arrayOf(str()) },
  required: ['key'],
  check: (v, ctx, path) => {
    const key = v.key as string;
    if (!v.values && !v.notValues) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', `condition ${JSON.stringify(key)} needs values or notValues`);
    for (const field of ['values', 'notValues'] as const) {
      ((v[field] as string[] | undefined) ?? []).forEach((x, i) => {
        const problem = IP_KEYS.has(key) ? cidrProblem(x) : key === 'destination.port' && !/^\d+$/.test(x) ? `port ${JSON.stringify(x)} must be a number` : undefined;
        if (problem) report(ctx, `${path}.${field}[${i}]`, 'MESHLET_ERR_CONFIG_SCHEMA', problem);
      });
    }
  },
});

const rule = obj({
  fields: {
    from: arrayOf(obj({ fields: { source }, required: ['source'] })),
    to: arrayOf(obj({ fields: { operation }, required: ['operation'] })),
    when: arrayOf(condition),
  },
});

/** AuthorizationPolicy `spec`. */
export const authorizationPolicySpec: Schema = obj({
  fields: {
    selector: workloadSelector,
    action: enumOf(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']),
    provider: obj({ fields: { name: str({ nonEmpty: true }) }, required: ['name'] }),
    rules: arrayOf(rule),
  },
  check: (v, ctx, path) => {
    const action = (v.action as string | undefined) ?? 'ALLOW';
    if (action === 'CUSTOM' && !v.provider) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'action CUSTOM needs a provider');
    if (action !== 'CUSTOM' && v.provider) report(ctx, `${path}.provider`, 'MESHLET_ERR_CONFIG_SCHEMA', `provider is only allowed with action CUSTOM, not ${action}`);
  },
});

function uriProblem(u: string): string | undefined {
  try {
    const url = new URL(u);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : `jwksUri ${JSON.stringify(u)} must be http or https`;
  } catch {
    return `jwksUri ${JSON.stringify(u)} is not a valid URL`;
  }
}

const jwtRule = obj({
  fields: {
    issuer: str({ nonEmpty: true }),
    audiences: nonEmptyList,
    jwksUri: str({ check: uriProblem }),
    jwks: str(),
    fromHeaders: arrayOf(obj({ fields: { name: str({ nonEmpty: true }), prefix: str() }, required: ['name'] })),
    fromParams: nonEmptyList,
    fromCookies: nonEmptyList,
    outputPayloadToHeader: str(),
    forwardOriginalToken: bool(),
    outputClaimToHeaders: arrayOf(obj({ fields: { header: str({ nonEmpty: true }), claim: str({ nonEmpty: true }) }, required: ['header', 'claim'] })),
    timeout: duration({ min: 1 }),
  },
  required: ['issuer'],
});

/** RequestAuthentication `spec`. */
export const requestAuthenticationSpec: Schema = obj({ fields: { selector: workloadSelector, jwtRules: arrayOf(jwtRule) } });
