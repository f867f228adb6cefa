// The Fastify plugin without fastify-plugin: Fastify sees it by name, checks its version range,
// and applies it to the instance that registered it (not an encapsulated child), so routes
// declared beside it get its request decorator and hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { meshletFastify } from '../../src/fastify.js';
import type { Mesh } from '../../src/mesh/types.js';

// The plugin touches `mesh` only inside its hooks; registration alone never calls it.
const mesh = {} as Mesh;

test('registers as "meshlet" for Fastify 5 and decorates the registering instance', async () => {
  const app = Fastify();
  await app.register(meshletFastify, { mesh });
  await app.ready();
  assert.equal(app.hasPlugin('meshlet'), true);
  assert.equal(app.hasRequestDecorator('mesh'), true, 'not encapsulated: the decorator is on the root instance');
  assert.match(app.printPlugins(), /meshlet/);
  await app.close();
});

test('a Fastify outside the 5.x range refuses it', async () => {
  const app = Fastify();
  Object.defineProperty(app, 'version', { value: '4.28.0' });
  await assert.rejects(async () => { await app.register(meshletFastify, { mesh }); }, (e: { code?: string }) => e.code === 'FST_ERR_PLUGIN_VERSION_MISMATCH');
});
