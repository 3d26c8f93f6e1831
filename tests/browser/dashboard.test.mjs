// Loads the dashboard in headless Chromium against a running service with seeded data (run.sh
// starts both): enters a key, filters the portfolio, opens an assessment, and checks that the
// radar chart and the factor breakdown are shown, with no Content-Security-Policy violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = process.env.BASE_URL ?? assert.fail('BASE_URL must name the running service');
const API_KEY = process.env.API_KEY ?? 'test-key';
const SCREENSHOT = process.env.SCREENSHOT ?? 'dashboard.png';
const REFERENCE_DIR = process.env.REFERENCE_DIR ?? assert.fail('REFERENCE_DIR must name the seeded profiles');
const TIMEOUT_MS = 15_000;
// The policy another change adds to HTML responses; applied here so the page is tested under it.
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

const seeded = readdirSync(REFERENCE_DIR).filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(REFERENCE_DIR, name), 'utf8')));
const DISC = 'intervertebral_disc_degeneration';
const discCount = seeded.filter((profile) => profile.program?.indication === DISC).length;
// run.sh files the disc profiles under one program; the statistics count each program once.
const programCount = seeded.length - discCount + 1;

test('the dashboard shows the portfolio, filters it, and explains an assessment', async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.setDefaultTimeout(TIMEOUT_MS);
    const problems = [];
    page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
    page.on('pageerror', (error) => problems.push(error.message));
    const apiRequests = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/v1/')) apiRequests.push(request);
      assert.ok(request.url().startsWith(BASE_URL), `nothing is loaded from elsewhere: ${request.url()}`);
    });
    await page.route(`${BASE_URL}/dashboard/`, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': CSP } });
    });

    const root = await page.request.get(`${BASE_URL}/`, { maxRedirects: 0 });
    assert.equal(root.headers().location, '/dashboard/', '/ leads to the dashboard');
    // Opened directly: Playwright does not route the target of a redirect.
    const document = await page.goto(`${BASE_URL}/dashboard/`);
    assert.equal(document.headers()['content-security-policy'], CSP, 'the page runs under the strict policy');
    assert.equal(await page.locator('#dashboard').isHidden(), true, 'nothing is shown before a key');

    await page.fill('#api-key', API_KEY);
    await page.click('#key-form button[type=submit]');
    const rows = page.locator('#portfolio tbody tr');
    await page.waitForFunction((count) => document.querySelectorAll('#portfolio tbody tr').length === count, seeded.length);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('msc-readiness.api-key')), API_KEY);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'the key is kept in the session only');
    assert.equal(await page.locator('#distribution .bar-row').count(), 7, 'a distribution bar per barrier');
    const limitingTotal = await page.locator('#limiting .bar-value').evaluateAll(
      (cells) => cells.reduce((sum, cell) => sum + Number(cell.textContent), 0));
    assert.equal(limitingTotal, programCount, 'each program\'s latest assessment has one limiting barrier');
    assert.equal(await page.locator('#distribution .box').count(), 7, 'a quartile box per barrier');

    await page.selectOption('#filters [name=indication]', DISC);
    await page.click('#filters button[type=submit]');
    await page.waitForFunction((count) => document.querySelectorAll('#portfolio tbody tr').length === count, discCount);
    for (const cell of await rows.locator('td:nth-child(2)').allTextContents()) {
      assert.equal(cell, 'Intervertebral disc degeneration');
    }
    // The portfolio panels follow the filters: the statistics count the one disc program only.
    await page.waitForFunction(() => document.querySelector('#distribution-note').textContent.includes('(1 program)'));
    const discLimiting = await page.locator('#limiting .bar-value').evaluateAll(
      (cells) => cells.reduce((sum, cell) => sum + Number(cell.textContent), 0));
    assert.equal(discLimiting, 1, 'the limiting counts cover the filtered programs');

    await rows.first().locator('button').click();
    const radar = page.locator('#radar svg[role=img]');
    await radar.waitFor();
    const labels = await radar.locator('text tspan').allTextContents();
    for (const barrier of ['Survival', 'Retention', 'Variability', 'Scalability', 'Safety', 'Outcomes', 'Regulatory']) {
      assert.ok(labels.includes(barrier), `the radar labels ${barrier}`);
    }
    assert.ok((await radar.locator('desc').textContent()).includes('Overall readiness index'));
    await page.locator('#trend svg[role=img]').waitFor();
    const breakdown = page.locator('#breakdown details');
    assert.equal(await breakdown.count(), 7, 'a breakdown per barrier');
    await breakdown.first().locator('summary').click();
    assert.ok(await breakdown.first().locator('.factors tbody tr').count() > 0, 'factor lines are shown');
    assert.ok(await page.locator('#breakdown .citations li').count() > 0, 'with their citations');
    assert.ok(await page.locator('#mitigations li').count() > 0, 'top mitigations are shown');
    assert.equal(await page.locator('#readiness').isVisible(), true, 'the readiness level is shown');
    assert.match(await page.locator('#readiness .level').textContent(), /^MSC-TRL \d/);
    assert.ok(await page.locator('#readiness .roadmap li').count() > 0, 'with the roadmap to the next level');
    assert.equal(await page.locator('#message').isHidden(), true, await page.locator('#message').textContent());

    for (const request of apiRequests) {
      assert.equal(request.headers().authorization, `Bearer ${API_KEY}`, `${request.url()} carries the key`);
    }
    assert.ok(apiRequests.some((request) => request.url().includes('/chart.svg')), 'the chart is fetched with the key');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await radar.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-radar.png') });
    assert.deepEqual(problems, [], 'no console errors and no Content-Security-Policy violations');
  } finally {
    await browser.close();
  }
});
