// The dashboard's whole front end: vanilla ES module, no build step, no dependencies, so the
// binary serves it as is and it runs under a strict Content-Security-Policy (no inline code or
// styles; bar widths are set through the CSSOM, which CSP allows).

const KEY_STORAGE = 'msc-readiness.api-key';
const PAGE_SIZE = 25;
const TOP_MITIGATIONS = 5;
const SVG_NS = 'http://www.w3.org/2000/svg';

// Read from GET /v1/model once a key is in use: the barriers, bands and every enum's labels, so
// that nothing the model defines is repeated here.
const model = { labels: new Map(), descriptions: new Map(), options: {}, evidence: new Map(), levels: new Map(), bands: [], barriers: [] };

const $ = (selector) => document.querySelector(selector);
const words = (code) => (code ?? 'unknown').replaceAll('_', ' ');
/** The model's label of an enum value (`field` names the enum, as in the API), else the value in words. */
const label = (code, field) => {
  const known = field && model.labels.get(`${field}:${code}`);
  if (known) return known;
  const text = words(code);
  return text.charAt(0).toUpperCase() + text.slice(1);
};
const describe = (code, field) => model.descriptions.get(`${field}:${code}`) ?? '';
/** Model text with its `code` marks shown as code, never as literal backticks. */
const prose = (text) => String(text ?? '').split('`').map((part, index) => (index % 2 ? h('code', {}, part) : part));
const number = (value) => (typeof value === 'number' ? value.toFixed(1) : '–');
// A barrier score is null when nothing is known about the barrier: said in words, never shown as 0.
const score = (value) => (typeof value === 'number' ? value.toFixed(1) : 'unknown');

/** Creates an element; strings and numbers become text nodes, never markup. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'className') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value === true ? '' : value);
  }
  element.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
  return element;
}

class ApiError extends Error {}

/** Fetches from the API with the key; problem documents become readable errors. */
async function api(path, accept = 'application/json') {
  const key = sessionStorage.getItem(KEY_STORAGE);
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${key}`, Accept: accept } });
  } catch {
    throw new ApiError('The service cannot be reached. Check your connection and try again.');
  }
  if (response.ok) return accept === 'application/json' ? response.json() : response.text();
  let problem = {};
  if ((response.headers.get('content-type') ?? '').includes('json')) problem = await response.json().catch(() => ({}));
  const detail = problem.detail ?? response.statusText;
  const hints = {
    401: 'The API key was not accepted. Enter a valid key.',
    403: 'This API key may not do that.',
    429: `Too many requests${response.headers.get('retry-after') ? `; retry in ${response.headers.get('retry-after')} s` : ''}.`,
  };
  const hint = hints[response.status] ?? (response.status >= 500 ? 'The service had a problem; try again shortly.' : '');
  throw new ApiError(`${problem.title ?? 'Error'} (${response.status}): ${detail}. ${hint}`.trim());
}

function showMessage(text) {
  const message = $('#message');
  message.textContent = text ?? '';
  message.hidden = !text;
}

async function guarded(action) {
  try {
    showMessage(null);
    await action();
  } catch (error) {
    showMessage(error instanceof ApiError ? error.message : `Unexpected error: ${error.message}`);
  }
}

// ---- The model: labels, filter options, evidence links ----

async function loadModel() {
  const definition = await api('/v1/model');
  for (const [field, values] of Object.entries(definition.labels ?? {})) {
    model.options[field] = values.map((value) => value.value);
    for (const value of values) {
      model.labels.set(`${field}:${value.value}`, value.label);
      model.descriptions.set(`${field}:${value.value}`, value.description);
    }
  }
  model.barriers = definition.barriers.map((barrier) => barrier.barrier);
  const thresholds = definition.thresholds;
  model.bands = [['critical', 0], ['weak', thresholds.band_weak_from], ['moderate', thresholds.band_moderate_from], ['strong', thresholds.band_strong_from]];
  for (const entry of definition.evidence ?? []) model.evidence.set(entry.id, entry);
  // Each factor's levels have a label in the model: `80_to_89_pct` reads "80-89 %".
  for (const factor of definition.factors ?? []) {
    for (const level of factor.levels ?? []) model.levels.set(`${factor.code}:${level.key}`, level.label);
  }
  const programs = await api('/v1/programs?limit=500');
  fillSelect('program_id', programs.items.map((program) => [program.id, `${program.key} · ${program.name}`]));
  for (const field of ['indication', 'stage', 'tissue_source', 'route']) {
    fillSelect(field, (model.options[field] ?? []).map((value) => [value, label(value, field)]));
  }
  fillSelect('limiting_barrier', model.barriers.map((barrier) => [barrier, label(barrier, 'barrier')]));
  fillSelect('range_barrier', model.barriers.map((barrier) => [barrier, label(barrier, 'barrier')]));
  fillSelect('readiness_level', [...Array(10).keys()].map((level) => [String(level), `MSC-TRL ${level}`]));
  $('#status-legend').replaceChildren(...(model.options.verification_status ?? []).flatMap((status) => [
    h('dt', {}, label(status, 'verification_status')), h('dd', {}, describe(status, 'verification_status'))]));
}

/** A link to the record an identifier names (DOI, PubMed, PMC, trial registration, URL), if any. */
function identifierLink(identifier) {
  const id = String(identifier ?? '').trim();
  if (/^https?:\/\//.test(id)) return id;
  if (/^(doi:)?10\.\S+\/\S+$/.test(id)) return `https://doi.org/${id.replace(/^doi:/, '')}`;
  if (/^(PMID:?\s*)?\d{5,9}$/.test(id)) return `https://pubmed.ncbi.nlm.nih.gov/${id.replace(/\D/g, '')}/`;
  if (/^PMC\d+$/.test(id)) return `https://pmc.ncbi.nlm.nih.gov/articles/${id}/`;
  if (/^NCT\d{8}$/.test(id)) return `https://clinicaltrials.gov/study/${id}`;
  return null;
}

// ---- Portfolio: filters, table, pages ----

const state = { cursors: [null], page: 0, filters: new URLSearchParams(), sort: 'created_at', order: 'desc', selected: [] };

function fillSelect(name, options) {
  const select = $(`#filters [name="${name}"]`);
  select.append(...options.map(([value, text]) => h('option', { value }, text)));
}

/** The filters as the list, statistics and exports read them: latest per program unless history is asked for. */
function filterQuery() {
  const query = new URLSearchParams();
  for (const [name, value] of state.filters) {
    if (name === 'history' || name.startsWith('range_')) continue;
    // Dates are whole days in UTC: the API takes RFC 3339 times.
    query.set(name, name.startsWith('created_') ? `${value}T00:00:00Z` : value);
  }
  if (!state.filters.has('history')) query.set('latest', 'true');
  // One barrier's score range: the list's min_<barrier> and max_<barrier>.
  const barrier = state.filters.get('range_barrier');
  if (barrier) {
    if (state.filters.has('range_min')) query.set(`min_${barrier}`, state.filters.get('range_min'));
    if (state.filters.has('range_max')) query.set(`max_${barrier}`, state.filters.get('range_max'));
  }
  return query;
}

async function loadPage() {
  const query = filterQuery();
  query.set('limit', PAGE_SIZE);
  query.set('sort', state.sort);
  query.set('order', state.order);
  const cursor = state.cursors[state.page];
  if (cursor) query.set('cursor', cursor);
  // The distributions and limiting counts cover the whole filtered portfolio, not just this page.
  const portfolio = filterQuery();
  const [page, summary, limiting, timeseries] = await Promise.all([
    api(`/v1/assessments?${query}`),
    api(`/v1/stats/summary?${portfolio}`),
    api(`/v1/stats/limiting-barriers?${portfolio}`),
    api(`/v1/stats/timeseries?${portfolio}`),
  ]);
  state.cursors[state.page + 1] = page.next_cursor ?? null;
  renderTable(page.items);
  renderDistribution(summary.statistics);
  renderLimiting(limiting);
  renderTimeseries(timeseries);
  $('#first-page').disabled = state.page === 0;
  $('#next-page').disabled = !page.next_cursor;
  $('#page-info').textContent = `Page ${state.page + 1} · ${page.items.length} assessments`;
}

// ---- Jobs: imports and re-scores under way, with their progress ----

/** How often the running jobs are read again while there are any. */
const JOB_POLL_MS = 2000;
let jobPoll = null;

function renderJobs(jobs) {
  const kinds = { import: 'Import', rescore: 'Re-score' };
  $('#jobs').hidden = jobs.length === 0;
  $('#job-list').replaceChildren(...jobs.map((job) => {
    const unit = job.kind === 'import' ? 'lines' : 'assessments';
    const rate = job.rate_per_second ? ` · ${job.rate_per_second}/s` : '';
    const left = job.seconds_left !== null && job.seconds_left !== undefined ? ` · about ${Math.ceil(job.seconds_left)} s left` : '';
    const failed = job.failed ? ` · ${job.failed} with errors` : '';
    const text = `${kinds[job.kind] ?? job.kind} (${job.state}): ${job.processed} of ${job.total} ${unit}${failed}${rate}${left}`;
    return h('li', { className: 'job' },
      h('progress', { max: Math.max(job.total, 1), value: job.processed, 'aria-label': text }),
      h('span', {}, text));
  }));
}

/** Reads the running jobs; while there are any, again every few seconds, and once they have all
 * ended, the portfolio again (they changed it). */
async function loadJobs() {
  clearTimeout(jobPoll);
  const page = await api('/v1/jobs?active=true');
  const wasRunning = !$('#jobs').hidden;
  renderJobs(page.items);
  if (page.items.length) jobPoll = setTimeout(() => guarded(loadJobs), JOB_POLL_MS);
  else if (wasRunning) await loadPage();
}

const programLabel = (item) => (item.program_key ? `${item.program_key} · ${item.program_name}` : 'No program');

function renderTable(items) {
  state.selected = [];
  updateCompareButton();
  $('#portfolio tbody').replaceChildren(...items.map((item) => h('tr', { 'data-id': item.id },
    h('td', {}, h('input', { type: 'checkbox', className: 'select', 'aria-label': `Select ${programLabel(item)} of ${new Date(item.created_at).toLocaleString()} to compare`,
      onchange: (event) => toggleSelected(item.id, event.target.checked) })),
    h('td', { className: 'program' }, programLabel(item)),
    h('td', {}, h('time', { datetime: item.created_at }, new Date(item.created_at).toLocaleString())),
    h('td', {}, label(item.indication, 'indication')),
    h('td', {}, label(item.stage, 'stage')),
    h('td', { className: 'number' }, number(item.overall_index)),
    h('td', { className: 'number' }, String(item.readiness_level ?? 0)),
    h('td', {}, label(item.limiting_barrier, 'barrier')),
    h('td', {}, h('button', { type: 'button', 'data-id': item.id, onclick: () => guarded(() => openAssessment(item.id)) }, 'Open')),
  )));
  $('#empty').hidden = items.length > 0;
}

function toggleSelected(id, on) {
  state.selected = on ? [...state.selected.filter((known) => known !== id), id] : state.selected.filter((known) => known !== id);
  updateCompareButton();
}

function updateCompareButton() {
  $('#compare-selected').disabled = state.selected.length !== 2;
}

/** Sorting by a column header: a second click reverses the order; aria-sort tells screen readers. */
function sortBy(column) {
  state.order = state.sort === column && state.order === 'desc' ? 'asc' : 'desc';
  state.sort = column;
  for (const header of document.querySelectorAll('#portfolio th[data-sort]')) {
    header.setAttribute('aria-sort', header.dataset.sort === column ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none');
  }
  state.cursors = [null];
  state.page = 0;
  return loadPage();
}

/** Downloads the filtered view as a file, fetched with the key (a plain link could not send it). */
async function exportView(format) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const response = await fetch(`/v1/exports/assessments.${format}?${filterQuery()}`, { headers: { Authorization: `Bearer ${key}` } });
  if (!response.ok) throw new ApiError(`The export failed (${response.status}).`);
  const link = $('#download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(await response.blob());
  link.download = `assessments.${format}`;
  link.click();
}

function bandOf(score) {
  return model.bands.reduce((found, [band, from]) => (score >= from ? band : found), 'critical');
}

function bar(className, share, text) {
  const segment = h('span', { className, title: text });
  segment.style.width = `${(100 * share).toFixed(2)}%`;
  return segment;
}

/** Per barrier: the middle half of the scores (first to third quartile) as a box coloured by the
 * median's band, and the median as a line, over each program's latest assessment. */
function renderDistribution(statistics) {
  const of = (metric) => statistics.find((row) => row.metric === metric);
  const count = of('overall_index')?.count ?? 0;
  $('#distribution-note').textContent = count
    ? `Latest assessment of each program matching the filters (${count === 1 ? '1 program' : `${count} programs`}): the box spans the middle half of the scores (first to third quartile), the line marks the median.`
    : 'No assessments match the filters.';
  $('#distribution').replaceChildren(...model.barriers.map((barrier) => {
    const row = of(barrier);
    const summary = row?.count
      ? `${label(barrier, 'barrier')}: median ${number(row.median)}, quartiles ${number(row.q1)}–${number(row.q3)}, range ${number(row.min)}–${number(row.max)}`
      : `${label(barrier, 'barrier')}: unknown (no assessment has a score for it)`;
    const track = h('span', { className: 'bar box-plot', role: 'img', 'aria-label': summary, title: summary });
    if (row?.count) {
      const box = h('span', { className: `box band-${bandOf(row.median)}` });
      box.style.left = `${row.q1}%`;
      box.style.width = `${Math.max(row.q3 - row.q1, 0.5)}%`;
      const median = h('span', { className: 'median' });
      median.style.left = `${row.median}%`;
      track.append(box, median);
    }
    return h('div', { className: 'bar-row', 'data-barrier': barrier },
      h('span', { className: 'bar-label' }, label(barrier, 'barrier')),
      track,
      h('span', { className: 'bar-value' }, row?.count ? `median ${number(row.median)}` : (count ? 'unknown' : '–')));
  }));
  $('#band-legend').replaceChildren(...model.bands.map(([band, from], index) => h('li', {},
    h('span', { className: `swatch band-${band}` }), `${label(band, 'band')} (${from}–${model.bands[index + 1]?.[1] ?? 100})`)));
}

function renderLimiting(counts) {
  const most = Math.max(1, ...counts.map(({ count }) => count));
  $('#limiting').replaceChildren(...counts.map(({ barrier, count }) => h('div', { className: 'bar-row', 'data-barrier': barrier },
    h('span', { className: 'bar-label' }, label(barrier, 'barrier')),
    h('span', { className: 'bar' }, count ? bar('limiting', count / most, `${count}`) : null),
    h('span', { className: 'bar-value' }, String(count)))));
}

/** Creates an SVG element; attributes are presentation attributes, which the page's policy allows. */
function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
  return element;
}

/** The mean overall index per period as a line chart, with a text alternative listing every point. */
function renderTimeseries(periods) {
  const figure = $('#timeseries');
  if (!periods.length) {
    figure.replaceChildren(h('p', { className: 'note' }, 'No assessments match the filters.'));
    return;
  }
  const [width, height, left, bottom, top, right] = [640, 220, 36, 28, 10, 16];
  const x = (index) => left + (periods.length === 1 ? (width - left - right) / 2 : index * (width - left - right) / (periods.length - 1));
  const y = (value) => top + (100 - value) * (height - top - bottom) / 100;
  const month = (period) => new Date(period.period_start).toLocaleDateString(undefined, { year: 'numeric', month: 'short', timeZone: 'UTC' });
  const summary = periods.map((period) => `${month(period)}: mean ${number(period.overall_index)} over ${period.count}`).join('; ');
  const points = periods.filter((period) => typeof period.overall_index === 'number');
  figure.replaceChildren(svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'timeseries-title timeseries-desc', class: 'timeseries-chart' },
    svg('title', { id: 'timeseries-title' }, 'Mean overall readiness index per month'),
    svg('desc', { id: 'timeseries-desc' }, summary),
    [0, 25, 50, 75, 100].map((tick) => [
      svg('line', { x1: left, x2: width - right, y1: y(tick), y2: y(tick), stroke: '#d0d7de' }),
      svg('text', { x: left - 6, y: y(tick) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#57606a' }, String(tick))]),
    periods.map((period, index) => svg('text', { x: x(index), y: height - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#57606a' }, month(period))),
    points.length > 1 ? svg('polyline', { points: points.map((period) => `${x(periods.indexOf(period))},${y(period.overall_index)}`).join(' '), fill: 'none', stroke: '#0969da', 'stroke-width': 2 }) : null,
    points.map((period) => svg('circle', { cx: x(periods.indexOf(period)), cy: y(period.overall_index), r: 4, fill: '#0969da', class: 'point' },
      svg('title', {}, `${month(period)}: mean ${number(period.overall_index)} (${period.count} counted)`)))));
}

// ---- Two assessments side by side ----

async function compareSelected() {
  const [a, b] = state.selected;
  const rows = [a, b].map((id) => document.querySelector(`#portfolio tbody tr[data-id="${id}"]`));
  // The older first, so that changes read forward in time.
  const [from, to] = rows[0].querySelector('time').dateTime <= rows[1].querySelector('time').dateTime ? [a, b] : [b, a];
  const comparison = await api(`/v1/assessments/${encodeURIComponent(from)}/compare/${encodeURIComponent(to)}`);
  const name = (id) => document.querySelector(`#portfolio tbody tr[data-id="${id}"] .program`).textContent;
  const when = (id) => document.querySelector(`#portfolio tbody tr[data-id="${id}"] time`).textContent;
  $('#comparison').hidden = false;
  $('#comparison-summary').textContent = `A: ${name(from)} (${when(from)}, model ${comparison.from_model_version}) → B: ${name(to)} (${when(to)}, model ${comparison.to_model_version}). Overall index ${number(comparison.overall.from)} → ${number(comparison.overall.to)} (${signed(comparison.overall.change)}); limiting barrier ${label(comparison.from_limiting_barrier, 'barrier')} → ${label(comparison.to_limiting_barrier, 'barrier')}. On the radar A is dashed (orange), B solid (blue).`;
  renderComparisonRadar(comparison);
  $('#comparison-barriers').replaceChildren(
    h('thead', {}, h('tr', {}, ['Barrier', 'A', 'B', 'Change'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, comparison.barriers.map((line) => h('tr', {},
      h('th', { scope: 'row' }, label(line.barrier, 'barrier')), h('td', { className: 'number' }, score(line.score.from)),
      h('td', { className: 'number' }, score(line.score.to)), h('td', { className: 'number' }, line.score.change === null ? '–' : signed(line.score.change))))));
  const factors = comparison.barriers.flatMap((line) => line.factors.map((factor) => ({ ...factor, barrier: line.barrier })));
  $('#comparison-factors').replaceChildren(
    h('thead', {}, h('tr', {}, ['Barrier', 'Factor', 'Points A → B', 'Input A', 'Input B'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, factors.length ? factors.map((factor) => h('tr', {},
      h('td', {}, label(factor.barrier, 'barrier')), h('td', {}, factor.name),
      h('td', { className: 'number' }, `${number(factor.points.from)} → ${number(factor.points.to)} (${signed(factor.points.change)})`),
      h('td', { className: 'input' }, factor.from_input ?? 'unknown'), h('td', { className: 'input' }, factor.to_input ?? 'unknown')))
      : [h('tr', {}, h('td', { colspan: 5 }, 'No factor changed its points.'))]));
  $('#comparison-inputs').replaceChildren(
    h('thead', {}, h('tr', {}, ['Input', 'A', 'B'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, comparison.input_changes.length ? comparison.input_changes.map((change) => h('tr', {},
      h('td', { className: 'input' }, change.path), h('td', { className: 'input' }, shown(change.from)), h('td', { className: 'input' }, shown(change.to))))
      : [h('tr', {}, h('td', { colspan: 3 }, 'The two profiles are the same.'))]));
  $('#comparison-heading').focus();
}

const signed = (value) => `${value >= 0 ? '+' : ''}${number(value)}`;
const shown = (value) => (value === undefined || value === null ? 'unknown' : typeof value === 'string' ? value : JSON.stringify(value));

/** Both assessments' barrier scores on one radar: A dashed, B solid; the text alternative lists them. */
function renderComparisonRadar(comparison) {
  const size = 320;
  const centre = size / 2;
  const radius = 110;
  const lines = comparison.barriers;
  const angle = (index) => -Math.PI / 2 + index * 2 * Math.PI / lines.length;
  const at = (index, value) => [centre + Math.cos(angle(index)) * radius * value / 100, centre + Math.sin(angle(index)) * radius * value / 100];
  const polygon = (side) => lines.map((line, index) => at(index, line.score[side] ?? 0).join(',')).join(' ');
  const summary = lines.map((line) => `${label(line.barrier, 'barrier')} ${score(line.score.from)} → ${score(line.score.to)}`).join('; ');
  $('#comparison-radar').replaceChildren(svg('svg', { viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-labelledby': 'comparison-radar-title comparison-radar-desc' },
    svg('title', { id: 'comparison-radar-title' }, 'Barrier scores of A (dashed) and B (solid)'),
    svg('desc', { id: 'comparison-radar-desc' }, summary),
    [25, 50, 75, 100].map((ring) => svg('polygon', { points: lines.map((_, index) => at(index, ring).join(',')).join(' '), fill: 'none', stroke: '#d0d7de' })),
    lines.map((line, index) => {
      const [lx, ly] = at(index, 122);
      return svg('text', { x: lx, y: ly, 'text-anchor': 'middle', 'font-size': 11, fill: '#1f2328' }, label(line.barrier, 'barrier'));
    }),
    svg('polygon', { points: polygon('from'), fill: 'none', stroke: '#e69f00', 'stroke-width': 2, 'stroke-dasharray': '5 3', class: 'side-a' }),
    svg('polygon', { points: polygon('to'), fill: 'none', stroke: '#0969da', 'stroke-width': 2, class: 'side-b' })));
}

// ---- One assessment: radar, readiness, mitigations, breakdown ----

/** Fetches an SVG chart with the key and inlines it (an <img> could not send the header). */
async function inlineChart(container, path) {
  const text = await api(path, 'image/svg+xml');
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  if (parsed.querySelector('parsererror')) throw new ApiError(`The chart at ${path} could not be read.`);
  container.replaceChildren(document.importNode(parsed.documentElement, true));
}

/** Citations with their verification status explained and a link to each source the registry identifies. */
function citations(evidence = []) {
  if (!evidence.length) return null;
  return h('ul', { className: 'citations' }, evidence.map((item) => {
    const entry = model.evidence.get(item.claim_id) ?? {};
    const identifiers = [entry.doi, entry.pmid && `PMID:${entry.pmid}`, entry.pmcid, entry.registry_id, entry.url].filter(Boolean);
    const links = identifiers.map((identifier) => [identifier, identifierLink(identifier)]).filter(([, href]) => href);
    const status = item.verification_status;
    return h('li', {},
      h('span', { className: 'claim' }, item.claim_id ?? ''), ' ',
      item.citation ?? entry.claim ?? '',
      status ? [' ', h('abbr', { className: 'status', title: describe(status, 'verification_status') }, `(${label(status, 'verification_status')})`)] : null,
      links.map(([identifier, href]) => [' ', h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, identifier)]));
  }));
}

async function openAssessment(id) {
  const record = await api(`/v1/assessments/${encodeURIComponent(id)}`);
  const result = record.result;
  const overall = result.overall;
  $('#detail').hidden = false;
  const row = document.querySelector(`#portfolio tbody tr[data-id="${id}"] .program`);
  const program = row?.textContent ?? (record.program_id ? 'Program' : 'No program');
  $('#detail-heading').textContent = `${program} · assessment of ${new Date(record.created_at).toLocaleString()}`;
  $('#detail-summary').textContent = `Overall readiness index ${number(overall.readiness_index)} (bounds ${number(overall.pessimistic)}–${number(overall.optimistic)}), ${label(overall.band, 'band')}; limiting barrier: ${label(overall.limiting_barrier, 'barrier')}; coverage ${Math.round(100 * overall.coverage)} %. Indication profile ${result.indication_profile?.name ?? '–'}. Model ${record.model_version}.`;
  $('#detail-unclear').hidden = !overall.unclear;
  $('#detail-unclear').replaceChildren(h('strong', {}, 'Unclear: '), `too little is known to read this index as more than a sketch (coverage ${Math.round(100 * overall.coverage)} %). `, (overall.unclear_reasons ?? []).map((reason) => `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`).join(' '));
  renderWarnings(result.warnings ?? []);
  state.reportId = id;
  renderProfile(result.indication_profile);
  renderReadiness(result.readiness);
  renderMitigations(result.mitigations ?? []);
  renderBreakdown(result.barriers ?? []);
  $('#detail-heading').focus();
  await inlineChart($('#radar'), `/v1/assessments/${encodeURIComponent(id)}/chart.svg`);
  $('#trend').hidden = !record.program_id;
  if (record.program_id) await inlineChart($('#trend'), `/v1/programs/${encodeURIComponent(record.program_id)}/trend.svg`);
}

/** Warnings, serious first, each with its severity in words and its evidence. */
function renderWarnings(warnings) {
  const ordered = [...warnings].sort((a, b) => (a.severity === 'serious' ? 0 : 1) - (b.severity === 'serious' ? 0 : 1));
  $('#warning-list').replaceChildren(...(ordered.length ? ordered.map((warning) => h('li', { className: `severity-${warning.severity}` },
    h('strong', { title: describe(warning.severity, 'severity') }, label(warning.severity, 'severity')), ' · ',
    h('span', { className: 'warning-title' }, label(warning.warning, 'warning')), ': ', prose(warning.message),
    citations(warning.evidence))) : [h('li', {}, 'No consistency warnings.')]));
}

/** Opens the printable report in a new tab: fetched with the key, shown from a blob. */
async function openReport() {
  const html = await api(`/v1/assessments/${encodeURIComponent(state.reportId)}/report`, 'text/html');
  // The blob has no address of its own, so its stylesheet and links resolve against the service's.
  const based = html.replace('<head>', `<head><base href="${window.location.origin}/">`);
  const url = URL.createObjectURL(new Blob([based], { type: 'text/html' }));
  window.open(url, '_blank', 'noopener');
}

// A draft profile's note says what it lacks (or, for the generic profile, its limits), so the
// reader knows how far the indication-specific parts of the score can be trusted.
function renderProfile(profile) {
  const maturity = profile?.maturity ?? 'unknown';
  $('#detail-profile').replaceChildren(
    h('strong', {}, `Indication profile ${profile?.name ?? '–'}: ${words(maturity)}.`),
    profile?.maturity_note ? [' ', prose(profile.maturity_note)] : '');
}

function renderReadiness(readiness) {
  $('#readiness').hidden = !readiness;
  if (!readiness) return;
  const stream = (value) => (value !== null && typeof value === 'object' ? (value.level ?? value.msc_trl ?? JSON.stringify(value)) : value);
  $('#readiness-body').replaceChildren(
    h('p', { className: 'level' }, `MSC-TRL ${readiness.msc_trl ?? '–'}`, readiness.approaching ? ` · approaching ${readiness.approaching}` : ''),
    h('dl', { className: 'streams' }, Object.entries(readiness.streams ?? {}).flatMap(([name, value]) => [h('dt', {}, label(name, 'stream')), h('dd', {}, String(stream(value) ?? '–'))])),
    readiness.roadmap?.length ? h('ol', { className: 'roadmap' }, readiness.roadmap.map((step) => h('li', {},
      h('strong', {}, `Level ${step.level ?? '?'} · ${label(step.stream, 'stream')}`), ' ', prose(step.text),
      step.mitigation ? h('span', { className: 'mitigation' }, ` Suggested: ${step.mitigation.title}`) : null,
      citations(step.citations ?? step.evidence)))) : null);
}

function renderMitigations(mitigations) {
  const top = mitigations.slice(0, TOP_MITIGATIONS);
  $('#mitigations').replaceChildren(...(top.length ? top.map((mitigation) => h('li', {},
    h('strong', {}, prose(mitigation.action)), ' ',
    h('span', { className: 'meta' }, `${label(mitigation.barrier, 'barrier')} · index ${signed(mitigation.readiness_gain)} · effort ${label(mitigation.effort, 'effort').toLowerCase()} · ${label(mitigation.maturity, 'maturity').toLowerCase()}`),
    mitigation.tradeoff ? h('p', { className: 'tradeoff' }, 'Trade-off: ', prose(mitigation.tradeoff)) : null,
    citations(mitigation.evidence))) : [h('li', {}, 'No mitigations proposed.')]));
}

function renderBreakdown(barriers) {
  $('#breakdown').replaceChildren(...barriers.map((barrier) => h('details', { className: `barrier band-${barrier.band}`, 'data-barrier': barrier.barrier },
    h('summary', {}, `${label(barrier.barrier, 'barrier')}: ${score(barrier.band === 'unknown' ? null : barrier.score)} (${number(barrier.pessimistic)}–${number(barrier.optimistic)}), ${label(barrier.band, 'band')}, coverage ${Math.round(100 * barrier.coverage)} %`),
    h('div', { className: 'table-scroll' }, h('table', { className: 'factors' },
      h('thead', {}, h('tr', {}, ['Factor', 'Input', 'Level', 'Weight', 'Points', 'Evidence'].map((title) => h('th', { scope: 'col' }, title)))),
      h('tbody', {},
        barrier.factors.map((factor) => h('tr', { className: `state-${factor.state}` },
          h('td', {}, h('span', { className: 'claim' }, factor.factor), ` ${factor.name}`, factor.critical ? ' (critical)' : ''),
          h('td', {}, factor.input), h('td', {}, factor.level ? (model.levels.get(`${factor.factor}:${factor.level}`) ?? words(factor.level)) : label(factor.state)),
          h('td', { className: 'number' }, String(factor.weight)), h('td', { className: 'number' }, number(factor.points)),
          h('td', {}, citations(factor.evidence)))),
        [...(barrier.bonuses ?? []).map((line) => [`Bonus ${line.bonus}`, line]), ...(barrier.caps ?? []).map((line) => [`Cap ${line.cap}`, line])]
          .map(([name, line]) => h('tr', { className: 'adjustment' }, h('td', {}, name), h('td', { colspan: 3 }, prose(line.reason)),
            h('td', { className: 'number' }, number(line.points)), h('td', {}, citations(line.evidence))))))))));
}

// ---- Start ----

function useKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
  $('#dashboard').hidden = false;
  $('#key-hint').hidden = true;
  $('#forget-key').hidden = false;
  $('#api-key').value = '';
  $('#api-key').placeholder = 'Key in use';
  $('#api-key').required = false;
  state.cursors = [null];
  state.page = 0;
  return guarded(async () => {
    if (!model.barriers.length) await loadModel();
    await loadPage();
    await loadJobs();
  });
}

function start() {
  for (const header of document.querySelectorAll('#portfolio th[data-sort]')) {
    header.querySelector('button').addEventListener('click', () => guarded(() => sortBy(header.dataset.sort)));
  }
  $('#export-csv').addEventListener('click', () => guarded(() => exportView('csv')));
  $('#export-ndjson').addEventListener('click', () => guarded(() => exportView('ndjson')));
  $('#compare-selected').addEventListener('click', () => guarded(compareSelected));
  $('#open-report').addEventListener('click', () => guarded(openReport));
  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('#api-key').value.trim() || sessionStorage.getItem(KEY_STORAGE);
    if (key) useKey(key);
  });
  $('#forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    window.location.reload();
  });
  $('#filters').addEventListener('submit', (event) => {
    event.preventDefault();
    state.filters = new URLSearchParams([...new FormData(event.target)].filter(([, value]) => value !== ''));
    state.cursors = [null];
    state.page = 0;
    guarded(loadPage);
  });
  $('#filters').addEventListener('reset', () => {
    state.filters = new URLSearchParams();
    state.cursors = [null];
    state.page = 0;
    guarded(loadPage);
  });
  $('#next-page').addEventListener('click', () => { state.page += 1; guarded(loadPage); });
  $('#first-page').addEventListener('click', () => { state.page = 0; guarded(loadPage); });
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) useKey(key);
}

start();
