import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, formatDiagnostic, parseConfig, type Diagnostic } from '../../../src/config/index.js';
import { BOOKINFO } from './helpers.js';

interface Case {
  name: string;
  yaml: string;
  /** Run analyze too (cross-resource problems). */
  analyze?: boolean;
  code: Diagnostic['code'];
  severity?: Diagnostic['severity'];
  line: number;
  path?: string;
  message?: RegExp;
}

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
`;
const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
`;

const cases: Case[] = [
  {
    name: 'bad indentation',
    yaml: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
 spec:
   hosts: [reviews]
`,
    code: 'MESHLET_ERR_CONFIG_YAML',
    line: 5,
  },
  {
    name: 'unknown field, with a suggestion',
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
      wieght: 100
`,
    code: 'MESHLET_ERR_CONFIG_UNKNOWN_FIELD',
    line: 11,
    path: 'spec.http[0].route[0].wieght',
    message: /did you mean "weight"/,
  },
  {
    name: 'wrong type (quoted weight)',
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
      weight: "100"
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 11,
    path: 'spec.http[0].route[0].weight',
    message: /expected an integer, got string "100"/,
  },
  {
    name: 'bad enum',
    yaml: `${DR}  trafficPolicy:
    loadBalancer:
      simple: round_robin
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 9,
    path: 'spec.trafficPolicy.loadBalancer.simple',
    message: /did you mean ROUND_ROBIN/,
  },
  {
    name: 'bad duration',
    yaml: `${VS}  http:
  - timeout: 10 seconds
    route:
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 8,
    path: 'spec.http[0].timeout',
    message: /invalid duration "10 seconds"/,
  },
  {
    name: 'route and redirect together',
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
    redirect:
      uri: /v2
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 11,
    path: 'spec.http[0].redirect',
    message: /both route and redirect/,
  },
  {
    name: 'weight 150',
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
      weight: 150
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 11,
    path: 'spec.http[0].route[0].weight',
    message: /0\.\.100|<= 100/,
  },
  {
    name: 'negative weight',
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
      weight: -10
    - destination:
        host: reviews
      weight: 110
`,
    code: 'MESHLET_ERR_CONFIG_WEIGHTS',
    line: 11,
    path: 'spec.http[0].route[0].weight',
  },
  {
    name: 'all weights zero',
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
      weight: 0
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_WEIGHTS',
    line: 8,
    path: 'spec.http[0].route',
  },
  {
    name: 'abort status out of range',
    yaml: `${VS}  http:
  - fault:
      abort:
        httpStatus: 600
    route:
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 10,
    path: 'spec.http[0].fault.abort.httpStatus',
  },
  {
    name: 'regex that does not compile',
    yaml: `${VS}  http:
  - match:
    - uri:
        regex: "/api/(v1"
    route:
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 10,
    path: 'spec.http[0].match[0].uri.regex',
  },
  {
    name: 'StringMatch with two kinds',
    yaml: `${VS}  http:
  - match:
    - uri:
        exact: /a
        prefix: /b
    route:
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 11,
    path: 'spec.http[0].match[0].uri.prefix',
    message: /only one of exact, prefix, regex/,
  },
  {
    name: 'negative retry attempts',
    yaml: `${VS}  http:
  - retries:
      attempts: -1
    route:
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_SCHEMA',
    line: 9,
    path: 'spec.http[0].retries.attempts',
  },
  {
    name: 'duplicate subset names in one DestinationRule',
    yaml: `${DR}  subsets:
  - name: v1
    labels: {version: v1}
  - name: v1
    labels: {version: v2}
`,
    code: 'MESHLET_ERR_CONFIG_DUPLICATE',
    line: 10,
    path: 'spec.subsets[1].name',
  },
  {
    name: 'ServiceEntry duplicate port',
    yaml: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ext
spec:
  hosts: [api.example.com]
  ports:
  - {number: 443, name: https, protocol: TLS}
  - {number: 443, name: https2, protocol: TLS}
  resolution: DNS
`,
    code: 'MESHLET_ERR_CONFIG_DUPLICATE',
    line: 9,
    path: 'spec.ports[1].number',
  },
  {
    name: 'unknown kind',
    yaml: `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
spec: {}
`,
    code: 'MESHLET_ERR_CONFIG_UNKNOWN_KIND',
    line: 2,
    path: 'kind',
  },
  {
    name: 'missing metadata.name',
    yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  namespace: default
spec:
  host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_RESOURCE',
    line: 4,
    path: 'metadata.name',
  },
  {
    name: 'unknown subset',
    analyze: true,
    yaml: `${DR}  subsets:
  - name: v1
    labels: {version: v1}
---
${VS}  http:
  - route:
    - destination:
        host: reviews
        subset: v4
`,
    code: 'MESHLET_ERR_CONFIG_UNKNOWN_SUBSET',
    line: 21,
    path: 'spec.http[0].route[0].destination.subset',
  },
  {
    name: 'unknown destination host',
    analyze: true,
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviewz
`,
    code: 'MESHLET_ERR_CONFIG_UNKNOWN_HOST',
    line: 10,
    path: 'spec.http[0].route[0].destination.host',
    message: /reviewz\.default\.svc\.cluster\.local/,
  },
  {
    name: 'duplicate resource names',
    analyze: true,
    yaml: `${DR}---
${DR}`,
    code: 'MESHLET_ERR_CONFIG_DUPLICATE',
    line: 11,
    path: 'metadata.name',
  },
  {
    name: 'empty subset (warning)',
    analyze: true,
    yaml: `${DR}  subsets:
  - name: v1
    labels: {version: v1}
  - name: v9
    labels: {version: v9}
`,
    code: 'MESHLET_ERR_CONFIG_EMPTY_SUBSET',
    severity: 'warning',
    line: 10,
    path: 'spec.subsets[1]',
  },
  {
    name: 'weights not summing to 100 (warning)',
    analyze: true,
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
      weight: 30
    - destination:
        host: reviews
      weight: 30
`,
    code: 'MESHLET_ERR_CONFIG_WEIGHTS',
    severity: 'warning',
    line: 8,
    path: 'spec.http[0].route',
  },
  {
    name: 'two VirtualServices for one host (warning)',
    analyze: true,
    yaml: `${VS}  http:
  - route:
    - destination:
        host: reviews
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews-canary
  namespace: default
spec:
  hosts: [reviews.default.svc.cluster.local]
  http:
  - route:
    - destination:
        host: reviews
`,
    code: 'MESHLET_ERR_CONFIG_CONFLICT',
    severity: 'warning',
    line: 18,
    path: 'spec.hosts[0]',
    message: /default\/reviews wins/,
  },
];

describe('bad inputs are reported with code, line and field path', () => {
  for (const c of cases) {
    it(c.name, () => {
      const parsed = parseConfig(c.yaml, 'bad.yaml');
      const diags = c.analyze ? [...parsed.diagnostics, ...analyze(parsed.resources, BOOKINFO)] : parsed.diagnostics;
      const all = diags.map(formatDiagnostic).join('\n');
      const hit = diags.find((d) => d.code === c.code && d.line === c.line && d.path === c.path);
      assert.ok(hit, `expected ${c.code} at line ${c.line} ${c.path ?? ''}; got:\n${all}`);
      assert.equal(hit.severity, c.severity ?? 'error');
      assert.equal(hit.file, 'bad.yaml');
      if (c.message) assert.match(hit.message, c.message);
      if (!c.analyze && hit.severity === 'error') {
        // A resource with an error is left out.
        assert.equal(parsed.resources.length, 0, all);
      }
    });
  }
});
