// Loads the dashboard in headless Chromium against a running service with seeded data (run.sh
// starts both): enters a key, filters the portfolio, sorts it, exports it, compares two
// assessments, opens an assessment (radar, breakdown, `unclear`, warnings, citations), prints its
// report to PDF, and checks the layout at 400 px, with no console error or policy violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
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
const ARTIFACTS = SCREENSHOT.replace(/[^/]*$/, '');

/** Debian's Chromium, headless, with nothing fetched from elsewhere. */
const launchBrowser = () => chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function newPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.setDefaultTimeout(TIMEOUT_MS);
  return page;
}

test('the dashboard shows the portfolio, filters it, and explains an assessment', async () => {
  const browser = await launchBrowser();
  try {
    const page = await newPage(browser);
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
    // By default each program once, through its latest assessment.
    await page.waitForFunction((count) => document.querySelectorAll('#portfolio tbody tr').length === count, programCount);
    const programCells = await rows.locator('td.program').allTextContents();
    assert.equal(programCells.filter((cell) => cell === 'DISC-101 · Disc program').length, 1, 'the disc program is one row, by key and name');
    // Labels come from the model document: no wire name leaks into the table.
    const tableText = await page.locator('#portfolio tbody').textContent();
    for (const leak of ['_', 'Phase1 2', 'Als', 'Gvhd']) assert.ok(!tableText.includes(leak), `no "${leak}" in the table`);
    const indicationOptions = await page.locator('#filters [name=indication] option').count();
    const model = await (await page.request.get(`${BASE_URL}/v1/model`, { headers: { Authorization: `Bearer ${API_KEY}` } })).json();
    assert.equal(indicationOptions, model.labels.indication.length + 1, 'the indication options are the model\'s');
    for (const name of ['program_id', 'indication', 'stage', 'tissue_source', 'route', 'limiting_barrier', 'readiness_level', 'min_overall', 'max_overall', 'range_barrier', 'range_min', 'range_max', 'model_version', 'created_from', 'created_before', 'history']) {
      assert.equal(await page.locator(`#filters [name=${name}]`).count(), 1, `a ${name} filter`);
    }

    // A barrier's score range: the rows and the request follow it.
    await page.selectOption('#filters [name=range_barrier]', 'safety');
    await page.fill('#filters [name=range_min]', '50');
    const [ranged] = await Promise.all([
      page.waitForResponse((response) => response.url().includes('/v1/assessments?') && response.url().includes('min_safety=50')),
      page.click('#filters button[type=submit]')]);
    const rangedCount = (await ranged.json()).items.length;
    await page.waitForFunction((count) => document.querySelectorAll('#portfolio tbody tr').length === count, rangedCount);
    assert.ok(rangedCount < programCount, 'the range leaves some programs out');
    await page.click('#filters button[type=reset]');
    await page.waitForFunction((count) => document.querySelectorAll('#portfolio tbody tr').length === count, programCount);

    // History on demand: every assessment.
    await page.check('#filters [name=history]');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction((count) => document.querySelectorAll('#portfolio tbody tr').length === count, seeded.length);
    assert.equal((await rows.locator('td.program').allTextContents()).filter((cell) => cell === 'DISC-101 · Disc program').length, discCount);

    // Sortable: by overall index, highest first, then lowest first.
    const overall = async () => (await rows.locator('td:nth-child(6)').allTextContents()).map(Number);
    const sorted = (order) => page.waitForResponse((response) => response.url().includes(`/v1/assessments?`) && response.url().includes(`sort=overall_index&order=${order}`));
    await Promise.all([sorted('desc'), page.click('#portfolio th[data-sort=overall_index] button')]);
    assert.equal(await page.locator('#portfolio th[data-sort=overall_index]').getAttribute('aria-sort'), 'descending');
    await page.waitForFunction(() => { const cells = [...document.querySelectorAll('#portfolio tbody td:nth-child(6)')].map((cell) => Number(cell.textContent)); return cells.every((value, index) => index === 0 || cells[index - 1] >= value); });
    const descending = await overall();
    await Promise.all([sorted('asc'), page.click('#portfolio th[data-sort=overall_index] button')]);
    assert.equal(await page.locator('#portfolio th[data-sort=overall_index]').getAttribute('aria-sort'), 'ascending');
    await page.waitForFunction(() => { const cells = [...document.querySelectorAll('#portfolio tbody td:nth-child(6)')].map((cell) => Number(cell.textContent)); return cells.every((value, index) => index === 0 || cells[index - 1] <= value); });
    assert.deepEqual(await overall(), [...descending].sort((a, b) => a - b), 'the same rows, lowest first');

    // Exports of the filtered view, in both formats.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csvPath = `${ARTIFACTS}export.csv`;
    await csvDownload.saveAs(csvPath);
    const csvLines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
    assert.ok(csvLines[0].startsWith('id,program_id,program_key,program_name,'), csvLines[0]);
    assert.equal(csvLines.length - 1, seeded.length, 'a CSV row per assessment of the view');
    const [ndjsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-ndjson')]);
    const ndjsonPath = `${ARTIFACTS}export.ndjson`;
    await ndjsonDownload.saveAs(ndjsonPath);
    const ndjsonRows = readFileSync(ndjsonPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(ndjsonRows.filter((row) => row.program_key === 'DISC-101').length, discCount);

    // Side by side: two assessments of the disc program.
    const discRows = rows.filter({ has: page.locator('td.program', { hasText: 'DISC-101' }) });
    await discRows.nth(0).locator('input.select').check();
    assert.equal(await page.locator('#compare-selected').isDisabled(), true, 'two are needed');
    await discRows.nth(1).locator('input.select').check();
    await page.click('#compare-selected');
    await page.locator('#comparison-radar svg[role=img]').waitFor();
    assert.equal(await page.locator('#comparison-radar polygon.side-a').count(), 1, 'the radar overlays A');
    assert.equal(await page.locator('#comparison-radar polygon.side-b').count(), 1, 'and B');
    assert.equal(await page.locator('#comparison-barriers tbody tr').count(), 7, 'a difference per barrier');
    assert.ok(await page.locator('#comparison-inputs tbody tr td.input').count() > 0, 'the inputs that changed');
    assert.match(await page.locator('#comparison-summary').textContent(), /DISC-101 · Disc program/);
    await page.locator('#comparison').screenshot({ path: `${ARTIFACTS}comparison.png` });

    // The portfolio over time, as a chart with a text alternative.
    const series = page.locator('#timeseries svg[role=img]');
    await series.waitFor();
    assert.ok(await series.locator('circle.point').count() > 0, 'a point per period');
    assert.match(await series.locator('desc').textContent(), /mean \d+\.\d over \d+/);

    await page.uncheck('#filters [name=history]');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('msc-readiness.api-key')), API_KEY);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'the key is kept in the session only');
    assert.equal(await page.locator('#distribution .bar-row').count(), 7, 'a distribution bar per barrier');
    const limitingTotal = await page.locator('#limiting .bar-value').evaluateAll(
      (cells) => cells.reduce((sum, cell) => sum + Number(cell.textContent), 0));
    assert.equal(limitingTotal, programCount, 'each program\'s latest assessment has one limiting barrier');
    assert.equal(await page.locator('#distribution .box').count(), 7, 'a quartile box per barrier');

    await page.selectOption('#filters [name=indication]', DISC);
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#portfolio tbody tr').length === 1);
    assert.equal(await rows.locator('td:nth-child(4)').textContent(), model.labels.indication.find((entry) => entry.value === DISC).label);
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
    const levelCells = await page.locator('#breakdown .factors tbody td:nth-child(3)').allTextContents();
    assert.ok(levelCells.every((cell) => !cell.includes('_')), `factor levels by their labels: ${levelCells.find((cell) => cell.includes('_'))}`);
    assert.ok(await page.locator('#breakdown .citations li').count() > 0, 'with their citations');
    assert.ok(await page.locator('#mitigations li').count() > 0, 'top mitigations are shown');
    assert.equal(await page.locator('#readiness').isVisible(), true, 'the readiness level is shown');
    assert.match(await page.locator('#readiness .level').textContent(), /^MSC-TRL \d/);
    assert.ok(await page.locator('#readiness .roadmap li').count() > 0, 'with the roadmap to the next level');
    assert.equal(await page.locator('#message').isHidden(), true, await page.locator('#message').textContent());
    // Citations are linked where the registry has an identifier, and statuses are explained.
    const identified = new Set(model.evidence.filter((entry) => entry.doi || entry.pmid || entry.pmcid || entry.registry_id || entry.url).map((entry) => entry.id));
    const checkLinks = async () => {
      const citations = await page.locator('#detail .citations li').evaluateAll((items) => items.map((item) => ({
        claim: item.querySelector('.claim')?.textContent, links: [...item.querySelectorAll('a')].map((link) => link.href) })));
      for (const citation of citations) {
        assert.equal(citation.links.length > 0, identified.has(citation.claim), `claim ${citation.claim} is linked exactly when the registry identifies its source`);
        for (const href of citation.links) assert.match(href, /^https:\/\//);
      }
      return citations.filter((citation) => citation.links.length).length;
    };
    let linkedCitations = await checkLinks();
    assert.ok(await page.locator('#detail .citations abbr.status[title]').count() > 0, 'each status says what it means');
    assert.ok(await page.locator('#status-legend dt').count() >= 5, 'the statuses are explained');

    // The stroke program: unclear, with a serious warning, shown on its page.
    await page.click('#filters button[type=reset]');
    await page.selectOption('#filters [name=indication]', 'ischemic_stroke');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#portfolio tbody tr').length === 1);
    await rows.first().locator('button').click();
    await page.waitForFunction(() => document.querySelector('#detail-heading').textContent.includes('assessment of'));
    const stroke = seeded.find((profile) => profile.program?.indication === 'ischemic_stroke');
    const scored = await (await page.request.post(`${BASE_URL}/v1/score`, { headers: { Authorization: `Bearer ${API_KEY}` }, data: { profile: stroke } })).json();
    assert.equal(await page.locator('#detail-unclear').isVisible(), scored.overall.unclear, 'unclear is shown exactly when the result is unclear');
    assert.equal(await page.locator('#warning-list li[class^=severity-]').count(), scored.warnings.length, 'every warning is shown');
    if (scored.warnings.some((warning) => warning.severity === 'serious')) {
      assert.match(await page.locator('#warning-list li').first().textContent(), /^Serious/, 'serious warnings first');
    }
    await page.locator('#detail').screenshot({ path: `${ARTIFACTS}program-page.png` });
    const detailText = await page.locator('#detail').evaluate((section) => section.innerText);
    assert.ok(!detailText.includes('`'), 'model text shows code as code, not as backticks');
    linkedCitations += await checkLinks();
    // The approved program cites outside sources the registry identifies.
    await page.selectOption('#filters [name=indication]', 'gvhd_acute');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#portfolio tbody td:nth-child(4)')?.textContent.includes('graft'));
    await rows.first().locator('button').click();
    await page.waitForFunction(() => document.querySelector('#detail-heading').textContent.includes('assessment of') && document.querySelector('#detail .citations li'));
    linkedCitations += await checkLinks();
    assert.ok(linkedCitations > 0, 'some citations link to their sources');

    // The printable report, and a PDF printed from it.
    const [reportPage] = await Promise.all([page.context().waitForEvent('page'), page.click('#open-report')]);
    await reportPage.waitForLoadState();
    assert.match(await reportPage.locator('h1').textContent(), /./);
    assert.ok(await reportPage.locator('section.inputs tbody tr').count() > 0, 'the report lists the inputs');
    await reportPage.close();
    const printer = await browser.newPage();
    await printer.setExtraHTTPHeaders({ Authorization: `Bearer ${API_KEY}` });
    const id = await rows.first().getAttribute('data-id');
    const report = await printer.goto(`${BASE_URL}/v1/assessments/${id}/report`);
    assert.equal(report.status(), 200);
    const styled = await printer.evaluate(() => [...document.styleSheets].some((sheet) => sheet.href?.endsWith('/dashboard/report.css')));
    assert.ok(styled, 'the report loads its stylesheet');
    const pdfPath = `${ARTIFACTS}report.pdf`;
    await printer.screenshot({ path: `${ARTIFACTS}report.png`, fullPage: true });
    await printer.pdf({ path: pdfPath, format: 'A4', printBackground: true });
    assert.equal(readFileSync(pdfPath).subarray(0, 5).toString(), '%PDF-', 'a PDF is printed');
    assert.ok(statSync(pdfPath).size > 10_000, 'with content');
    await printer.close();

    // 400 px: nothing is cut off; the table scrolls within its box.
    await page.setViewportSize({ width: 400, height: 900 });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-400px.png`, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((element) => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !element.parentElement.closest('.table-scroll'))
      .slice(0, 8).map((element) => `${element.tagName}#${element.id}.${element.className}`));
    assert.ok(overflow <= 0, `the page fits 400 px (overflow ${overflow} px: ${wide.join(', ')})`);
    await page.setViewportSize({ width: 1366, height: 900 });

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

test('running jobs show as progress bars until they end, then the portfolio is read again', async () => {
  const browser = await launchBrowser();
  try {
    const page = await newPage(browser);
    const problems = [];
    page.on('pageerror', (error) => problems.push(error.message));
    // The service's own answer, with one job of it replaced by a job under way: a real import
    // would finish before the page could be looked at. The second read finds it ended.
    let reads = 0;
    await page.route(`${BASE_URL}/v1/jobs?active=true`, async (route) => {
      reads += 1;
      const response = await route.fetch();
      const body = await response.json();
      assert.deepEqual(body.items, [], 'the seeded service has no job under way');
      const running = { id: '01890000-0000-7000-8000-000000000001', kind: 'import', state: 'running', total: 120, processed: 45, failed: 2, rate_per_second: 15, seconds_left: 5 };
      await route.fulfill({ response, json: { ...body, items: reads === 1 ? [running] : [] } });
    });
    await page.goto(`${BASE_URL}/dashboard/`);
    await page.fill('#api-key', API_KEY);
    const portfolioReads = [];
    page.on('request', (request) => { if (new URL(request.url()).pathname === '/v1/assessments') portfolioReads.push(request); });
    await page.click('#key-form button[type=submit]');

    const bar = page.locator('#job-list progress');
    await bar.waitFor();
    assert.equal(await bar.getAttribute('max'), '120');
    assert.equal(await bar.getAttribute('value'), '45');
    const text = await page.locator('#job-list .job span').textContent();
    assert.equal(text, 'Import (running): 45 of 120 lines · 2 with errors · 15/s · about 5 s left');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-jobs.png` });

    const readsBefore = portfolioReads.length;
    await page.locator('#jobs').waitFor({ state: 'hidden' });
    await page.waitForFunction(() => document.querySelectorAll('#portfolio tbody tr').length > 0);
    assert.ok(reads >= 2, 'the jobs were read again');
    assert.ok(portfolioReads.length > readsBefore, 'the portfolio is read again once the jobs have ended');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
