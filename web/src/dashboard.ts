// The operations dashboard (auditor and admin tokens): from GET /api/v1/monitoring, what was
// classified (volume and class mix), whether it still looks like the training data (feature ×
// window drift against the bundle's reference), out-of-distribution exams and client/server
// disagreement, and real performance where outcomes are known beside the label-free estimate;
// while a staged rollout runs (and for the last one), its two cohorts side by side
// (rollout-cohorts.ts).
// At a glance first (the latest window's verdicts), then one chart per question, each with its
// numbers as a table.

import {
  chartFigure, dataTable, heatMap, line, stackedBars, timeChart, whiskers,
} from './charts.js';
import { h, replaceChildren } from './dom.js';
import { className, featureName, getSchema, pText } from './format.js';
import { lang, num, pct, t } from './i18n.js';
import {
  fetchMonitoring, totals, type Monitoring, type MonitoringQuery, type MonitoringWindow, type Verdict,
} from './monitoring-data.js';
import { loadRollout, rolloutSection } from './rollout-cohorts.js';
import { mayMonitor } from './session.js';
import { getToken } from './submit.js';

let root: HTMLElement;
let query: MonitoringQuery = { window: 'day' };
let data: Monitoring | null = null;
let problem = '';
let loading = false;

const verdictWord = (v: Verdict) => t(`dash.verdict.${v}`);
const label = (w: MonitoringWindow) => w.start.slice(5);
const span = (w: MonitoringWindow) => (w.start === w.end ? w.start : `${w.start} – ${w.end}`);
const pctOrDash = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '—' : pct(v, digits));
// A share of a window's exams; a window without exams has none (the server says 0).
const share = (w: MonitoringWindow, v: number) => (w.exams > 0 ? pct(v) : '—');
const interval = (ci: [number, number] | null | undefined) => (ci ? `${pct(ci[0])} – ${pct(ci[1])}` : '—');

function featureLabel(key: string): string {
  const i = getSchema().findIndex((f) => f.key === key);
  return i >= 0 ? featureName(i) : key;
}

let asked = 0;  // the latest request; an answer to an earlier one (other filters) is dropped

async function load(): Promise<void> {
  const token = await getToken();
  if (!token) return;
  const mine = ++asked;
  loading = true;
  problem = '';
  render();
  const [r] = await Promise.all([fetchMonitoring(query, token), loadRollout(token)]);
  if (mine !== asked) return;
  loading = false;
  if (r.kind === 'ok') data = r.data;
  else problem = r.kind === 'unreachable' ? t('dash.unreachable') : t('dash.error', { status: r.status, message: r.message });
  render();
}

// The filter form is built once per language and kept across renders, so that what the user is
// typing survives an answer arriving meanwhile.
let filterForm: { el: HTMLElement; lang: string } | null = null;

function filters(): HTMLElement {
  if (filterForm && filterForm.lang === lang()) return filterForm.el;
  const field = (id: keyof MonitoringQuery, type: string, extra: Record<string, string> = {}) => {
    const el = h('input', { id: `dash-${id}`, name: id, type, ...extra }) as HTMLInputElement;
    el.value = query[id] ?? '';
    return h('div', { class: 'field' }, h('label', { for: `dash-${id}` }, t(`dash.filter.${id}`)), el);
  };
  const windowSelect = h('select', { id: 'dash-window', name: 'window' },
    (['day', 'week'] as const).map((w) => h('option', { value: w, selected: query.window === w }, t(`dash.window.${w}`)))) as HTMLSelectElement;
  const form = h('form', { class: 'dash-filters', 'aria-label': t('dash.filters') },
    field('from', 'date'),
    field('to', 'date'),
    h('div', { class: 'field' }, h('label', { for: 'dash-window' }, t('dash.filter.window')), windowSelect),
    field('model_version', 'text', { inputmode: 'numeric', size: '4' }),
    field('submitted_by', 'text'),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', id: 'dash-apply' }, t('dash.apply'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    query = { from: v('from'), to: v('to'), window: windowSelect.value as 'day' | 'week', model_version: v('model_version'), submitted_by: v('submitted_by') };
    void load();
  });
  filterForm = { el: form, lang: lang() };
  return form;
}

function tile(id: string, title: string, value: string, detail: string, verdict: Verdict | null): HTMLElement {
  return h('li', { class: `tile ${verdict ? `verdict-${verdict}` : ''}`, 'data-testid': `tile-${id}`, 'data-verdict': verdict ?? '' },
    h('p', { class: 'tile-title' }, title),
    h('p', { class: 'tile-value' }, value),
    verdict ? h('p', { class: 'tile-verdict' }, verdictWord(verdict)) : null,
    h('p', { class: 'tile-detail' }, detail));
}

function atAGlance(m: Monitoring): HTMLElement {
  const sum = totals(m);
  const withExams = m.windows.filter((w) => w.exams > 0);
  const last = withExams[withExams.length - 1];
  const lastPerf = [...m.windows].reverse().find((w) => w.performance);
  // Drift from the latest window with enough exams for a verdict (a short last day has none).
  const driftWindow = [...withExams].reverse().find((w) => w.drift && w.drift.enough_data !== false);
  const drift = driftWindow?.drift ?? null;
  const alerting = drift ? drift.features.filter((f) => f.verdict === 'alert').map((f) => featureLabel(f.key)) : [];
  const th = m.thresholds;
  return h('section', { 'aria-labelledby': 'dash-glance' },
    h('h2', { id: 'dash-glance' }, t('dash.glance', { window: last ? span(last) : '—' })),
    h('ul', { class: 'tiles' },
      tile('exams', t('dash.tile.exams'), num(sum.exams), t('dash.tile.examsDetail', { windows: m.windows.length, outcomes: num(sum.outcomes) }), null),
      tile('drift', t('dash.tile.drift'), drift ? t('dash.tile.driftCount', { count: alerting.length, total: drift.features.length }) : '—',
        !m.reference.available ? t('dash.noReference')
          : !driftWindow ? t('dash.tile.driftFew', { min: num(m.thresholds.min_drift_exams ?? 0) })
            : `${alerting.length ? t('dash.tile.driftAlerting', { features: alerting.join(', ') }) : t('dash.tile.driftNone')} (${span(driftWindow)})`,
        drift ? drift.verdict : null),
      tile('ood', t('dash.tile.ood'), last ? pct(last.ood.rate) : '—', t('dash.tile.threshold', { value: pct(th.ood_rate_alert) }),
        last ? (last.ood.rate >= th.ood_rate_alert ? 'alert' : 'ok') : null),
      tile('disagreement', t('dash.tile.disagreement'), num(sum.disagreements),
        t('dash.tile.disagreementDetail', { count: last ? num(last.client_server_disagreement.count) : '—', threshold: num(th.disagreement_alert) }),
        last ? (last.client_server_disagreement.count >= th.disagreement_alert ? 'alert' : 'ok') : null),
      tile('accuracy', t('dash.tile.accuracy'), lastPerf?.performance ? pct(lastPerf.performance.accuracy) : '—',
        lastPerf?.performance
          ? t('dash.tile.accuracyDetail', { window: span(lastPerf), coverage: pct(lastPerf.outcomes.share), estimated: pctOrDash(lastPerf.estimated?.accuracy) })
          : t('dash.tile.accuracyNone', { estimated: pctOrDash(last?.estimated?.accuracy) }),
        null)));
}

function volumeChart(m: Monitoring): HTMLElement {
  const ws = m.windows;
  const yMax = Math.max(1, ...ws.map((w) => w.exams));
  const classes = [0, 1, 2].map((k) => `chart-bar class-${k}`);
  const chart = timeChart({ id: 'dash-volume', title: t('dash.volume'), labels: ws.map(label), yMax, yFormat: (v) => num(Math.round(v)) },
    (f) => stackedBars(f, ws.map((w) => w.class_mix.server), classes,
      (i) => `${span(ws[i])}: ${num(ws[i].exams)} — ${ws[i].class_mix.server.map((c, k) => `${className(k)} ${num(c)}`).join(', ')}`));
  const table = dataTable(t('dash.volume'),
    [t('dash.col.window'), t('dash.col.exams'), ...[0, 1, 2].map((k) => t('dash.col.server', { class: className(k) })),
      ...[0, 1, 2].map((k) => t('dash.col.client', { class: className(k) }))],
    ws.map((w) => [span(w), num(w.exams), ...w.class_mix.server.map((c) => num(c)), ...w.class_mix.client.map((c) => num(c))]), 'volume-table');
  return chartFigure('dash-volume', t('dash.volume'), t('dash.volume.note'), chart, table,
    [0, 1, 2].map((k) => ({ label: className(k), cls: `class-${k}` })));
}

function driftCell(v: Verdict | null): string {
  return v ? `verdict-${v}` : 'verdict-none';
}

function driftChart(m: Monitoring): HTMLElement {
  const ws = m.windows;
  const th = m.thresholds;
  const keys = ws.find((w) => w.drift)?.drift?.features.map((f) => f.key) ?? getSchema().map((f) => f.key);
  const rows = [...keys.map(featureLabel), t('dash.drift.prediction')];
  const note = t('dash.drift.note', { warn: num(th.psi_warn, 3), alert: num(th.psi_alert, 3), js: num(th.js_alert, 3), p: pText(th.chi2_p_alert) });
  // Why a cell has no verdict: the bundle carries no reference, or the window no exams of it.
  const none = m.reference.available ? t('dash.drift.noData') : t('dash.drift.noReference');
  const chart = heatMap('dash-drift', t('dash.drift'), rows, ws.map(label), (r, c) => {
    const d = ws[c].drift;
    const few = d?.enough_data === false
      ? ` — ${t('dash.drift.few', { exams: num(d.exams ?? ws[c].exams), min: num(th.min_drift_exams ?? 0) })}` : '';
    if (!d) return { cls: driftCell(null), mark: '', title: `${rows[r]}, ${span(ws[c])}: ${none}` };
    if (r === keys.length) {
      const p = d.prediction;
      return { cls: few ? 'verdict-few' : driftCell(p.verdict), mark: p.verdict === 'alert' ? '!' : p.verdict === 'warn' ? '·' : '',
        title: `${rows[r]}, ${span(ws[c])}: χ² ${p.chi2 === null ? '—' : num(p.chi2, 2)}, p ${pText(p.p_value)} — ${verdictWord(p.verdict)}${few}` };
    }
    const f = d.features.find((x) => x.key === keys[r]);
    if (!f) return { cls: driftCell(null), mark: '', title: `${rows[r]}, ${span(ws[c])}: ${none}` };
    return { cls: few ? 'verdict-few' : driftCell(f.verdict), mark: f.verdict === 'alert' ? '!' : f.verdict === 'warn' ? '·' : '',
      title: `${rows[r]}, ${span(ws[c])}: PSI ${f.psi === null ? '—' : num(f.psi, 3)}, JS ${f.js === null ? '—' : num(f.js, 3)} — ${verdictWord(f.verdict)}${few}` };
  });
  const table = dataTable(t('dash.drift'), [t('dash.col.feature'), ...ws.map(label)],
    [...keys.map((k, r) => [rows[r], ...ws.map((w) => {
      const f = w.drift?.features.find((x) => x.key === k);
      return f ? `${f.psi === null ? '—' : num(f.psi, 3)} ${verdictWord(f.verdict)}` : '—';
    })]),
    [rows[keys.length], ...ws.map((w) => (w.drift ? `p ${pText(w.drift.prediction.p_value)} ${verdictWord(w.drift.prediction.verdict)}` : '—'))]],
    'drift-table');
  return chartFigure('dash-drift', t('dash.drift'), note, chart, table, [
    { label: t('dash.legend.ok', { warn: num(th.psi_warn, 3) }), cls: 'verdict-ok' },
    { label: t('dash.legend.warn', { warn: num(th.psi_warn, 3), alert: num(th.psi_alert, 3) }), cls: 'verdict-warn' },
    { label: t('dash.legend.alert', { alert: num(th.psi_alert, 3), js: num(th.js_alert, 3) }), cls: 'verdict-alert' },
    { label: none, cls: 'verdict-none' },
    { label: t('dash.legend.few', { min: num(th.min_drift_exams ?? 0) }), cls: 'verdict-few' },
  ]);
}

function oodChart(m: Monitoring): HTMLElement {
  const ws = m.windows;
  const th = m.thresholds;
  const series = (pick: (w: MonitoringWindow) => number) => ws.map((w) => (w.exams > 0 ? pick(w) : null));
  const ood = series((w) => w.ood.rate), range = series((w) => w.out_of_range_share);
  const yMax = Math.max(th.ood_rate_alert * 1.5, ...ood.map((v) => v ?? 0), ...range.map((v) => v ?? 0));
  const chart = timeChart({ id: 'dash-ood', title: t('dash.ood'), labels: ws.map(label), yMax, yFormat: (v) => pct(v, 0),
    threshold: { value: th.ood_rate_alert, label: t('dash.threshold', { value: pct(th.ood_rate_alert) }) } },
  (f) => [
    ...line(f, range, 'series-range', (i) => `${span(ws[i])}: ${t('dash.col.outOfRange')} ${pctOrDash(range[i])}`),
    ...line(f, ood, 'series-ood', (i) => `${span(ws[i])}: ${t('dash.col.ood')} ${pctOrDash(ood[i])}`),
  ]);
  const table = dataTable(t('dash.ood'),
    [t('dash.col.window'), t('dash.col.ood'), t('dash.col.oodDistance'), t('dash.col.outOfRange'), t('dash.col.warnings'), t('dash.col.figo')],
    ws.map((w) => [span(w), share(w, w.ood.rate), w.ood.mean_distance === null ? '—' : num(w.ood.mean_distance, 2), share(w, w.out_of_range_share),
      share(w, w.warning_share), share(w, w.figo_disagreement_rate)]),
    'ood-table');
  return chartFigure('dash-ood', t('dash.ood'), null, chart, table,
    [{ label: t('dash.col.ood'), cls: 'series-ood' }, { label: t('dash.col.outOfRange'), cls: 'series-range' }, { label: t('dash.legend.threshold'), cls: 'threshold' }]);
}

function disagreementChart(m: Monitoring): HTMLElement {
  const ws = m.windows;
  const th = m.thresholds;
  const counts = ws.map((w) => w.client_server_disagreement.count);
  const chart = timeChart({ id: 'dash-disagreement', title: t('dash.disagreement'), labels: ws.map(label),
    yMax: Math.max(th.disagreement_alert * 2, ...counts), yFormat: (v) => num(Math.round(v)),
    threshold: { value: th.disagreement_alert, label: t('dash.threshold', { value: num(th.disagreement_alert) }) } },
  (f) => stackedBars(f, counts.map((c) => [c]), ['chart-bar disagreement'], (i) => `${span(ws[i])}: ${num(counts[i])}`));
  const sum = totals(m);
  const byBuild = [...sum.byBuild].sort((a, b) => b[1] - a[1]);
  const byVersion = [...sum.byVersion].sort((a, b) => a[0] - b[0]);
  const table = h('div', {},
    dataTable(t('dash.disagreement'), [t('dash.col.window'), t('dash.col.disagreements')], ws.map((w, i) => [span(w), num(counts[i])]), 'disagreement-table'));
  return h('div', {},
    chartFigure('dash-disagreement', t('dash.disagreement'), t('dash.disagreement.note'), chart, table),
    h('div', { class: 'by-tables' },
      dataTableVisible(t('dash.byBuild'), [t('dash.col.runtimeBuild'), t('dash.col.disagreements')], byBuild.map(([b, c]) => [b ?? t('dash.noBuild'), num(c)]), 'by-build'),
      dataTableVisible(t('dash.byVersion'), [t('dash.col.modelVersion'), t('dash.col.disagreements')], byVersion.map(([v, c]) => [`v${v}`, num(c)]), 'by-version')));
}

function dataTableVisible(title: string, headers: string[], rows: string[][], testid: string): HTMLElement {
  return h('section', { class: 'by-table' }, h('h3', {}, title),
    rows.length ? dataTable(title, headers, rows, testid) : h('p', { class: 'muted', 'data-testid': testid }, t('dash.none')));
}

function performanceChart(m: Monitoring): HTMLElement {
  const ws = m.windows;
  const real = ws.map((w) => w.performance?.accuracy ?? null);
  const est = ws.map((w) => (w.exams > 0 ? w.estimated?.accuracy ?? null : null));
  const chart = timeChart({ id: 'dash-performance', title: t('dash.performance'), labels: ws.map(label), yMax: 1, yFormat: (v) => pct(v, 0) },
    (f) => [
      ...line(f, est, 'series-estimated', (i) => `${span(ws[i])}: ${t('dash.col.estimated')} ${pctOrDash(est[i])} (${interval(ws[i].estimated?.accuracy_ci)})`,
        ws.map((w) => (w.exams > 0 ? w.estimated?.accuracy_ci ?? null : null))),
      ...whiskers(f, ws.map((w) => w.performance?.accuracy_ci ?? null), 'series-real'),
      ...line(f, real, 'series-real', (i) => `${span(ws[i])}: ${t('dash.col.real')} ${pctOrDash(real[i])} (${interval(ws[i].performance?.accuracy_ci)}), ${t('dash.col.coverage')} ${pct(ws[i].outcomes.share)}`),
    ]);
  const coverage = timeChart({ id: 'dash-coverage', title: t('dash.coverage'), labels: ws.map(label), yMax: 1, yFormat: (v) => pct(v, 0) },
    (f) => stackedBars(f, ws.map((w) => [w.outcomes.share]), ['chart-bar coverage'], (i) => `${span(ws[i])}: ${pct(ws[i].outcomes.share)} (${num(ws[i].outcomes.count)})`));
  const table = dataTable(t('dash.performance'),
    [t('dash.col.window'), t('dash.col.outcomes'), t('dash.col.coverage'), t('dash.col.real'), t('dash.col.realCi'), t('dash.col.macroF1'), t('dash.col.ece'),
      t('dash.col.estimated'), t('dash.col.estimatedCi')],
    ws.map((w) => [span(w), num(w.outcomes.count), share(w, w.outcomes.share), pctOrDash(w.performance?.accuracy), interval(w.performance?.accuracy_ci),
      w.performance ? num(w.performance.macro_f1, 3) : '—', w.performance ? num(w.performance.ece, 3) : '—',
      pctOrDash(w.estimated?.accuracy), interval(w.estimated?.accuracy_ci)]),
    'performance-table');
  return h('div', {},
    chartFigure('dash-performance', t('dash.performance'), t('dash.performance.note'), chart, table,
      [{ label: t('dash.col.real'), cls: 'series-real' }, { label: t('dash.legend.estimated'), cls: 'series-estimated' }]),
    chartFigure('dash-coverage', t('dash.coverage'), null, coverage,
      dataTable(t('dash.coverage'), [t('dash.col.window'), t('dash.col.outcomes'), t('dash.col.coverage')],
        ws.map((w) => [span(w), num(w.outcomes.count), share(w, w.outcomes.share)]))),
    performanceByClass(m));
}

// Over the whole range: the confusion matrix of the windows with outcomes (rows: final reading,
// columns: server class) and the recall per class it gives, beside the label-free estimate of
// recall over all exams: each window's estimate weighted by its expected number of exams of that
// class (exams × mean probability), as the estimate itself is a ratio of expected counts.
function performanceByClass(m: Monitoring): HTMLElement | null {
  const confusion = [0, 1, 2].map(() => [0, 0, 0]);
  for (const w of m.windows) w.performance?.confusion.forEach((row, i) => row.forEach((v, j) => (confusion[i][j] += v)));
  const expected = [0, 0, 0], estimated = [0, 0, 0];
  for (const w of m.windows) {
    if (!w.estimated || !w.exams) continue;
    w.estimated.recall.forEach((r, k) => {
      if (r === null) return;
      expected[k] += w.exams * w.mean_probabilities[k];
      estimated[k] += r * w.exams * w.mean_probabilities[k];
    });
  }
  const labelled = confusion.flat().reduce((a, b) => a + b, 0);
  if (!labelled && !expected.some((e) => e > 0)) return null;
  const recall = confusion.map((row, k) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n ? row[k] / n : null;
  });
  return h('div', { class: 'by-tables' },
    h('section', { class: 'by-table' }, h('h3', {}, t('dash.confusion')),
      labelled
        ? h('table', { class: 'data confusion', 'data-testid': 'confusion' },
            h('thead', {}, h('tr', {}, h('td', {}), [0, 1, 2].map((k) => h('th', { scope: 'col' }, className(k))))),
            h('tbody', {}, confusion.map((row, i) =>
              h('tr', {}, h('th', { scope: 'row' }, className(i)), row.map((v) => h('td', { class: 'num' }, num(v)))))))
        : h('p', { class: 'muted', 'data-testid': 'confusion' }, t('dash.none'))),
    h('section', { class: 'by-table' }, h('h3', {}, t('dash.recall')),
      dataTable(t('dash.recall'), [t('dash.col.class'), t('dash.col.realRecall'), t('dash.col.estimatedRecall')],
        [0, 1, 2].map((k) => [className(k), pctOrDash(recall[k]), expected[k] > 0 ? pct(estimated[k] / expected[k]) : '—']), 'recall')));
}

function section(id: string, title: string, ...content: HTMLElement[]): HTMLElement {
  return h('section', { class: 'dash-section', 'aria-labelledby': id }, h('h2', { id }, title), content);
}

export function render(): void {
  const allowed = mayMonitor();
  const m = data;
  replaceChildren(root,
    h('h1', {}, t('dash.title')),
    h('p', { class: 'intro' }, t('dash.intro')),
    !allowed
      ? h('p', { class: 'banner', 'data-testid': 'dash-forbidden' }, t('dash.forbidden'))
      : [
          filters(),
          h('p', { role: 'status', class: problem ? 'reason' : 'muted', 'data-testid': 'dash-status' },
            loading ? t('dash.loading') : problem || (m ? t('dash.range', { from: m.from, to: m.to, window: t(`dash.window.${m.window}`) }) : '')),
          m && !m.reference.available ? h('p', { class: 'banner stale', 'data-testid': 'dash-no-reference' }, t('dash.noReference')) : null,
          rolloutSection(),
          m && m.windows.length
            ? [
                atAGlance(m),
                section('dash-h-volume', t('dash.section.volume'), volumeChart(m)),
                section('dash-h-drift', t('dash.section.drift'), driftChart(m)),
                section('dash-h-ood', t('dash.section.ood'), oodChart(m), disagreementChart(m)),
                section('dash-h-performance', t('dash.section.performance'), performanceChart(m)),
              ]
            : m ? h('p', {}, t('dash.empty')) : null,
        ]);
  if (allowed && !m && !loading && !problem) void load();
}

export function initDashboard(container: HTMLElement): void {
  root = container;
}

