// The HTTP filter chain keyed by type URL: a new filter is a decoder (config → model, with
// field-path errors) plus a runtime (model → compiled filter), registered by type URL; the engine
// compiles the listener's filters once per snapshot and runs them in the listener's order.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpFilterRegistry, defaultHttpFilterRuntimes } from '../../../src/core/filters/registry.js';
import { faultFilter } from '../../../src/core/filters/fault.js';
import type { HttpFilterRuntime } from '../../../src/core/filters/types.js';
import type { FilterConfigModel, HttpFilterModel } from '../../../src/core/model/index.js';
import { defaultHttpFilterDecoders, filterConfig } from '../../../src/xds/resources/filters.js';
import { oneService, req } from './fixtures.js';

const TIMEOUT_URL = 'type.googleapis.com/example.TimeoutFilter';
type Ext = Extract<FilterConfigModel, { kind: 'extension' }>;

/** A toy filter: sets the route timeout to the number its config holds. */
const timeoutRuntime: HttpFilterRuntime<Ext> = {
  typeUrl: TIMEOUT_URL,
  compile: (name, config) => ({ name, onForward: (_ctx, plan) => void (plan.timeoutMs = config.value as number) }),
};

function entry(name: string, ms: number): HttpFilterModel {
  return { name, typeUrl: TIMEOUT_URL, config: { kind: 'extension', typeUrl: TIMEOUT_URL, value: ms } };
}

describe('HTTP filter chain', () => {
  test('a registered decoder turns its type URL into a model; unknown types are errors unless optional', () => {
    const decoders = defaultHttpFilterDecoders().register({
      typeUrl: TIMEOUT_URL,
      decode: (any, path, errors) => {
        const ms = Number(Buffer.from(any.value ?? new Uint8Array()).toString());
        if (!Number.isInteger(ms) || ms <= 0) return void errors.push(`${path}.value: not a positive integer`);
        return { kind: 'extension', typeUrl: TIMEOUT_URL, value: ms };
      },
    });
    const errors: string[] = [];
    assert.deepEqual(filterConfig({ type_url: TIMEOUT_URL, value: Buffer.from('250') }, 'f[0]', errors, false, decoders), { kind: 'extension', typeUrl: TIMEOUT_URL, value: 250 });
    assert.equal(filterConfig({ type_url: TIMEOUT_URL, value: Buffer.from('x') }, 'f[1]', errors, false, decoders), undefined);
    assert.deepEqual(errors, ['f[1].value: not a positive integer']);
    const unknown: string[] = [];
    assert.equal(filterConfig({ type_url: TIMEOUT_URL, value: Buffer.from('1') }, 'f[2]', unknown), undefined, 'the default decoders do not know it');
    assert.match(unknown[0] ?? '', /^f\[2\]: unsupported filter type/);
    assert.deepEqual(filterConfig({ type_url: TIMEOUT_URL }, 'f[3]', [], true), { kind: 'unsupported', typeUrl: TIMEOUT_URL, optional: true });
  });

  test('the engine compiles the chain with its registry and runs filters in the listener order', () => {
    const filters = defaultHttpFilterRuntimes().register(timeoutRuntime);
    const engine = oneService({ engine: { httpFilters: filters }, listener: { httpFilters: [entry('first', 100), entry('second', 700)] } });
    const r = engine.route(req());
    assert.equal(r.kind, 'forward');
    assert.equal(r.kind === 'forward' && r.plan.timeoutMs, 700, 'the later filter ran last');
  });

  test('a filter without a runtime in the engine compiles to nothing (the default chain ignores it)', () => {
    const engine = oneService({ listener: { httpFilters: [entry('first', 100)] } });
    const r = engine.route(req());
    assert.equal(r.kind === 'forward' && r.plan.timeoutMs, undefined);
    assert.deepEqual(new HttpFilterRegistry().register(faultFilter).compile([entry('x', 1)]), []);
  });
});
