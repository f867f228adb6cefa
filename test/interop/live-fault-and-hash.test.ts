// A stock @grpc/grpc-js-xds client and meshlet's own gRPC client against one control server:
// (1) a fault added to a route by a live VirtualService change, then removed, takes effect for
// both (grpc-js-xds's resource cache compares a new RouteConfiguration by the old one's keys,
// so the translation must make a new per-filter override visible — issue 9 item 7);
// (2) with consistentHash on a header, both send each key to the same one of four hosts
// (xxHash64 and Envoy's ring, as grpc-js-xds builds it — issue 10 item 7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, bothClients, failure, serviceEntry, startBackend, unary, waitFor, type Backend } from '../integration/grpc/fixture.js';

const route = (fault: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - name: main
${fault}    route:
    - destination: { host: reviews, subset: v1 }
`;
const NO_FAULT = route('');
const ABORT = route(`    fault:
      abort:
        httpStatus: 503
        percentage: { value: 100 }
`);

describe('live changes and hashing: grpc-js-xds and meshlet agree', () => {
  let fx: GrpcFixture;
  let xdsClient: grpc.Client;
  let meshClient: grpc.Client;
  const backends: Backend[] = [];

  before(async () => {
    for (let i = 0; i < 4; i++) backends.push(await startBackend(`reviews-${i}`));
    fx = await GrpcFixture.start();
    await fx.apply(serviceEntry({ v1: backends }));
    await fx.apply(NO_FAULT);
    ({ xdsClient, meshClient } = await bothClients(fx, 'interop-live'));
  });

  after(async () => {
    xdsClient?.close();
    await fx?.close();
    await Promise.all(backends.map((x) => x.close()));
  });

  const aborted = async (c: grpc.Client): Promise<boolean> => {
    try {
      await unary(c);
      return false;
    } catch (err) {
      return (err as grpc.ServiceError).code === grpc.status.UNAVAILABLE;
    }
  };

  test('a fault turned on and off live takes effect for the stock client and for meshlet\'s', async () => {
    for (let round = 0; round < 2; round++) {
      await fx.apply(ABORT);
      for (const [name, c] of [['grpc-js-xds', xdsClient], ['meshlet', meshClient]] as const) {
        await waitFor(() => aborted(c), 5_000, `${name} to abort (round ${round})`);
        for (let i = 0; i < 10; i++) assert.equal((await failure(unary(c))).code, grpc.status.UNAVAILABLE, name);
      }
      await fx.apply(NO_FAULT);
      for (const [name, c] of [['grpc-js-xds', xdsClient], ['meshlet', meshClient]] as const) {
        await waitFor(async () => (await unary(c)).from !== undefined, 5_000, `${name} to stop aborting (round ${round})`);
        for (let i = 0; i < 10; i++) assert.ok((await unary(c)).from.startsWith('reviews-'), name);
      }
    }
  });

  test('consistentHash on a header: both clients send each of 200 keys to the same one of 4 hosts', async () => {
    await fx.apply(serviceEntry({ v1: backends }, `  trafficPolicy:
    loadBalancer:
      consistentHash: { httpHeaderName: x-user }
`));
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const hostsOf = async (c: grpc.Client, some = keys): Promise<string[]> => {
      const out: string[] = [];
      for (const k of some) out.push((await unary(c, { 'x-user': k })).from);
      return out;
    };
    // Both clients follow the new cluster (ring hash) once a key maps to one host every time
    // (round robin would spread one key over the hosts); the deadline is generous for loaded CI.
    const settled = async (c: grpc.Client): Promise<boolean> => {
      const some = keys.slice(0, 23); // not a multiple of 4: round robin would not repeat itself
      const a = await hostsOf(c, some);
      const b = await hostsOf(c, some);
      return a.every((h, i) => h === b[i]) && new Set(a).size > 1;
    };
    await waitFor(() => settled(xdsClient), 30_000, 'grpc-js-xds on the ring');
    await waitFor(() => settled(meshClient), 30_000, 'meshlet on the ring');
    const stock = await hostsOf(xdsClient);
    const ours = await hostsOf(meshClient);
    const differ = keys.filter((_, i) => stock[i] !== ours[i]);
    assert.deepEqual(differ, [], `keys sent to different hosts: ${differ.length} of ${keys.length}`);
    assert.equal(new Set(stock).size, 4, 'the keys spread over all four hosts');
  });
});
