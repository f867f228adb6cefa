// Issue 11: hostile config costs bounded work and gets a coded error with file:line, never a stall,
// a crash or a value that wraps on the wire.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigPath, parseConfig, type Diagnostic } from '../../../src/config/index.js';
import { parseDuration } from '../../../src/config/duration.js';
import { DEFAULT_CONFIG_LIMITS } from '../../../src/config/limits.js';

const errors = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => d.severity === 'error');
const dr = (body: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
${body}
`;
const vs = (http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews } }]
${http}
`;

/** The classic "billion laughs": 9 levels of 9 aliases each, ~387M nodes once expanded. */
function aliasBomb(): string {
  const lines = ['apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: { name: bomb }', 'x:', '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= 9; i++) lines.push(`  a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  lines.push('spec:', '  hosts: *a9');
  return lines.join('\n');
}

function only(r: ReturnType<typeof parseConfig>): Diagnostic {
  const e = errors(r.diagnostics);
  assert.equal(e.length, 1, JSON.stringify(e));
  return e[0] as Diagnostic;
}

describe('config input limits', () => {
  it('bounds an alias bomb: a coded error at the alias', () => {
    // No clock here (timings belong in bench/): unbounded, this document never finishes (an
    // 18 KB one took 12 s, a 54 KB one 146 s), so the test's own timeout is the bound.
    const r = parseConfig(aliasBomb(), 'bomb.yaml');
    const d = only(r);
    assert.equal(d.code, 'MESHLET_ERR_CONFIG_LIMIT');
    assert.match(d.message, /aliases expand to more than 50000 nodes/);
    assert.equal(d.file, 'bomb.yaml');
    assert.ok(d.line !== undefined && d.line >= 6 && d.line <= 14, `line ${d.line}`);
    assert.equal(r.resources.length, 0);
  });

  it('still follows ordinary aliases, each in constant time', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy: &p { connectionPool: { tcp: { maxConnections: 7 } } }
  subsets:
  - { name: v1, labels: { version: v1 }, trafficPolicy: *p }
`;
    const r = parseConfig(text, 'a.yaml');
    assert.deepEqual(errors(r.diagnostics), []);
    const spec = r.resources[0]?.spec as { subsets: Array<{ trafficPolicy: unknown }>; trafficPolicy: unknown };
    assert.deepEqual(spec.subsets[0]?.trafficPolicy, spec.trafficPolicy);
  });

  it('rejects an alias inside its own anchor as a cycle', () => {
    const d = only(parseConfig('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: c }\nspec: &a { hosts: [*a] }\n', 'c.yaml'));
    assert.equal(d.code, 'MESHLET_ERR_CONFIG_YAML');
    assert.match(d.message, /cycle/);
    assert.equal(d.line, 4);
  });

  it('rejects an alias that names no anchor, at its line', () => {
    const d = only(parseConfig(vs('    timeout: *nowhere'), 'a.yaml'));
    assert.equal(d.code, 'MESHLET_ERR_CONFIG_YAML');
    assert.equal(d.line, 8);
  });

  it('rejects alias expansion deeper than the depth limit', () => {
    const lines = ['a0: &a0 [x]'];
    for (let i = 1; i <= 70; i++) lines.push(`a${i}: &a${i} [*a${i - 1}]`);
    const d = only(parseConfig(lines.join('\n'), 'deep.yaml'));
    assert.equal(d.code, 'MESHLET_ERR_CONFIG_LIMIT');
    assert.match(d.message, /deeper than 64/);
  });

  for (const [name, text] of [
    ['flow', `spec: ${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['flow (700k levels)', `spec: ${'{a: '.repeat(700_000)}`],
    ['block', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
  ] as const) {
    it(`rejects ${name} nesting deeper than 64 levels without recursing`, () => {
      const d = only(parseConfig(text, 'n.yaml'));
      assert.equal(d.code, 'MESHLET_ERR_CONFIG_LIMIT');
      assert.match(d.message, /nesting deeper than 64 levels/);
      assert.ok(d.line !== undefined && d.line >= 1);
    });
  }

  it('keeps the siblings of a document that is nested too deeply', () => {
    const deep = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    const r = parseConfig(`${vs('')}---\n${deep}\n`, 'a.yaml');
    assert.equal(only(r).code, 'MESHLET_ERR_CONFIG_LIMIT');
    assert.equal(r.resources.length, 1);
  });

  it('finds 50,000 duplicate keys in linear time, with yaml\'s message', () => {
    const text = `x:\n${Array.from({ length: 50_000 }, (_, i) => `  k${i % 25_000}: 1`).join('\n')}\n`;
    const d = only(parseConfig(text, 'dup.yaml'));
    assert.equal(d.code, 'MESHLET_ERR_CONFIG_YAML');
    assert.equal(d.message, 'invalid YAML: Map keys must be unique');
    assert.equal(d.line, 25_002);
  });

  it('rejects more documents than the limit, and oversized files and scalars', () => {
    const many = only(parseConfig('a: 1\n---\n'.repeat(DEFAULT_CONFIG_LIMITS.maxDocuments + 1), 'many.yaml'));
    assert.equal(many.code, 'MESHLET_ERR_CONFIG_LIMIT');
    assert.match(many.message, /more than 10000 YAML documents/);
    assert.equal(many.line, 20_000); // the `---` that starts document 10,001
    const big = only(parseConfig(`a: "${'x'.repeat(DEFAULT_CONFIG_LIMITS.maxFileBytes)}"`, 'big.yaml'));
    assert.deepEqual([big.code, big.line], ['MESHLET_ERR_CONFIG_LIMIT', 1]);
    assert.match(big.message, /larger than the 3 MiB limit/);
    const long = only(parseConfig(`a: 1\nb: "${'x'.repeat(DEFAULT_CONFIG_LIMITS.maxScalarLength)}"\n`, 'long.yaml'));
    assert.deepEqual([long.code, long.line], ['MESHLET_ERR_CONFIG_LIMIT', 2]);
    // Limits are options; the defaults are only defaults.
    assert.equal(errors(parseConfig('a: 1\n---\nb: 2\n---\nc: 3\n', 'x.yaml', { limits: { maxDocuments: 2 } }).diagnostics)[0]?.code, 'MESHLET_ERR_CONFIG_LIMIT');
  });

  it('does not read a file larger than the limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshlet-limits-'));
    try {
      await writeFile(join(dir, 'big.yaml'), `a: "${'x'.repeat(400)}"\n`);
      await writeFile(join(dir, 'ok.yaml'), vs(''));
      const r = await loadConfigPath(dir, { limits: { maxFileBytes: 300 } });
      assert.equal(r.resources.length, 1);
      assert.deepEqual(r.diagnostics.map((d) => [d.code, d.file, d.line]), [['MESHLET_ERR_CONFIG_LIMIT', join(dir, 'big.yaml'), 1]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('numbers are bounded by the proto field they land in', () => {
  const cases: Array<[string, string, string]> = [
    ['int32 maxConnections', dr('    connectionPool: { tcp: { maxConnections: 4294967296 } }'), 'spec.trafficPolicy.connectionPool.tcp.maxConnections'],
    ['int32 maxConnections (2^31)', dr('    connectionPool: { tcp: { maxConnections: 2147483648 } }'), 'spec.trafficPolicy.connectionPool.tcp.maxConnections'],
    ['int32 http2MaxRequests', dr('    connectionPool: { http: { http2MaxRequests: 1e12 } }'), 'spec.trafficPolicy.connectionPool.http.http2MaxRequests'],
    ['uint32 consecutive5xxErrors', dr('    outlierDetection: { consecutive5xxErrors: 4294967296 }'), 'spec.trafficPolicy.outlierDetection.consecutive5xxErrors'],
    ['uint32 tcpKeepalive.probes', dr('    connectionPool: { tcp: { tcpKeepalive: { probes: -1 } } }'), 'spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes'],
    ['ring size beyond Envoy\'s 8M', dr('    loadBalancer: { consistentHash: { useSourceIp: true, ringHash: { minimumRingSize: 8388609 } } }'), 'spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize'],
    ['maglev table beyond Envoy\'s bound', dr('    loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 5000087 } } }'), 'spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize'],
    ['int32 retries.attempts', vs('    retries: { attempts: 2147483648 }').replace('  - route: [{ destination: { host: reviews } }]\n', '  - route: [{ destination: { host: reviews } }]\n'), 'spec.http[0].retries.attempts'],
    ['duration beyond Go\'s range', vs('    timeout: 2562048h'), 'spec.http[0].timeout'],
  ];
  for (const [name, text, path] of cases) {
    it(`rejects ${name} with its path and line`, () => {
      const r = parseConfig(text, 'n.yaml');
      const e = errors(r.diagnostics);
      assert.equal(e.length, 1, JSON.stringify(e));
      assert.equal(e[0]?.code, 'MESHLET_ERR_CONFIG_SCHEMA');
      assert.equal(e[0]?.path, path);
      assert.ok((e[0]?.line ?? 0) >= 7, `line ${e[0]?.line}`);
      assert.equal(r.resources.length, 0);
    });
  }

  it('accepts the largest values each field holds', () => {
    for (const text of [
      dr('    connectionPool: { tcp: { maxConnections: 2147483647 }, http: { http2MaxRequests: 2147483647 } }'),
      dr('    outlierDetection: { consecutive5xxErrors: 4294967295 }'),
      dr('    loadBalancer: { consistentHash: { useSourceIp: true, ringHash: { minimumRingSize: 8388608 } } }'),
      dr('    loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 5000011 } } }'),
      vs('    timeout: 2562047h'),
      vs('    timeout: 600h'),
    ]) assert.deepEqual(errors(parseConfig(text, 'ok.yaml').diagnostics), [], text);
  });

  it('requires maglev.tableSize, as Istio does', () => {
    const e = errors(parseConfig(dr('    loadBalancer: { consistentHash: { useSourceIp: true, maglev: {} } }'), 'm.yaml').diagnostics);
    assert.equal(e.length, 1);
  });

  it('parses durations only within Go\'s time.Duration range', () => {
    assert.equal(parseDuration('2562047h47m16.854s'), 9_223_372_036_854);
    assert.equal(parseDuration('2562047h47m16.855s'), undefined);
    assert.equal(parseDuration(`${'9'.repeat(400)}h`), undefined);
  });
});
