// The dashboard in a real browser: Debian's Chromium, headless (no display needed), driven by
// playwright-core, loads the admin port's GET / over bookinfo traffic and must render the graph
// with the three services and their rates — read from the DOM, not from the JSON — with no CSP
// violation and no script error. A screenshot is kept under artifacts/ (gitignored).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { createControlServer } from '../../src/control/index.js';
import { Bookinfo } from '../helpers/bookinfo-graph.js';
import { waitFor } from '../helpers/wait.js';

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let b: Bookinfo;
let browser: BrowserContext | undefined;
let profile: string;

before(async () => {
  b = await Bookinfo.start();
  profile = await mkdtemp(join(tmpdir(), 'meshlet-chromium-'));
});

after(async () => {
  await browser?.close();
  await b?.close();
  await rm(profile, { recursive: true, force: true });
});

test('the dashboard renders the service graph with productpage, reviews, ratings and their rates', async (t) => {
  await b.scrapedBaseline();
  await b.drive(10);
  await b.drive(3, 'jason');
  await waitFor(async () => (await b.graph()).edges.some((e) => e.target === 'default/ratings/v1' && e.requests === 10), 20_000, 'the graph to count the traffic', 50);

  // A fresh profile (--user-data-dir): playwright passes it for a persistent context.
  browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${b.admin}/`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });
  // The page polls every 2 s: wait until a render shows all five edges.
  await page.waitForFunction("document.querySelectorAll('#edges tr').length >= 5", undefined, { timeout: 20_000 });

  const nodes = await page.$$eval('#graph g.node text:first-of-type', (els) => els.map((e) => e.textContent ?? ''));
  for (const n of ['productpage v1', 'reviews v2', 'reviews v3', 'ratings v1', 'loadgen v1']) assert.ok(nodes.includes(n), `node ${n} in ${JSON.stringify(nodes)}`);
  const rows = await page.$$eval('#edges tr', (trs) => trs.map((tr) => ({
    source: tr.getAttribute('data-source'), target: tr.getAttribute('data-target'),
    rps: Number(tr.querySelector('td.rps')?.textContent), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
  })));
  const row = (s: string, d: string) => rows.find((r) => r.source === s && r.target === d);
  for (const [s, d, n] of [['loadgen v1', 'productpage v1', 13], ['productpage v1', 'reviews v3', 10], ['productpage v1', 'reviews v2', 3], ['reviews v3', 'ratings v1', 10], ['reviews v2', 'ratings', 3]] as const) {
    const r = row(s, d);
    assert.ok(r, `edge ${s} → ${d} in ${JSON.stringify(rows)}`);
    assert.ok(r.rps > 0, `${s} → ${d} rate ${r.rps}`);
    assert.equal(r.cells[7], String(n), `${s} → ${d} requests`);
  }
  assert.equal(row('reviews v2', 'ratings')!.cells[4], '100.0%', 'the aborted calls are errors');
  // The SVG edges carry the same rates.
  const labels = await page.$$eval('#graph g.edge text', (els) => els.map((e) => e.textContent ?? ''));
  assert.ok(labels.filter((l) => / rps, /.test(l)).length >= 5, JSON.stringify(labels));
  // Per-client sync state: every bookinfo client SYNCED on CDS; identity column filled.
  const clients = await page.$$eval('#clients tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.firstChild?.textContent ?? '')));
  assert.equal(clients.length, 5);
  for (const c of clients) {
    assert.equal(c[5], 'SYNCED', JSON.stringify(c));
    assert.equal(c[2], 'none (plaintext)');
  }
  assert.deepEqual(problems, [], 'no CSP violation, no script error');

  await mkdir(ARTIFACTS, { recursive: true });
  const shot = join(ARTIFACTS, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
});

test('behind an admin token the page asks for it, keeps it in the tab and then shows the data', async () => {
  const token = 'dashboard-test-token-0123456789';
  const server = await createControlServer({ xdsPort: 0, adminPort: 0, adminToken: token, debounceMs: 5 });
  try {
    browser ??= await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${server.adminPort}/`);
    await page.waitForSelector('#login:not([hidden])', { timeout: 20_000 });
    assert.equal(await page.getAttribute('body', 'data-ready'), null, 'no data without the token');
    await page.fill('#login-token', token);
    await page.click('#login-go');
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });
    assert.match((await page.textContent('#version')) ?? '', /^config \S+/);
    assert.equal(await page.isHidden('#login'), true);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await server.close();
  }
});
