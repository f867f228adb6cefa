import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, parseConfig } from '../../../src/config/index.js';

/** A full-featured, valid resource of every kind: must load without a single diagnostic. */
const VALID = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: full, namespace: shop}
spec:
  hosts: [reviews, reviews.shop.svc.cluster.local]
  gateways: [mesh, istio-system/ingress]
  exportTo: ["."]
  http:
  - name: canary
    match:
    - uri: {regex: "(?i)^/api/(?P<ver>v[0-9]+)/.*"}
      method: {exact: GET}
      headers: {x-user: {prefix: test-}}
      withoutHeaders: {x-skip: {exact: "1"}}
      queryParams: {debug: {exact: "true"}}
      sourceLabels: {app: productpage}
      port: 9080
      ignoreUriCase: true
    rewrite: {uri: /v2}
    timeout: 1.5s
    retries: {attempts: 3, perTryTimeout: 250ms, retryOn: "5xx,connect-failure,503", retryRemoteLocalities: true}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 12.5}}
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 1}}
    mirrors:
    - destination: {host: reviews, subset: v3}
      percentage: {value: 5}
    corsPolicy:
      allowOrigins: [{exact: "https://example.com"}]
      allowMethods: [GET, POST]
      maxAge: 24h
      allowCredentials: true
    headers:
      request: {set: {x-mesh: "1"}, remove: [x-debug]}
      response: {add: {x-served-by: meshlet}}
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 90
      headers: {response: {set: {x-version: v1}}}
    - destination: {host: reviews, subset: v2}
      weight: 10
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: example.com, derivePort: FROM_REQUEST_PORT, scheme: https, redirectCode: 308}
  - match: [{uri: {exact: /health}}]
    directResponse: {status: 200, body: {string: ok}}
  - delegate: {name: reviews-delegate, namespace: shop}
  tcp:
  - match: [{port: 3306, destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: mysql, port: {number: 3306}}}]
  tls:
  - match: [{port: 443, sniHosts: [reviews.shop.svc.cluster.local]}]
    route: [{destination: {host: login.example.com}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: full, namespace: shop}
spec:
  host: reviews
  exportTo: ["*"]
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpCookie: {name: user, ttl: 0s}, maglev: {tableSize: 65537}}
      localityLbSetting:
        enabled: true
        distribute: [{from: us-west/zone1/*, to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}}]
      warmupDurationSecs: 30s
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 100, maxRequestsPerConnection: 1, maxRetries: 3, idleTimeout: 60s, h2UpgradePolicy: UPGRADE, useClientProtocol: false}
    outlierDetection: {consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50, minHealthPercent: 10}
    tls: {mode: SIMPLE, sni: reviews.example.com, subjectAltNames: [reviews]}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
      tls: {mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem, caCertificates: /etc/ca.pem}
  - name: v2
    labels: {version: v2}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: full, namespace: shop}
spec:
  hosts: [api.example.com, "*.example.org"]
  addresses: [192.168.10.0/24]
  ports:
  - {number: 443, name: https, protocol: https, targetPort: 8443}
  - {number: 80, name: http, protocol: Http}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints:
  - {address: 192.168.10.1, ports: {https: 8443}, labels: {zone: a}, locality: us-west/zone1, weight: 2, network: n1, serviceAccount: ext}
  subjectAltNames: ["spiffe://cluster.local/ns/shop/sa/api"]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ratings-vm, namespace: shop}
spec:
  address: 10.0.0.9
  ports: {http: 9080}
  labels: {app: ratings, version: v2-mysql-vm}
  serviceAccount: ratings
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: full, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: http}
    hosts: ["*"]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["shop/bookinfo.example.com", "./*.example.com"]
    tls: {mode: SIMPLE, credentialName: bookinfo-cert, minProtocolVersion: TLSV1_2, maxProtocolVersion: TLSV1_3}
    name: https-server
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: full, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: STRICT}
  portLevelMtls:
    "9080": {mode: PERMISSIVE}
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: full, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/shop/sa/productpage"], ipBlocks: [10.0.0.0/16]}
    to:
    - operation: {methods: [GET], paths: ["/reviews/*", "/api/{*}/items/{**}"], ports: ["9080"]}
    when:
    - {key: "request.headers[x-user]", values: [alice]}
    - {key: "request.auth.claims[groups]", notValues: [guest]}
    - {key: source.ip, values: [10.1.0.0/16]}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: full, namespace: shop}
spec:
  selector: {matchLabels: {app: productpage}}
  jwtRules:
  - issuer: https://issuer.example.com
    jwksUri: https://issuer.example.com/jwks.json
    audiences: [bookinfo]
    fromHeaders: [{name: authorization, prefix: "Bearer "}]
    fromParams: [token]
    forwardOriginalToken: true
    outputClaimToHeaders: [{header: x-sub, claim: sub}]
    timeout: 5s
`;

describe('every kind and field of the Istio API subset', () => {
  it('loads a full-featured resource of every kind without diagnostics but the not-applied warnings', () => {
    const { resources, diagnostics } = parseConfig(VALID, 'full.yaml');
    const unsupported = diagnostics.filter((d) => d.code === 'MESHLET_ERR_CONFIG_UNSUPPORTED');
    assert.deepEqual(diagnostics.filter((d) => !unsupported.includes(d)).map(formatDiagnostic), []);
    // Valid Istio that meshlet does not apply: a warning each (docs/configuration.md lists them).
    assert.deepEqual(unsupported.map((d) => `${d.severity} ${d.resource?.split('/')[0]} ${d.path}`), [
      'warning VirtualService spec.exportTo',
      'warning VirtualService spec.http[0].retries.retryRemoteLocalities',
      'warning VirtualService spec.http[0].corsPolicy',
      'warning VirtualService spec.tcp',
      'warning VirtualService spec.tls',
      'warning DestinationRule spec.exportTo',
      'warning DestinationRule spec.trafficPolicy.loadBalancer.localityLbSetting',
      'warning DestinationRule spec.trafficPolicy.loadBalancer.warmupDurationSecs',
      'warning DestinationRule spec.trafficPolicy.connectionPool.tcp.tcpKeepalive',
      'warning DestinationRule spec.trafficPolicy.connectionPool.http.idleTimeout',
      'warning DestinationRule spec.trafficPolicy.connectionPool.http.h2UpgradePolicy',
      'warning DestinationRule spec.trafficPolicy.connectionPool.http.useClientProtocol',
      'warning ServiceEntry spec.addresses',
      'warning ServiceEntry spec.subjectAltNames',
    ]);
    assert.deepEqual(resources.map((r) => r.kind), [
      'VirtualService', 'DestinationRule', 'ServiceEntry', 'WorkloadEntry', 'Gateway', 'PeerAuthentication', 'AuthorizationPolicy', 'RequestAuthentication',
    ]);
    const gw = resources[4];
    assert.ok(gw?.kind === 'Gateway');
    assert.equal(gw.spec.servers[0]?.port.protocol, 'HTTP');
    const se = resources[2];
    assert.ok(se?.kind === 'ServiceEntry');
    assert.deepEqual(se.spec.ports?.map((p) => p.protocol), ['HTTPS', 'HTTP']);
  });

  const bad: Array<[string, string, string, RegExp]> = [
    ['SE without hosts', `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {ports: [{number: 80}]}\n`, 'spec', /missing required field "hosts"/],
    ['SE unsupported protocol', `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: [a.com], ports: [{number: 80, protocol: SPDY}]}\n`, 'spec.ports[0].protocol', /unsupported protocol/],
    ['SE DNS wildcard without endpoints', `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: ["*.a.com"], resolution: DNS}\n`, 'spec.hosts[0]', /fully qualified/],
    ['SE endpoint port not declared', `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: [a.com], ports: [{number: 80, name: http}], endpoints: [{address: 1.2.3.4, ports: {grpc: 90}}]}\n`, 'spec.endpoints[0].ports["grpc"]', /not defined/],
    ['WorkloadEntry without address', `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: x}\nspec: {labels: {app: a}}\n`, 'spec', /address is required/],
    ['Gateway HTTPS without tls', `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: x}\nspec: {servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"]}]}\n`, 'spec.servers[0]', /must have tls/],
    ['Gateway server without hosts', `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: x}\nspec: {servers: [{port: {number: 80, name: http, protocol: HTTP}}]}\n`, 'spec.servers[0]', /missing required field "hosts"/],
    ['DR MUTUAL without certificates', `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec: {host: a, trafficPolicy: {tls: {mode: MUTUAL}}}\n`, 'spec.trafficPolicy.tls', /clientCertificate/],
    ['DR consistentHash without key', `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec: {host: a, trafficPolicy: {loadBalancer: {consistentHash: {}}}}\n`, 'spec.trafficPolicy.loadBalancer.consistentHash', /exactly one of httpHeaderName/],
    ['DR simple and consistentHash', `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec: {host: a, trafficPolicy: {loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}}}\n`, 'spec.trafficPolicy.loadBalancer.consistentHash', /only one of simple, consistentHash/],
    ['DR bad subset name', `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec: {host: a, subsets: [{name: V1_old}]}\n`, 'spec.subsets[0].name', /not a valid name/],
    ['DR maxEjectionPercent 150', `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec: {host: a, trafficPolicy: {outlierDetection: {maxEjectionPercent: 150}}}\n`, 'spec.trafficPolicy.outlierDetection.maxEjectionPercent', /0\.\.100/],
    ['VS without routes', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a]}\n`, 'spec', /at least one http, tcp or tls/],
    ['VS "*" host on the mesh', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: ["*"], http: [{route: [{destination: {host: a}}]}]}\n`, 'spec.hosts[0]', /wildcard host/],
    ['VS destination without host', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{route: [{destination: {subset: v1}}]}]}\n`, 'spec.http[0].route[0].destination', /missing required field "host"/],
    ['VS bad retryOn', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{retries: {attempts: 2, retryOn: "5xx,sometimes"}, route: [{destination: {host: a}}]}]}\n`, 'spec.http[0].retries.retryOn', /sometimes/],
    ['VS delay without fixedDelay', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{fault: {delay: {percentage: {value: 5}}}, route: [{destination: {host: a}}]}]}\n`, 'spec.http[0].fault.delay', /fixedDelay/],
    ['VS percentage 101', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{fault: {abort: {httpStatus: 503, percentage: {value: 101}}}, route: [{destination: {host: a}}]}]}\n`, 'spec.http[0].fault.abort.percentage.value', /0\.\.100/],
    ['VS perTryTimeout 0s', `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{retries: {attempts: 1, perTryTimeout: 0s}, route: [{destination: {host: a}}]}]}\n`, 'spec.http[0].retries.perTryTimeout', /at least 1ms/],
    ['PA portLevelMtls without selector', `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec: {portLevelMtls: {"80": {mode: DISABLE}}}\n`, 'spec.portLevelMtls', /selector/],
    ['AP CUSTOM without provider', `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {action: CUSTOM, rules: [{}]}\n`, 'spec', /provider/],
    ['AP bad condition key', `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {rules: [{when: [{key: request.color, values: [red]}]}]}\n`, 'spec.rules[0].when[0].key', /unsupported condition key/],
    ['AP integer port', `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {rules: [{to: [{operation: {ports: [8080]}}]}]}\n`, 'spec.rules[0].to[0].operation.ports[0]', /expected a string/],
    ['AP {**} not last', `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {rules: [{to: [{operation: {paths: ["/a/{**}/b"]}}]}]}\n`, 'spec.rules[0].to[0].operation.paths[0]', /must be the last operator/],
    ['AP partial template', `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {rules: [{to: [{operation: {notPaths: ["/a/x{*}"]}}]}]}\n`, 'spec.rules[0].to[0].operation.notPaths[0]', /only allowed as/],
    ['AP wildcard service account', `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {rules: [{from: [{source: {serviceAccounts: ["ns/*"]}}]}]}\n`, 'spec.rules[0].from[0].source.serviceAccounts[0]', /wildcards/],
    ['RA jwtRule without issuer', `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: x}\nspec: {jwtRules: [{jwksUri: "https://x/jwks"}]}\n`, 'spec.jwtRules[0]', /issuer/],
    ['security kind under networking group', `apiVersion: networking.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec: {}\n`, 'kind', /security\.istio\.io/],
    ['bad resource name', `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: Reviews_DR}\nspec: {host: a}\n`, 'metadata.name', /RFC 1123/],
  ];
  for (const [name, yaml, path, message] of bad) {
    it(`rejects: ${name}`, () => {
      const { resources, diagnostics } = parseConfig(yaml, 'k.yaml');
      const all = diagnostics.map(formatDiagnostic).join('\n');
      const hit = diagnostics.find((d) => d.severity === 'error' && d.path === path && message.test(d.message));
      assert.ok(hit, `expected an error at ${path} matching ${message}; got:\n${all}`);
      assert.ok(hit.line && hit.line >= 2, all);
      assert.equal(resources.length, 0);
    });
  }
});
