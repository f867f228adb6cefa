// Applied config survives a restart: PersistentStore writes what is applied through it into the
// state dir and applies it again on start (issue 11, item 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/index.js';
import { resourceKey } from '../../../src/config/types.js';
import { FileStore } from '../../../src/control/store/file.js';
import { MemoryStore } from '../../../src/control/store/memory.js';
import { APPLIED_FILE, PersistentStore } from '../../../src/control/store/persistent.js';

const SE = (name: string, port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name} }
spec:
  hosts: [${name}.example.com]
  resolution: STATIC
  ports: [{ number: ${port}, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.0.0.1 }]
`;
const parse = (text: string) => {
  const { resources, diagnostics } = parseConfig(text, 'admin:test.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  return resources;
};
const keys = (store: { list(): { kind: string; metadata: { name: string; namespace?: string } }[] }) => store.list().map((r) => resourceKey(r as never));

test('memory store: applied and deleted resources come back after a restart, with their content', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-applied-'));
  try {
    const first = new PersistentStore(new MemoryStore(), dir);
    await first.start();
    assert.deepEqual(first.list(), []);
    await first.apply(parse(SE('a', 80)), 'admin:a.yaml');
    await first.apply(parse(SE('b', 81)), 'admin:b.yaml');
    await first.apply(parse(SE('a', 8080)), 'admin:a.yaml'); // replaces a
    assert.equal(await first.delete('ServiceEntry', 'default', 'b'), true);
    await first.close(); // flushes (a SIGKILL leaves the last completed write, see state-file.ts)

    const second = new PersistentStore(new MemoryStore(), dir);
    await second.start();
    assert.deepEqual(keys(second), ['ServiceEntry/default/a']);
    const a = second.list()[0]!;
    assert.equal(a.kind === 'ServiceEntry' && a.spec.ports?.[0]?.number, 8080);
    assert.equal(a.source?.file, join(dir, APPLIED_FILE), 'a restored resource cites the state file');
    assert.deepEqual(second.errors(), []);
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file store: only what was applied is persisted (the files have the rest); it still shadows a file resource', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-applied-'));
  const config = join(dir, 'config');
  const state = join(dir, 'state');
  try {
    await mkdir(config);
    await writeFile(join(config, 'a.yaml'), SE('a', 80));
    const first = new PersistentStore(new FileStore(config), state);
    await first.start();
    await first.apply(parse(SE('a', 9090) + '---\n' + SE('c', 82)), 'admin:x.yaml');
    await first.close();
    const saved = await readFile(join(state, APPLIED_FILE), 'utf8');
    assert.equal(saved.match(/"kind":"ServiceEntry"/g)?.length, 2, 'the applied a and c, not the file a');
    assert.doesNotMatch(saved, /"source"/, 'no stale file:line is persisted');

    const second = new PersistentStore(new FileStore(config), state);
    await second.start();
    assert.deepEqual(keys(second), ['ServiceEntry/default/a', 'ServiceEntry/default/c']);
    const a = second.list()[0]!;
    assert.equal(a.kind === 'ServiceEntry' && a.spec.ports?.[0]?.number, 9090, 'the applied a still wins over the file');
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a saved resource that no longer validates is reported with file:line; the others are restored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-applied-'));
  try {
    await writeFile(join(dir, APPLIED_FILE), `# hand-edited\n${JSON.stringify(parse(SE('ok', 80))[0]).replace(/,"source":\{[^}]*\}/, '')}\n---\n{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"bad"},"spec":{"hosts":["bad.example.com"],"ports":[{"number":"x"}]}}\n`);
    const store = new PersistentStore(new MemoryStore(), dir);
    await store.start();
    assert.deepEqual(keys(store), ['ServiceEntry/default/ok']);
    const errors = store.errors();
    assert.ok(errors.length > 0);
    assert.ok(errors.every((d) => d.file === join(dir, APPLIED_FILE) && d.line === 4), JSON.stringify(errors));
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('state writes sweep the temp file a SIGKILLed predecessor left mid-write', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-applied-'));
  try {
    const stale = join(dir, `${APPLIED_FILE}.999999.tmp`);
    const other = join(dir, 'announcements.json.999999.tmp');
    await writeFile(stale, 'half a wri');
    await writeFile(other, 'half');
    const store = new PersistentStore(new MemoryStore(), dir);
    await store.start();
    await store.apply(parse(SE('a', 80)), 'admin:a.yaml');
    await store.close();
    await assert.rejects(stat(stale), { code: 'ENOENT' });
    await stat(other); // another file's temp is that file's writer's business
    assert.match(await readFile(join(dir, APPLIED_FILE), 'utf8'), /"name":"a"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
