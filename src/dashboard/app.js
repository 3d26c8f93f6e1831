// The dashboard's whole front end: vanilla ES module, no build step, no dependencies, so the
// binary serves it as is and it runs under a strict Content-Security-Policy (no inline code or
// styles; bar widths are set through the CSSOM, which CSP allows).

const KEY_STORAGE = 'msc-readiness.api-key';
const PAGE_SIZE = 25;
const BARRIERS = ['survival', 'retention', 'variability', 'scalability', 'safety', 'outcomes', 'regulatory'];
const INDICATIONS = ['intervertebral_disc_degeneration', 'gvhd_acute', 'gvhd_chronic', 'crohns_perianal_fistula',
  'osteoarthritis_knee', 'rheumatoid_arthritis', 'myocardial_infarction', 'heart_failure_ischemic',
  'heart_failure_nonischemic', 'critical_limb_ischemia', 'ischemic_stroke', 'spinal_cord_injury', 'als', 'ms',
  'ards_covid', 'copd', 'ipf', 'sle', 'ibd', 'other'];
const STAGES = ['discovery', 'preclinical', 'phase1', 'phase1_2', 'phase2', 'phase3', 'marketing_application', 'marketed'];
// Bands as the scoring model defines them (critical < 25 <= weak < 50 <= moderate < 75 <= strong).
const BANDS = [['critical', 0], ['weak', 25], ['moderate', 50], ['strong', 75]];
const TOP_MITIGATIONS = 5;

const $ = (selector) => document.querySelector(selector);
const words = (code) => (code ?? 'unknown').replaceAll('_', ' ');
const label = (code) => { const text = words(code); return text.charAt(0).toUpperCase() + text.slice(1); };
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
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
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

// ---- Portfolio: filters, table, pages ----

const state = { cursors: [null], page: 0, filters: new URLSearchParams() };

function fillSelect(name, values) {
  const select = $(`#filters [name="${name}"]`);
  select.append(...values.map((value) => h('option', { value }, label(value))));
}

async function loadPage() {
  const query = new URLSearchParams(state.filters);
  query.set('limit', PAGE_SIZE);
  const cursor = state.cursors[state.page];
  if (cursor) query.set('cursor', cursor);
  // The distributions and limiting counts cover the whole filtered portfolio, not just this page.
  const portfolio = new URLSearchParams(state.filters);
  const [page, summary, limiting] = await Promise.all([
    api(`/v1/assessments?${query}`),
    api(`/v1/stats/summary?${portfolio}`),
    api(`/v1/stats/limiting-barriers?${portfolio}`),
  ]);
  state.cursors[state.page + 1] = page.next_cursor ?? null;
  renderTable(page.items);
  renderDistribution(summary.statistics);
  renderLimiting(limiting);
  $('#first-page').disabled = state.page === 0;
  $('#next-page').disabled = !page.next_cursor;
  $('#page-info').textContent = `Page ${state.page + 1} · ${page.items.length} assessments`;
}

function renderTable(items) {
  $('#portfolio tbody').replaceChildren(...items.map((item) => h('tr', {},
    h('td', {}, h('time', { datetime: item.created_at }, new Date(item.created_at).toLocaleString())),
    h('td', {}, label(item.indication)),
    h('td', {}, label(item.stage)),
    h('td', { className: 'number' }, number(item.overall_index)),
    h('td', { className: 'number' }, item.readiness_level ?? '–'),
    h('td', {}, label(item.limiting_barrier)),
    h('td', {}, h('button', { type: 'button', 'data-id': item.id, onclick: () => guarded(() => openAssessment(item.id)) }, 'Open')),
  )));
  $('#empty').hidden = items.length > 0;
}

function bandOf(score) {
  return BANDS.reduce((found, [band, from]) => (score >= from ? band : found), 'critical');
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
  $('#distribution').replaceChildren(...BARRIERS.map((barrier) => {
    const row = of(barrier);
    const summary = row?.count
      ? `${label(barrier)}: median ${number(row.median)}, quartiles ${number(row.q1)}–${number(row.q3)}, range ${number(row.min)}–${number(row.max)}`
      : `${label(barrier)}: unknown (no assessment has a score for it)`;
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
      h('span', { className: 'bar-label' }, label(barrier)),
      track,
      h('span', { className: 'bar-value' }, row?.count ? `median ${number(row.median)}` : (count ? 'unknown' : '–')));
  }));
  $('#band-legend').replaceChildren(...BANDS.map(([band, from], index) => h('li', {},
    h('span', { className: `swatch band-${band}` }), `${label(band)} (${from}–${BANDS[index + 1]?.[1] ?? 100})`)));
}

function renderLimiting(counts) {
  const most = Math.max(1, ...counts.map(({ count }) => count));
  $('#limiting').replaceChildren(...counts.map(({ barrier, count }) => h('div', { className: 'bar-row', 'data-barrier': barrier },
    h('span', { className: 'bar-label' }, label(barrier)),
    h('span', { className: 'bar' }, count ? bar('limiting', count / most, `${count}`) : null),
    h('span', { className: 'bar-value' }, String(count)))));
}

// ---- One assessment: radar, readiness, mitigations, breakdown ----

/** Fetches an SVG chart with the key and inlines it (an <img> could not send the header). */
async function inlineChart(container, path) {
  const text = await api(path, 'image/svg+xml');
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  if (parsed.querySelector('parsererror')) throw new ApiError(`The chart at ${path} could not be read.`);
  container.replaceChildren(document.importNode(parsed.documentElement, true));
}

function citations(evidence = []) {
  if (!evidence.length) return null;
  return h('ul', { className: 'citations' }, evidence.map((item) => h('li', {},
    h('span', { className: 'claim' }, item.claim_id ?? item.code ?? ''), ' ',
    item.citation ?? item.title ?? '', item.verification_status ? ` (${words(item.verification_status)})` : '')));
}

async function openAssessment(id) {
  const record = await api(`/v1/assessments/${encodeURIComponent(id)}`);
  const result = record.result;
  const overall = result.overall;
  $('#detail').hidden = false;
  $('#detail-heading').textContent = `Assessment of ${new Date(record.created_at).toLocaleDateString()} · ${result.indication_profile?.name ?? ''}`;
  $('#detail-summary').textContent = `Overall readiness index ${number(overall.readiness_index)} (${number(overall.pessimistic)}–${number(overall.optimistic)}), ${words(overall.band)}; limiting barrier: ${words(overall.limiting_barrier)}; coverage ${Math.round(100 * overall.coverage)} %. Model ${record.model_version}.`;
  renderProfile(result.indication_profile);
  renderReadiness(result.readiness);
  renderMitigations(result.mitigations ?? []);
  renderBreakdown(result.barriers ?? []);
  $('#detail-heading').focus();
  await inlineChart($('#radar'), `/v1/assessments/${encodeURIComponent(id)}/chart.svg`);
  $('#trend').hidden = !record.program_id;
  if (record.program_id) await inlineChart($('#trend'), `/v1/programs/${encodeURIComponent(record.program_id)}/trend.svg`);
}

// A draft profile's note says what it lacks (or, for the generic profile, its limits), so the
// reader knows how far the indication-specific parts of the score can be trusted.
function renderProfile(profile) {
  const maturity = profile?.maturity ?? 'unknown';
  $('#detail-profile').replaceChildren(
    h('strong', {}, `Indication profile ${profile?.name ?? '–'}: ${words(maturity)}.`),
    profile?.maturity_note ? ` ${profile.maturity_note}` : '');
}

function renderReadiness(readiness) {
  $('#readiness').hidden = !readiness;
  if (!readiness) return;
  const stream = (value) => (value !== null && typeof value === 'object' ? (value.level ?? value.msc_trl ?? JSON.stringify(value)) : value);
  $('#readiness-body').replaceChildren(
    h('p', { className: 'level' }, `MSC-TRL ${readiness.msc_trl ?? '–'}`, readiness.approaching ? ` · approaching ${readiness.approaching}` : ''),
    h('dl', { className: 'streams' }, Object.entries(readiness.streams ?? {}).flatMap(([name, value]) => [h('dt', {}, label(name)), h('dd', {}, String(stream(value) ?? '–'))])),
    readiness.roadmap?.length ? h('ol', { className: 'roadmap' }, readiness.roadmap.map((step) => h('li', {},
      h('strong', {}, `Level ${step.level ?? '?'} · ${label(step.stream)}${step.gate ? ` · ${step.gate}` : ''}`), ' ', step.text ?? '',
      step.mitigation ? h('span', { className: 'mitigation' }, ` Mitigation ${step.mitigation.code}: ${step.mitigation.title}`) : null,
      citations(step.evidence)))) : null);
}

function renderMitigations(mitigations) {
  const top = mitigations.slice(0, TOP_MITIGATIONS);
  $('#mitigations').replaceChildren(...(top.length ? top.map((mitigation) => h('li', {},
    h('strong', {}, mitigation.action), ' ',
    h('span', { className: 'meta' }, `${label(mitigation.barrier)} · index ${mitigation.readiness_gain >= 0 ? '+' : ''}${number(mitigation.readiness_gain)} · effort ${words(mitigation.effort)} · ${words(mitigation.maturity)}`),
    mitigation.tradeoff ? h('p', { className: 'tradeoff' }, `Trade-off: ${mitigation.tradeoff}`) : null,
    citations(mitigation.evidence))) : [h('li', {}, 'No mitigations proposed.')]));
}

function renderBreakdown(barriers) {
  $('#breakdown').replaceChildren(...barriers.map((barrier) => h('details', { className: `barrier band-${barrier.band}`, 'data-barrier': barrier.barrier },
    h('summary', {}, `${label(barrier.barrier)}: ${score(barrier.band === 'unknown' ? null : barrier.score)} (${number(barrier.pessimistic)}–${number(barrier.optimistic)}), ${words(barrier.band)}, coverage ${Math.round(100 * barrier.coverage)} %`),
    h('table', { className: 'factors' },
      h('thead', {}, h('tr', {}, ['Factor', 'Input', 'Level', 'Weight', 'Points', 'Evidence'].map((title) => h('th', { scope: 'col' }, title)))),
      h('tbody', {},
        barrier.factors.map((factor) => h('tr', { className: `state-${factor.state}` },
          h('td', {}, h('span', { className: 'claim' }, factor.factor), ` ${factor.name}`, factor.critical ? ' (critical)' : ''),
          h('td', {}, factor.input), h('td', {}, factor.level ?? words(factor.state)),
          h('td', { className: 'number' }, String(factor.weight)), h('td', { className: 'number' }, number(factor.points)),
          h('td', {}, citations(factor.evidence)))),
        [...(barrier.bonuses ?? []).map((line) => [`Bonus ${line.bonus}`, line]), ...(barrier.caps ?? []).map((line) => [`Cap ${line.cap}`, line])]
          .map(([name, line]) => h('tr', { className: 'adjustment' }, h('td', {}, name), h('td', { colspan: 3 }, line.reason),
            h('td', { className: 'number' }, number(line.points)), h('td', {}, citations(line.evidence)))))))));
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
  return guarded(loadPage);
}

function start() {
  fillSelect('indication', INDICATIONS);
  fillSelect('stage', STAGES);
  fillSelect('limiting_barrier', BARRIERS);
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
