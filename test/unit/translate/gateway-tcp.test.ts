// Gateway TLS PASSTHROUGH and TCP listeners (Istio gateway.go buildGatewayNetworkFiltersFromTLSRoutes /
// FromTCPRoutes): the LDS shape, then the client's decode + validation of that shape (the model the
// gateway serves) and its NACKs with field paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DestinationRule, Gateway, IstioResource } from '../../../src/config/types.js';
import type { Proxy } from '../../../src/control/proxy.js';
import { buildContext } from '../../../src/control/translate/context.js';
import { gatewayResources } from '../../../src/control/translate/gateway.js';
import { decodeListener, validateListener } from '../../../src/xds/resources/listener.js';
import { TCP_PROXY_TYPE_URL, TLS_INSPECTOR_TYPE_URL } from '../../../src/xds/resources/tcp-listener.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { packAny } from '../../../src/xds/wire/any.js';
import { encode } from '../../helpers/xds-resources.js';
import { bookinfoServices, meta, vs } from './fixtures.js';

const ingress: Proxy = { id: 'router~1~gw~istio-system.svc.cluster.local', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, kind: 'gateway' };

function gateway(name: string, spec: Gateway['spec'], namespace = 'default'): Gateway {
  return { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: meta(name, namespace), spec };
}

/** The gateway's listeners, each also decoded and validated as the gateway client does. */
function gen(resources: IstioResource[]) {
  const ctx = buildContext(resources, bookinfoServices(resources));
  const out = gatewayResources(ctx, resources, ingress);
  return out.listeners.map((l) => {
    const r = validateListener(decodeListener(encode(TYPE_URL.listener, l.message as Record<string, unknown>)));
    assert.ok(r.ok, JSON.stringify(r));
    return { name: l.name, message: l.message as Record<string, any>, model: r.model };
  });
}

// Istio's "Ingress Gateway without TLS Termination" task, verbatim apart from the host's namespace.
const mygateway = gateway('mygateway', {
  selector: { istio: 'ingressgateway' },
  servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['nginx.example.com'] }],
});
const nginx = vs('nginx', {
  hosts: ['nginx.example.com'],
  gateways: ['mygateway'],
  tls: [{ match: [{ port: 443, sniHosts: ['nginx.example.com'] }], route: [{ destination: { host: 'my-nginx.mesh-external.svc.cluster.local', port: { number: 443 } } }] }],
});

test('Istio\'s passthrough task: one socket listener 0.0.0.0_443, tls_inspector, an SNI chain to the cluster', () => {
  const [l, ...rest] = gen([mygateway, nginx]);
  assert.equal(rest.length, 0);
  assert.equal(l!.name, '0.0.0.0_443');
  assert.deepEqual(l!.message.address, { socket_address: { address: '0.0.0.0', port_value: 443 } });
  assert.equal(l!.message.listener_filters[0].typed_config.type_url, TLS_INSPECTOR_TYPE_URL);
  assert.equal(l!.message.filter_chains[0].filters[0].typed_config.type_url, TCP_PROXY_TYPE_URL);
  assert.deepEqual(l!.model.tcp, {
    address: '0.0.0.0',
    port: 443,
    inspectTls: true,
    chains: [{
      name: 'default/nginx:0',
      serverNames: ['nginx.example.com'],
      transportProtocol: '',
      applicationProtocols: [],
      proxy: { statPrefix: 'outbound|443||my-nginx.mesh-external.svc.cluster.local', clusters: [{ name: 'outbound|443||my-nginx.mesh-external.svc.cluster.local', weight: 1 }], hashSourceIp: false },
    }],
  });
});

test('weighted routes become weighted_clusters (stat prefix <vs>.<ns>); DestinationRule tcp timeouts and useSourceIp apply', () => {
  const dr: DestinationRule = {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta('be', 'default'),
    spec: {
      host: 'be.default.svc.cluster.local',
      trafficPolicy: { connectionPool: { tcp: { idleTimeout: '30s', maxConnectionDuration: '1h' } }, loadBalancer: { consistentHash: { useSourceIp: true } } },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }],
    },
  };
  const split = vs('split', {
    hosts: ['split.example.com'],
    gateways: ['mygateway'],
    tls: [{ match: [{ sniHosts: ['split.example.com'] }], route: [
      { destination: { host: 'be', subset: 'v1', port: { number: 8443 } }, weight: 70 },
      { destination: { host: 'be', subset: 'v2', port: { number: 8443 } }, weight: 30 },
      { destination: { host: 'be', subset: 'v3', port: { number: 8443 } }, weight: 0 },
    ] }],
  });
  const gw = gateway('mygateway', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*.example.com'] }] });
  const [l] = gen([gw, split, dr]);
  assert.deepEqual(l!.model.tcp!.chains[0]!.proxy, {
    statPrefix: 'split.default',
    clusters: [{ name: 'outbound|8443|v1|be.default.svc.cluster.local', weight: 70 }, { name: 'outbound|8443|v2|be.default.svc.cluster.local', weight: 30 }],
    hashSourceIp: true,
    idleTimeoutMs: 30_000,
    maxConnectionDurationMs: 3_600_000,
  });
});

test('match port and gateways select rules; duplicate SNI hosts are skipped; * matches every name (no server_names)', () => {
  const gw = gateway('mygateway', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] }] });
  const dest = { destination: { host: 'be.default.svc.cluster.local', port: { number: 443 } } };
  const rules = vs('rules', {
    hosts: ['*.example.com'],
    gateways: ['mygateway'],
    tls: [
      { match: [{ port: 8443, sniHosts: ['wrong-port.example.com'] }], route: [dest] },
      { match: [{ gateways: ['other-gateway'], sniHosts: ['wrong-gw.example.com'] }], route: [dest] },
      { match: [{ gateways: ['default/mygateway'], sniHosts: ['b.example.com', 'A.example.com'] }], route: [dest] },
      { match: [{ sniHosts: ['a.example.com'] }], route: [dest] },
      { match: [{ sniHosts: ['*'] }], route: [dest] },
    ],
  });
  const [l] = gen([gw, rules]);
  assert.deepEqual(l!.model.tcp!.chains.map((c) => c.serverNames), [['a.example.com', 'b.example.com'], []]);
  assert.equal(l!.model.tcp!.inspectTls, true);
});

test('a TCP server: the first applying tcp route, no tls_inspector; ports the HTTP side serves are left to it', () => {
  const gw = gateway('tcp-gw', {
    selector: { istio: 'ingressgateway' },
    servers: [
      { port: { number: 31400, name: 'tcp', protocol: 'TCP' }, hosts: ['*'] },
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] },
      { port: { number: 80, name: 'tcp-on-80', protocol: 'TCP' }, hosts: ['*'] },
    ],
  });
  const tcp = vs('tcp-echo', {
    hosts: ['*'],
    gateways: ['tcp-gw'],
    tcp: [
      { match: [{ port: 9999 }], route: [{ destination: { host: 'nowhere', port: { number: 1 } } }] },
      { match: [{ port: 31400 }, { port: 80 }], route: [{ destination: { host: 'tcp-echo', port: { number: 9000 } } }] },
    ],
  });
  const out = gen([gw, tcp]);
  const l = out.find((x) => x.name === '0.0.0.0_31400')!;
  assert.equal(l.message.listener_filters, undefined);
  assert.equal(l.message.filter_chains[0].filter_chain_match, undefined);
  assert.deepEqual(l.model.tcp!.chains[0]!.proxy.clusters, [{ name: 'outbound|9000||tcp-echo.default.svc.cluster.local', weight: 1 }]);
  assert.equal(out.find((x) => x.name === '0.0.0.0_80'), undefined);
  assert.ok(out.some((x) => x.name === '0.0.0.0_80/http.80'));
});

test('a passthrough server no VirtualService binds has no listener (Istio: no chains, no listener)', () => {
  assert.deepEqual(gen([mygateway]).map((l) => l.name), []);
});

const tcpProxy = (config: Record<string, unknown>) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: packAny(TCP_PROXY_TYPE_URL, config) });
const inspector = { name: 'envoy.filters.listener.tls_inspector', typed_config: packAny(TLS_INSPECTOR_TYPE_URL, {}) };

function validate(msg: Record<string, unknown>) {
  return validateListener(decodeListener(encode(TYPE_URL.listener, { name: '0.0.0.0_443', address: { socket_address: { address: '0.0.0.0', port_value: 443 } }, ...msg })));
}

test('the client NACKs bad TCP proxy listeners with field paths', () => {
  const r = validate({
    listener_filters: [inspector],
    filter_chains: [
      { filter_chain_match: { server_names: ['ok.example.com', 'bad name'] }, filters: [tcpProxy({ stat_prefix: 's', cluster: 'c' })] },
      { filter_chain_match: { server_names: ['b.example.com'] }, filters: [tcpProxy({ stat_prefix: '', weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } })] },
      { filter_chain_match: { server_names: ['c.example.com'] }, filters: [tcpProxy({ stat_prefix: 's' })] },
      { filter_chain_match: { server_names: ['d.example.com'] }, filters: [tcpProxy({ stat_prefix: 's', cluster: 'c' })] },
      { filter_chain_match: { server_names: ['d.example.com'] }, filters: [tcpProxy({ stat_prefix: 's', cluster: 'c2' })] },
    ],
  });
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors, [
    'filter_chains[0].filter_chain_match.server_names[1]: "bad name" is not a host name or *.suffix wildcard',
    'filter_chains[1].filters[0].typed_config.stat_prefix: empty',
    'filter_chains[1].filters[0].typed_config.weighted_clusters.clusters[0].weight: must be at least 1',
    'filter_chains[2].filters[0].typed_config: neither cluster nor weighted_clusters set',
    'filter_chains[4]: the same filter_chain_match as filter_chains[3]',
  ]);
  const noInspector = validate({ filter_chains: [{ filter_chain_match: { server_names: ['a.example.com'] }, filters: [tcpProxy({ stat_prefix: 's', cluster: 'c' })] }] });
  assert.ok(!noInspector.ok && noInspector.errors.includes('filter_chains[0].filter_chain_match: matches TLS fields but the listener has no tls_inspector'), JSON.stringify(noInspector));
  const port = validateListener(decodeListener(encode(TYPE_URL.listener, { name: 'x', address: { socket_address: { address: '0.0.0.0' } }, filter_chains: [{ filters: [tcpProxy({ stat_prefix: 's', cluster: 'c' })] }] })));
  assert.ok(!port.ok && port.errors.includes('address.socket_address.port_value: not 1–65535'), JSON.stringify(port));
});
