// A response that crosses the client's unsubscribe must still be answered: the server drops the
// unsubscribe as stale (its nonce is older than the response it just sent) and learns the new,
// empty subscription only from the client's answer to that response. Without it the server keeps
// the old names pending forever (test/fuzz/xds-model.test.ts found this, seed 7).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { FakeAds } from '../helpers/fake-ads.js';
import { clusterRoute, routeConfig } from '../helpers/xds-resources.js';

let ads: FakeAds | undefined;
let client: XdsClient | undefined;
after(async () => {
  await client?.close();
  ads?.shutdown();
});

test('a response to a type unsubscribed meanwhile is answered with the empty names', async () => {
  ads = await FakeAds.start();
  client = new XdsClient({ server: ads.address, node: buildNode({ id: 'unsub' }), backoff: { initialMs: 50, maxMs: 200, jitter: 0 }, delta: false });
  const watch = client.watch(TYPE_URL.route, 'r1', { onChange() {} });
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.route && (r.resource_names ?? []).join() === 'r1');
  const n1 = ads.push(TYPE_URL.route, '1', [routeConfig('r1', [clusterRoute('c1')])]);
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.route && r.response_nonce === n1);

  watch.dispose();
  await ads.waitForRequest((r) => r.type_url === TYPE_URL.route && (r.resource_names ?? []).length === 0 && r.response_nonce === n1);
  // The server had already sent this before it read the unsubscribe (which it then drops as stale).
  const n2 = ads.push(TYPE_URL.route, '2', []);
  const answer = await ads.waitForRequest((r) => r.type_url === TYPE_URL.route && r.response_nonce === n2);
  assert.deepEqual(answer.resource_names ?? [], []);
  assert.equal(answer.error_detail, undefined);
  assert.equal(client.get(TYPE_URL.route, 'r1'), undefined);
});
