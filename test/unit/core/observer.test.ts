// CallObservers: nobody observing costs an undefined; gated observers join only while their gate is open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallObservers, observeEnd, observeStart, subsetOf, type CallObserver, type ObservedCall } from '../../../src/core/observer.js';

const noop = (name: string, seen: string[]): CallObserver<string> => ({ onStart: () => name, onEnd: (s) => void seen.push(s) });

test('current() is undefined with no observer, and with only closed gates', () => {
  const obs = new CallObservers();
  assert.equal(obs.current(), undefined);
  let open = false;
  obs.add(noop('gated', []), () => open);
  assert.equal(obs.current(), undefined);
  open = true;
  assert.equal(obs.current()?.length, 1);
  assert.equal(obs.current(), obs.current(), 'the same list per gate state (no allocation per call)');
});

test('plain and gated observers compose; dispose removes exactly one', () => {
  const obs = new CallObservers();
  const seen: string[] = [];
  const a = obs.add(noop('a', seen));
  obs.add(noop('b', seen));
  let open = true;
  obs.add(noop('g', seen), () => open);
  const list = obs.current()!;
  observeEnd(list, observeStart(list, {} as ObservedCall), {} as ObservedCall);
  assert.deepEqual(seen, ['g', 'a', 'b']);
  a.dispose();
  a.dispose();
  open = false;
  assert.equal(obs.current()?.length, 1);
  const one = obs.current()!;
  seen.length = 0;
  observeEnd(one, observeStart(one, {} as ObservedCall), {} as ObservedCall);
  assert.deepEqual(seen, ['b']);
  assert.equal(list.length, 3, 'a list handed to a call in flight does not change');
});

test('subsetOf reads the subset of an Istio cluster name', () => {
  assert.equal(subsetOf('outbound|9080|v1|reviews.default.svc.cluster.local'), 'v1');
  assert.equal(subsetOf('outbound|9080||reviews.default.svc.cluster.local'), '');
  assert.equal(subsetOf('PassthroughCluster'), '');
});
