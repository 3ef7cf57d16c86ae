// Batch mode: a CSV with the dataset's column names is parsed by the WASM core, validated,
// classified and explained (TreeSHAP) in chunks (yielding to the UI between chunks, so the
// progress bar moves and the page stays responsive), then shown as a class-count chart, a paged
// results table with each row's strongest contributions, the rows that could not be classified
// (by line and reason), and a CSV export that carries every contribution.

import type { CsvRowError, FetalRuntime, FetalModel, Finding, ModelInfo } from './fetal.js';
import { h, replaceChildren, svg } from './dom.js';
import { className, csvErrorText, featureName, findingText, getSchema, headerErrorText, inputKey, inputName, strongestInputs } from './format.js';
import { fixed, num, t } from './i18n.js';
import { activeModel } from './models.js';

const CHUNK_ROWS = 256;
const PAGE_ROWS = 50;
const TOP_CONTRIBUTIONS = 3;  // shown per row; the export has all of them
// TreeSHAP values per class: 21 features, then the bias (fetal.js CONTRIBUTIONS_PER_CLASS).
const PER_CLASS = 22;

// Reasons are kept structured (a validator finding or a CSV reader error, each with its rule id)
// and rendered when shown, so they follow the language switch.
interface InvalidRow {
  line: number;
  column: string;
  finding?: Finding;
  readError?: CsvRowError;
}

function reasonText(row: InvalidRow): string {
  if (row.finding) return `${featureName(row.finding.feature)}: ${findingText(row.finding)}`;
  return row.readError ? csvErrorText(row.readError) : '';
}

interface BatchResult {
  name: string;
  info: ModelInfo;
  lines: Uint32Array;         // per classified row
  classes: Uint8Array;
  probabilities: Float32Array; // 3 per classified row
  contributions: Float32Array; // PER_CLASS per classified row: those of its predicted class
  labels: Int32Array | null;   // per classified row, -1 when absent
  invalid: InvalidRow[];
  counts: number[];
  ms: number;
}

let rt: FetalRuntime;
let root: HTMLElement;
let result: BatchResult | null = null;
let headerError: CsvRowError[] | null = null;  // why the file's header cannot be used
let progress: { name: string; done: number; total: number } | null = null;
let page = 0;
let running = false;

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function runBatch(file: File): Promise<void> {
  if (running) return;
  running = true;
  result = null;
  headerError = null;
  page = 0;
  filter = 'all';
  progress = { name: file.name, done: 0, total: 0 };
  render();
  try {
    const text = await file.text();
    const started = performance.now();
    const parsed = rt.parseCsv(text);
    const nf = getSchema().length;
    if (!parsed.headerOk) {
      headerError = parsed.errors;
      return;
    }
    const model: FetalModel = activeModel(); // captured: an update mid-batch does not mix versions
    const invalid: InvalidRow[] = parsed.errors.map((e) => ({ line: e.line, column: e.field, readError: e }));
    const lines = new Uint32Array(parsed.rows);
    const classes = new Uint8Array(parsed.rows);
    const probabilities = new Float32Array(parsed.rows * 3);
    const contributions = new Float32Array(parsed.rows * PER_CLASS);
    const labels = parsed.labels.length === parsed.rows && Array.from(parsed.labels).some((l) => l >= 0)
      ? new Int32Array(parsed.rows) : null;
    const counts = [0, 0, 0];
    const chunk = new Float32Array(CHUNK_ROWS * nf);
    const chunkOut = new Float32Array(CHUNK_ROWS * 3);
    const chunkWhy = new Float32Array(CHUNK_ROWS * 3 * PER_CLASS);
    const chunkRows: number[] = [];
    let valid = 0;
    progress.total = parsed.rows;

    for (let start = 0; start < parsed.rows; start += CHUNK_ROWS) {
      const end = Math.min(parsed.rows, start + CHUNK_ROWS);
      const block = parsed.features.subarray(start * nf, end * nf);
      const flags = model.validateBatch ? model.validateBatch(block, end - start) : null;
      chunkRows.length = 0;
      for (let r = start; r < end; r++) {
        const row = parsed.features.subarray(r * nf, (r + 1) * nf);
        if (!flags || flags[r - start]) {
          const errors = rt.validate(row, model).filter((f) => f.severity === 'error');
          if (errors.length) {
            for (const f of errors) {
              invalid.push({ line: parsed.lines[r], column: getSchema()[f.feature]?.name ?? '', finding: f });
            }
            continue;
          }
        }
        chunk.set(row, chunkRows.length * nf);
        chunkRows.push(r);
      }
      if (chunkRows.length) {
        const rowsIn = chunk.subarray(0, chunkRows.length * nf);
        const out = model.classifyBatch(rowsIn, chunkRows.length, chunkOut.subarray(0, chunkRows.length * 3));
        const why = model.explainBatch(rowsIn, chunkRows.length, chunkWhy.subarray(0, chunkRows.length * 3 * PER_CLASS));
        for (let j = 0; j < chunkRows.length; j++) {
          const r = chunkRows[j];
          const p0 = out[j * 3], p1 = out[j * 3 + 1], p2 = out[j * 3 + 2];
          const k = p0 >= p1 && p0 >= p2 ? 0 : p1 >= p2 ? 1 : 2;
          lines[valid] = parsed.lines[r];
          classes[valid] = k;
          probabilities.set([p0, p1, p2], valid * 3);
          const w = (j * 3 + k) * PER_CLASS;
          contributions.set(why.subarray(w, w + PER_CLASS), valid * PER_CLASS);
          if (labels) labels[valid] = parsed.labels[r];
          counts[k]++;
          valid++;
        }
      }
      progress.done = end;
      updateProgress();
      await tick();
    }
    invalid.sort((a, b) => a.line - b.line);
    result = {
      name: file.name,
      info: model.info(),
      lines: lines.slice(0, valid),
      classes: classes.slice(0, valid),
      probabilities: probabilities.slice(0, valid * 3),
      contributions: contributions.slice(0, valid * PER_CLASS),
      labels: labels ? labels.slice(0, valid) : null,
      invalid,
      counts,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    running = false;
    progress = null;
    render();
  }
}

function updateProgress(): void {
  const bar = root.querySelector<HTMLProgressElement>('#batch-progress');
  const label = root.querySelector<HTMLElement>('#batch-progress-label');
  if (!bar || !label || !progress) return;
  bar.max = Math.max(1, progress.total);
  bar.value = progress.done;
  label.textContent = t('batch.progress', { done: num(progress.done), total: num(progress.total) });
}

function countChart(counts: number[]): SVGElement {
  const width = 420, barH = 34, gap = 14, labelW = 110, valueW = 60;
  const max = Math.max(1, ...counts);
  const height = counts.length * (barH + gap);
  return svg(
    'svg',
    {
      class: 'count-chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'data-testid': 'count-chart',
      'aria-label': `${t('batch.chartLabel')}: ${counts.map((c, k) => `${className(k)} ${num(c)}`).join(', ')}`,
    },
    counts.map((c, k) => {
      const y = k * (barH + gap);
      const w = ((width - labelW - valueW) * c) / max;
      return svg('g', { 'data-class-index': k, 'data-count': c },
        svg('text', { x: 0, y: y + barH * 0.65, class: 'chart-label' }, className(k)),
        svg('rect', { x: labelW, y, width: Math.max(1, w), height: barH, rx: 3, class: `chart-bar class-${k}` }),
        svg('text', { x: labelW + w + 6, y: y + barH * 0.65, class: 'chart-value' }, num(c)));
    }),
  );
}

// Export columns: line, class, the three probabilities, [label,] the predicted class's TreeSHAP
// contributions, one per model input (contrib_<feature key>, or contrib_<feature key>_minus_
// <reference key> for an input taken relative to another feature; contrib_bias: log-odds before
// temperature, summing to that class's margin, as `fetal-model predict --explain` writes them),
// model_version, error.
function exportCsv(r: BatchResult): void {
  const names = rt.classNames;
  const contributionColumns = [...getSchema().map((_, i) => `contrib_${inputKey(i, r.info)}`), 'contrib_bias'];
  const header = ['line', 'class', 'p_normal', 'p_suspect', 'p_pathological'];
  if (r.labels) header.push('label');
  header.push(...contributionColumns, 'model_version', 'error');
  const rows: { line: number; text: string }[] = [];
  for (let i = 0; i < r.lines.length; i++) {
    const cells = [String(r.lines[i]), names[r.classes[i]],
      r.probabilities[i * 3].toFixed(6), r.probabilities[i * 3 + 1].toFixed(6), r.probabilities[i * 3 + 2].toFixed(6)];
    if (r.labels) cells.push(r.labels[i] >= 0 ? names[r.labels[i]] : '');
    for (const v of r.contributions.subarray(i * PER_CLASS, (i + 1) * PER_CLASS)) cells.push(v.toFixed(6));
    cells.push(String(r.info.version), '');
    rows.push({ line: r.lines[i], text: cells.join(',') });
  }
  for (const bad of r.invalid) {
    const cells = [String(bad.line), '', '', '', ''];
    if (r.labels) cells.push('');
    for (let k = 0; k < PER_CLASS; k++) cells.push('');
    cells.push(String(r.info.version), `"${reasonText(bad).replace(/"/g, '""')}"`);
    rows.push({ line: bad.line, text: cells.join(',') });
  }
  rows.sort((a, b) => a.line - b.line);
  const blob = new Blob([[header.join(','), ...rows.map((x) => x.text)].join('\n') + '\n'], { type: 'text/csv' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: r.name.replace(/\.csv$/i, '') + '-results.csv' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// Which rows the table shows: all, one predicted class, or those whose prediction differs from
// the file's label.
type RowFilter = 'all' | '0' | '1' | '2' | 'differs';
let filter: RowFilter = 'all';

function filteredRows(r: BatchResult): number[] {
  const rows: number[] = [];
  for (let i = 0; i < r.lines.length; i++) {
    if (filter === 'all') rows.push(i);
    else if (filter === 'differs') {
      if (r.labels && r.labels[i] >= 0 && r.labels[i] !== r.classes[i]) rows.push(i);
    } else if (r.classes[i] === Number(filter)) rows.push(i);
  }
  return rows;
}

// A row's strongest contributions to its predicted class, largest first: model input, signed value
// (toward the class if positive).
function topContributions(r: BatchResult, i: number): HTMLElement {
  const values = r.contributions.subarray(i * PER_CLASS, i * PER_CLASS + getSchema().length);
  const order = strongestInputs(values, TOP_CONTRIBUTIONS);
  const cls = className(r.classes[i]);
  return h('ul', { class: 'why-list' }, order.map((f) => {
    const toward = values[f] > 0;
    return h('li', { class: toward ? 'toward' : 'away' },
      `${inputName(f, r.info)} ${toward ? '+' : '−'}${fixed(Math.abs(values[f]), 2)}`,
      h('span', { class: 'sr-only' }, ` ${toward ? t('result.toward', { class: cls }) : t('result.away', { class: cls })}`));
  }));
}

function resultsTable(r: BatchResult): HTMLElement {
  const rows = filteredRows(r);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
  page = Math.min(page, pages - 1);
  const from = page * PAGE_ROWS;
  const to = Math.min(rows.length, from + PAGE_ROWS);
  const body: HTMLElement[] = [];
  for (const i of rows.slice(from, to)) {
    const differs = !!r.labels && r.labels[i] >= 0 && r.labels[i] !== r.classes[i];
    body.push(h('tr', { class: differs ? 'differs' : null },
      h('td', { class: 'num' }, r.lines[i]),
      h('td', {}, h('span', { class: `class-badge small class-${r.classes[i]}` }, className(r.classes[i]))),
      [0, 1, 2].map((k) => h('td', { class: 'num' }, fixed(r.probabilities[i * 3 + k], 3))),
      h('td', { class: 'why' }, topContributions(r, i)),
      r.labels
        ? h('td', {}, r.labels[i] >= 0 ? className(r.labels[i]) : '',
            differs ? h('span', { class: 'differs-mark', title: t('batch.differs') }, ' ≠', h('span', { class: 'sr-only' }, ` ${t('batch.differs')}`)) : null)
        : null));
  }
  const go = (delta: number) => () => {
    page = Math.max(0, Math.min(pages - 1, page + delta));
    render();
    root.querySelector<HTMLElement>(delta < 0 ? '#batch-prev' : '#batch-next')?.focus();
  };
  const select = h('select', { id: 'batch-filter' },
    (['all', '0', '1', '2'] as RowFilter[]).concat(r.labels ? ['differs'] : []).map((f) =>
      h('option', { value: f, selected: f === filter },
        f === 'all' ? t('batch.filter.all') : f === 'differs' ? t('batch.filter.differs') : className(Number(f))))) as HTMLSelectElement;
  select.addEventListener('change', () => {
    filter = select.value as RowFilter;
    page = 0;
    render();
    root.querySelector<HTMLElement>('#batch-filter')?.focus();
  });
  return h('section', { 'aria-labelledby': 'batch-table-title' },
    h('h2', { id: 'batch-table-title' }, t('batch.table')),
    h('p', { class: 'filter' }, h('label', { for: 'batch-filter' }, t('batch.filter')), ' ', select, ' ',
      h('span', { 'data-testid': 'batch-shown' }, t('batch.shown', { count: num(rows.length) }))),
    h('table', { class: 'data', 'data-testid': 'batch-table' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t('batch.col.line')),
        h('th', { scope: 'col' }, t('batch.col.class')),
        h('th', { scope: 'col' }, t('batch.col.pNormal')),
        h('th', { scope: 'col' }, t('batch.col.pSuspect')),
        h('th', { scope: 'col' }, t('batch.col.pPathological')),
        h('th', { scope: 'col', title: t('batch.col.why.help') }, t('batch.col.why')),
        r.labels ? h('th', { scope: 'col' }, t('batch.col.label')) : null)),
      h('tbody', {}, body)),
    h('nav', { class: 'pager', 'aria-label': t('batch.table') },
      h('button', { type: 'button', id: 'batch-prev', disabled: page === 0, onclick: go(-1) }, `‹ ${t('batch.prev')}`),
      h('span', { 'aria-live': 'polite' }, t('batch.page', { page: page + 1, pages })),
      h('button', { type: 'button', id: 'batch-next', disabled: page >= pages - 1, onclick: go(1) }, `${t('batch.next')} ›`)));
}

function invalidList(r: BatchResult): HTMLElement {
  return h('section', { 'aria-labelledby': 'batch-invalid-title', class: 'invalid-rows' },
    h('h2', { id: 'batch-invalid-title' }, t('batch.invalid', { count: r.invalid.length })),
    r.invalid.length === 0
      ? h('p', {}, t('batch.invalid.none'))
      : h('table', { class: 'data', 'data-testid': 'invalid-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('batch.col.line')),
            h('th', { scope: 'col' }, t('batch.col.column')),
            h('th', { scope: 'col' }, t('batch.col.reason')))),
          h('tbody', {}, r.invalid.slice(0, 500).map((x) =>
            h('tr', {}, h('td', { class: 'num' }, x.line), h('td', {}, x.column), h('td', {}, reasonText(x)))))));
}

export function render(): void {
  const input = h('input', { type: 'file', id: 'batch-file', accept: '.csv,text/csv', class: 'file-input' }) as HTMLInputElement;
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) void runBatch(file);
  });
  const drop = h('div', { class: 'dropzone', 'data-testid': 'dropzone' },
    h('label', { for: 'batch-file', class: 'button primary' }, t('batch.pick')),
    input,
    h('span', { class: 'muted' }, t('batch.drop')));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files?.[0];
    if (file) void runBatch(file);
  });

  const parts: (HTMLElement | null)[] = [
    h('h1', {}, t('batch.title')),
    h('p', { class: 'intro' }, t('batch.intro')),
    drop,
  ];
  if (progress) {
    parts.push(h('div', { class: 'progress', role: 'status' },
      h('p', {}, t('batch.reading', { name: progress.name })),
      h('progress', { id: 'batch-progress', max: 1, value: 0 }),
      h('p', { id: 'batch-progress-label' })));
  }
  if (headerError) parts.push(h('p', { class: 'error-summary', role: 'alert' }, t('batch.headerError', { message: headerErrorText(headerError) })));
  if (result) {
    const r = result;
    parts.push(
      h('p', { class: 'batch-done', role: 'status', 'data-testid': 'batch-done' },
        t('batch.done', { name: r.name, valid: num(r.lines.length), invalid: num(new Set(r.invalid.map((x) => x.line)).size), ms: num(r.ms), version: r.info.version })),
      h('div', { class: 'batch-summary' },
        h('section', { 'aria-labelledby': 'batch-counts-title' },
          h('h2', { id: 'batch-counts-title' }, t('batch.counts')),
          countChart(r.counts)),
        h('div', { class: 'batch-actions' },
          h('button', { type: 'button', class: 'primary', id: 'batch-export', onclick: () => exportCsv(r) }, t('batch.export')))),
      resultsTable(r),
      invalidList(r),
      h('p', { class: 'disclaimer' }, t('disclaimer')),
    );
  }
  replaceChildren(root, parts);
  updateProgress();
}

export function initBatch(runtime: FetalRuntime, container: HTMLElement): void {
  rt = runtime;
  root = container;
}
