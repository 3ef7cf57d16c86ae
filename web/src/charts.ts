// Small charts drawn as inline SVG (no library): a time axis of windows with stacked bars, lines
// with an interval band, and a threshold line; a heat map. Each chart is a <figure> whose SVG is
// an image with a title, followed by a table of the same numbers (the accessible fallback), so
// nothing is said by colour alone.

import { h, svg } from './dom.js';
import { t } from './i18n.js';

const W = 720, H = 220;
const M = { left: 52, right: 14, top: 12, bottom: 30 };
const PW = W - M.left - M.right, PH = H - M.top - M.bottom;

export interface Frame {
  x: (i: number) => number;     // centre of window i
  y: (v: number) => number;
  step: number;                 // width of one window
}

export interface TimeChart {
  id: string;
  title: string;
  labels: string[];             // one per window
  yMax: number;
  yFormat: (v: number) => string;
  threshold?: { value: number; label: string };
  legend?: { label: string; cls: string }[];
}

// The axes, grid, labels and threshold of a chart over windows; `draw` adds the marks.
export function timeChart(c: TimeChart, draw: (f: Frame) => SVGElement[]): SVGElement {
  const n = Math.max(1, c.labels.length);
  const step = PW / n;
  const yMax = c.yMax > 0 ? c.yMax : 1;
  const f: Frame = {
    x: (i) => M.left + (i + 0.5) * step,
    y: (v) => M.top + PH * (1 - Math.max(0, Math.min(v, yMax)) / yMax),
    step,
  };
  const every = Math.ceil(n / 8);  // at most about 8 date labels
  const grid = [0, 0.5, 1].map((q) => q * yMax);
  const th = c.threshold;
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-labelledby': `${c.id}-svg-title` },
    svg('title', { id: `${c.id}-svg-title` }, c.title),
    grid.map((v) => [
      svg('line', { x1: M.left, x2: W - M.right, y1: f.y(v), y2: f.y(v), class: 'grid' }),
      svg('text', { x: M.left - 6, y: f.y(v) + 4, class: 'axis', 'text-anchor': 'end' }, c.yFormat(v)),
    ]),
    c.labels.map((l, i) => (i % every === 0 ? svg('text', { x: f.x(i), y: H - 10, class: 'axis', 'text-anchor': 'middle' }, l) : null)),
    draw(f),
    th
      ? [
          svg('line', { x1: M.left, x2: W - M.right, y1: f.y(th.value), y2: f.y(th.value), class: 'threshold' }),
          svg('text', { x: W - M.right, y: f.y(th.value) - 4, class: 'threshold-label', 'text-anchor': 'end' }, th.label),
        ]
      : null);
}

// Stacked bars, one stack per window; `stacks[i][k]` is layer k of window i.
export function stackedBars(f: Frame, stacks: number[][], classes: string[], titles: (i: number) => string): SVGElement[] {
  const w = Math.max(1, f.step * 0.75);
  return stacks.map((layers, i) => {
    let base = 0;
    return svg('g', {}, svg('title', {}, titles(i)), layers.map((v, k) => {
      const y0 = f.y(base), y1 = f.y(base + v);
      base += v;
      return svg('rect', { x: f.x(i) - w / 2, y: y1, width: w, height: Math.max(0, y0 - y1), class: classes[k] });
    }));
  });
}

// A line through the windows that have a value (null: a gap), with a dot at each and, when given,
// a band for its interval.
export function line(f: Frame, values: (number | null)[], cls: string, titles: (i: number) => string,
  band?: ([number, number] | null)[]): SVGElement[] {
  const out: SVGElement[] = [];
  if (band) {
    const pts = band.map((b, i) => (b ? [i, b] as const : null)).filter((p) => p !== null);
    if (pts.length > 1) {
      const upper = pts.map(([i, b]) => `${f.x(i)},${f.y(b[1])}`);
      const lower = pts.map(([i, b]) => `${f.x(i)},${f.y(b[0])}`).reverse();
      out.push(svg('polygon', { points: [...upper, ...lower].join(' '), class: `band ${cls}` }));
    }
  }
  let d = '';
  values.forEach((v, i) => {
    if (v === null) return;
    d += `${d && values[i - 1] !== null ? 'L' : 'M'}${f.x(i)},${f.y(v)}`;
  });
  if (d) out.push(svg('path', { d, class: `series ${cls}` }));
  values.forEach((v, i) => {
    if (v !== null) out.push(svg('circle', { cx: f.x(i), cy: f.y(v), r: 3, class: `point ${cls}` }, svg('title', {}, titles(i))));
  });
  return out;
}

// Vertical whiskers for intervals (real accuracy's confidence interval).
export function whiskers(f: Frame, intervals: ([number, number] | null)[], cls: string): SVGElement[] {
  return intervals.flatMap((b, i) => (b ? [svg('line', { x1: f.x(i), x2: f.x(i), y1: f.y(b[0]), y2: f.y(b[1]), class: `whisker ${cls}` })] : []));
}

export function legend(items: { label: string; cls: string }[]): HTMLElement {
  return h('ul', { class: 'legend' }, items.map((it) => h('li', {}, h('span', { class: `swatch ${it.cls}`, 'aria-hidden': 'true' }), it.label)));
}

export function dataTable(caption: string, headers: string[], rows: (string | number)[][], testid?: string): HTMLElement {
  return h('table', { class: 'data chart-table', 'data-testid': testid ?? null },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, headers.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((v, i) => (i ? h('td', { class: 'num' }, String(v)) : h('th', { scope: 'row' }, String(v))))))));
}

// A chart with its title, an optional legend and its numbers as a table under a disclosure.
export function chartFigure(id: string, title: string, note: string | null, chart: SVGElement, table: HTMLElement,
  legendItems?: { label: string; cls: string }[]): HTMLElement {
  return h('figure', { class: 'chart', id, 'aria-labelledby': `${id}-caption` },
    h('figcaption', { id: `${id}-caption` }, title),
    note ? h('p', { class: 'help' }, note) : null,
    legendItems ? legend(legendItems) : null,
    chart,
    h('details', { class: 'chart-data' }, h('summary', {}, t('dash.showTable')), table));
}

// A grid of cells (rows × columns), each with a class (its colour), a short mark (so the verdict
// is readable without colour) and a title with its numbers.
export function heatMap(id: string, title: string, rows: string[], cols: string[],
  cell: (r: number, c: number) => { cls: string; mark: string; title: string }): SVGElement {
  // Cells up to 44 units wide, so that a week's date labels fit under their columns; the SVG is
  // drawn at its own size (width attribute, CSS max-width 100 %), never stretched: a short range
  // keeps the labels' size.
  const labelW = Math.min(320, 12 + 6.2 * Math.max(0, ...rows.map((r) => r.length))), cw = Math.max(8, Math.min(44, (W - labelW - 8) / Math.max(1, cols.length))), ch = 16, top = 4;
  const height = top + rows.length * ch + 26;
  const every = Math.ceil((cols.length * 40) / (W - labelW - 8));  // a label needs about 40 units
  const width = labelW + cols.length * cw + 8;
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, width, class: 'heatmap', role: 'img', 'aria-labelledby': `${id}-svg-title` },
    svg('title', { id: `${id}-svg-title` }, title),
    rows.map((r, i) => svg('text', { x: labelW - 6, y: top + i * ch + ch * 0.72, class: 'axis row-label', 'text-anchor': 'end' }, r)),
    cols.map((c, j) => (j % every === 0 ? svg('text', { x: labelW + j * cw + cw / 2, y: height - 8, class: 'axis', 'text-anchor': 'middle' }, c) : null)),
    rows.map((_r, i) => cols.map((_c, j) => {
      const v = cell(i, j);
      return svg('g', { class: `cell ${v.cls}`, 'data-row': i, 'data-col': j },
        svg('title', {}, v.title),
        svg('rect', { x: labelW + j * cw, y: top + i * ch, width: cw - 1, height: ch - 1 }),
        v.mark ? svg('text', { x: labelW + j * cw + cw / 2, y: top + i * ch + ch * 0.75, 'text-anchor': 'middle', class: 'cell-mark' }, v.mark) : null);
    })));
}
