// Opens an eksguard HTML report in headless Chromium and prints what a reader sees, as
// JSON on standard output, for the Rust test to compare with the JSON report.
//
//   node report.mjs check REPORT.html SCREENSHOT.png
//   node report.mjs chunks REPORT.html
//   node report.mjs facts REPORT.html RULE   (the rule's fact table, sorted by each column)
//   node report.mjs bench REPORT.html [RUNS]   (times: wall clock, and the renderer's
//                                             main-thread busy time until interactive)
//
// Chromium is CHROMIUM or /usr/bin/chromium; each run gets a fresh profile directory.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function open(fn) {
  const profile = mkdtempSync(join(tmpdir(), 'eksguard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 1300 },
  });
  try {
    return await fn(context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const visible = (page) => page.$$eval('#findings-table details.f', (rows) => rows.filter((r) => !r.hidden).length);
const shown = async (page) => Number(await page.textContent('#shown'));

async function check(file, screenshot) {
  return open(async (context) => {
    const page = await context.newPage();
    const outside = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) outside.push(r.url()); });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(resolve(file)).href);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10000 });
    await page.waitForSelector('html[data-complete="1"]', { timeout: 30000 });
    const out = { outside, errors };
    out.cards = await page.$$eval('.card .n[data-severity]', (ns) =>
      Object.fromEntries(ns.map((n) => [n.dataset.severity, Number(n.textContent)])));
    out.total = Number(await page.textContent('#total'));
    out.shown = await shown(page);
    out.visible = await visible(page);
    out.filtersShown = await page.isVisible('#filters');

    await page.selectOption('#f-sev', 'critical');
    out.critical = { shown: await shown(page), visible: await visible(page) };
    out.critical.badges = await page.$$eval('#findings-table details.f', (rows) =>
      [...new Set(rows.filter((r) => !r.hidden).map((r) => r.querySelector('.badge').textContent))]);
    await page.selectOption('#f-sev', '');

    await page.fill('#f-text', 'storefront');
    await page.waitForFunction((n) => Number(document.getElementById('shown').textContent) !== n, out.total);
    out.text = { shown: await shown(page), visible: await visible(page) };
    out.text.resources = await page.$$eval('#findings-table details.f', (rows) =>
      [...new Set(rows.filter((r) => !r.hidden).map((r) => r.querySelector('summary').children[2].textContent))]);
    await page.fill('#f-text', '');
    await page.waitForFunction((n) => Number(document.getElementById('shown').textContent) === n, out.total);
    out.cleared = await shown(page);

    // Sorting by rule puts the smallest rule ID first.
    await page.click('#findings-table .head button[data-sort="r"]');
    out.firstRuleSorted = await page.$eval('#findings-table .rows details.f summary b', (c) => c.textContent);

    // A row opens on its details: the field path and, for file input, the code frame.
    await page.click('#findings-table .head button[data-sort="s"]');
    await page.click('#findings-table .head button[data-sort="s"]');
    const first = page.locator('#findings-table .rows details.f').first();
    await first.locator('summary').click();
    out.opened = {
      fieldPath: await first.locator('dd code').first().textContent(),
      frame: await first.locator('pre.frame .hit').count(),
      remediation: await first.locator('p.fix').isVisible(),
    };
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot, fullPage: false });
    return out;
  });
}

// A report longer than one chunk: every row arrives, filters see the late ones, and a
// row of the last chunk opens on its details.
async function chunks(file) {
  return open(async (context) => {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(resolve(file)).href);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 30000 });
    await page.waitForSelector('html[data-complete="1"]', { timeout: 60000 });
    const out = { errors };
    out.total = Number(await page.textContent('#total'));
    out.rows = await page.$$eval('#findings-table details.f', (r) => r.length);
    out.inertLeft = await page.$$eval('noscript.chunk', (n) => n.length);
    out.order = await page.$$eval('#findings-table details.f', (r) => r.map((x) => Number(x.dataset.i)));
    await page.selectOption('#f-sev', 'high');
    out.high = { shown: await shown(page), visible: await visible(page) };
    await page.selectOption('#f-sev', '');
    const last = page.locator('#findings-table .rows details.f').last();
    await last.locator('summary').click();
    out.lastFieldPath = await last.locator('.body dd code').first().textContent();
    return out;
  });
}

async function bench(file, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    times.push(await open(async (context) => {
      const page = await context.newPage();
      // The renderer's main-thread busy time: the work itself, whatever else the machine
      // is doing; the wall-clock times depend on that too.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
      const busy = async () => {
        const { metrics } = await cdp.send('Performance.getMetrics');
        return metrics.find((m) => m.name === 'TaskDuration').value * 1000;
      };
      const before = await busy();
      await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'commit' });
      await page.waitForSelector('html[data-ready="1"]', { timeout: 60000 });
      const ready = await page.evaluate(() => performance.getEntriesByName('eksguard-ready')[0].startTime);
      const readyBusy = (await busy()) - before;
      await page.waitForSelector('html[data-complete="1"]', { timeout: 120000 });
      const complete = await page.evaluate(() => performance.getEntriesByName('eksguard-complete')[0].startTime);
      // Interactive: a search over every row answers.
      const t0 = Date.now();
      await page.fill('#f-text', 'zzz-no-such-text');
      await page.waitForFunction(() => document.getElementById('shown').textContent === '0');
      const filter = Date.now() - t0;
      return {
        ready_ms: Math.round(ready),
        ready_main_thread_ms: Math.round(readyBusy),
        all_rows_ms: Math.round(complete),
        filter_ms: filter,
      };
    }));
  }
  return { runs: times };
}

// A rule's fact table: the resources in page order, then after one and two clicks on
// every column's header.
async function facts(file, rule) {
  return open(async (context) => {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(resolve(file)).href);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10000 });
    const table = `#facts-${rule} table`;
    const order = () => page.$$eval(`${table} tbody tr`, (rows) => rows.map((r) => r.cells[1].textContent));
    const out = { errors, initial: await order(), columns: {} };
    const headers = await page.$$eval(`${table} th button`, (b) => b.map((x) => x.textContent));
    for (let i = 0; i < headers.length; i++) {
      const button = page.locator(`${table} th button`).nth(i);
      await button.click();
      const first = await order();
      await button.click();
      out.columns[headers[i]] = [first, await order()];
    }
    return out;
  });
}

const [mode, file, arg] = process.argv.slice(2);
const result = mode === 'bench' ? await bench(file, Number(arg || 3))
  : mode === 'chunks' ? await chunks(file)
  : mode === 'facts' ? await facts(file, arg) : await check(file, arg);
process.stdout.write(JSON.stringify(result) + '\n');
