// Model page: what scores the exams (version, hash, provenance), its model card (cross-validated
// metrics, recall per class, confusion matrix when the bundle has one, calibration), and the
// state of updates from the server, including refusals and why.

import { h, replaceChildren, svg } from './dom.js';
import { className } from './format.js';
import { dateTime, num, t } from './i18n.js';
import {
  activeModel, activeModelOrigin, checkForUpdate, hasPublicKey, highestVersionSeen, lastUpdateStatus, pendingModel,
  type UpdateStatus,
} from './models.js';
import { releaseView } from './release.js';

let root: HTMLElement;

// Tables from the trainer's model card for the built-in model (web/build.mjs extracts them).
interface ModelCardTables {
  version: number;
  created: string;
  confusion: number[][];
  calibration: { className: string; ece: number; bins: { lo: number; hi: number; n: number; predicted: number; observed: number }[] }[];
}
let card: ModelCardTables | null = null;

export async function loadCard(): Promise<void> {
  try {
    const r = await fetch('model/default.card.json');
    if (r.ok) card = (await r.json()) as ModelCardTables;
  } catch {
    card = null;
  }
}

// Reliability diagram: mean predicted probability against observed frequency per bin; dots on
// the diagonal are perfectly calibrated, dot area follows the number of predictions.
function reliability(entry: ModelCardTables['calibration'][number], k: number): HTMLElement {
  const size = 180, pad = 26, inner = size - pad - 8;
  const x = (p: number) => pad + p * inner;
  const y = (p: number) => size - pad - p * inner;
  const maxN = Math.max(1, ...entry.bins.map((b) => b.n));
  return h('figure', { class: 'reliability' },
    svg('svg', { viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': t('model.reliability', { class: className(k) }) },
      svg('rect', { x: pad, y: 8, width: inner, height: inner, class: 'plot-area' }),
      svg('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'diagonal' }),
      entry.bins.map((b) => svg('circle', { cx: x(b.predicted), cy: y(b.observed), r: 2 + 5 * Math.sqrt(b.n / maxN), class: `dot class-${k}` })),
      svg('text', { x: pad + inner / 2, y: size - 6, class: 'axis', 'text-anchor': 'middle' }, t('model.axis.predicted')),
      svg('text', { x: 10, y: 8 + inner / 2, class: 'axis', 'text-anchor': 'middle', transform: `rotate(-90 10 ${8 + inner / 2})` }, t('model.axis.observed'))),
    h('figcaption', {}, `${className(k)} · ECE ${num(entry.ece, 4)}`));
}

function statusText(s: UpdateStatus): string {
  return t(`model.status.${s.code}`, {
    version: s.version ?? '',
    highest: s.highest ?? '',
    sequence: s.sequence ?? '',
    status: s.status ?? '',
    message: s.message ?? '',
  });
}

function row(label: string, value: string | HTMLElement, testid?: string): HTMLElement[] {
  return [h('dt', {}, label), h('dd', testid ? { 'data-testid': testid } : {}, value)];
}

export function render(): void {
  const info = activeModel().info();
  const origin = activeModelOrigin();
  const m = info.metrics;
  const pending = pendingModel();
  const status = lastUpdateStatus();
  const refused = status && !['upToDate', 'updated', 'unreachable'].includes(status.code);
  const release = releaseView();
  const tables = card && card.version === info.version && card.created === info.created ? card : null;
  const confusion = tables?.confusion;

  replaceChildren(
    root,
    h('h1', {}, t('model.title')),
    h('dl', { class: 'facts' },
      row(t('model.version'), String(info.version), 'model-page-version'),
      row(t('model.name'), info.name),
      row(t('model.created'), Number.isNaN(Date.parse(info.created)) ? info.created : dateTime(Date.parse(info.created))),
      row(t('model.origin'), t(origin === 'server' ? 'model.origin.server' : 'model.origin.builtin')),
      row(t('model.hash'), h('span', { class: 'mono' }, info.hash)),
      row(t('model.source'), info.source),
      row(t('model.trainingData'), h('span', { class: 'mono' }, info.trainingDataSha256 || '—')),
      row(t('model.figo'), info.figoRuleset),
      row(t('model.temperature'), num(info.temperature, 4)),
      row(t('model.oodThreshold'), info.oodThreshold === null ? '—' : num(info.oodThreshold, 2))),
    h('section', { 'aria-labelledby': 'updates-title', class: 'updates' },
      h('h2', { id: 'updates-title' }, t('model.updates')),
      hasPublicKey() ? null : h('p', { class: 'note disagree-note' }, t('model.keyMissing')),
      h('p', { 'data-testid': 'update-status', class: refused ? 'note disagree-note' : '', 'data-code': status?.code ?? '' },
        status ? statusText(status) : t('model.neverChecked')),
      status ? h('p', { class: 'muted' }, t('model.lastCheck', { time: dateTime(status.at) })) : null,
      pending ? h('p', { class: 'banner', 'data-testid': 'pending-model' }, t('model.pending', { version: pending.info().version })) : null,
      h('p', { class: 'muted' }, t('model.highestSeen', { version: highestVersionSeen() })),
      release
        ? h('p', { class: 'muted', 'data-testid': 'release', 'data-sequence': release.sequence, 'data-candidate': String(release.candidate) },
          release.cohort === null
            ? t('model.release.noCohort', { sequence: release.sequence, kind: release.kind })
            : t('model.release', { sequence: release.sequence, kind: release.kind, cohort: release.cohort, percent: release.candidatePercent }),
          ' ', h('span', { 'data-testid': 'device-id', 'data-device-id': release.deviceId }, t('model.deviceId', { id: release.deviceId })))
        : null,
      h('button', { type: 'button', id: 'check-update', onclick: async () => {
        await checkForUpdate();
        render();
      } }, t('model.check'))),
    h('section', { 'aria-labelledby': 'card-title' },
      h('h2', { id: 'card-title' }, t('model.card')),
      m.splits > 0
        ? [
            h('h3', {}, t('model.metrics', { splits: m.splits })),
            h('dl', { class: 'facts metrics' },
              row(t('model.accuracy'), num(m.accuracy, 4)),
              row(t('model.macroF1'), num(m.macroF1, 4)),
              row(t('model.balancedAccuracy'), num(m.balancedAccuracy, 4)),
              row(t('model.logLoss'), num(m.logLoss, 4)),
              row(t('model.brier'), num(m.brier, 4)),
              row(t('model.ece'), num(m.ece, 4))),
            h('h3', {}, t('model.recall')),
            h('dl', { class: 'facts metrics' },
              m.recall.map((r, k) => row(t('model.recallOf', { class: className(k) }), num(r, 4)))),
          ]
        : h('p', {}, t('model.metrics.none')),
      confusion
        ? [
            h('h3', {}, t('model.confusion')),
            h('table', { class: 'data confusion' },
              h('thead', {}, h('tr', {}, h('td', {}), [0, 1, 2].map((k) => h('th', { scope: 'col' }, className(k))))),
              h('tbody', {}, confusion.map((r, i) =>
                h('tr', {}, h('th', { scope: 'row' }, className(i)), r.map((v) => h('td', { class: 'num' }, num(v))))))),
          ]
        : null,
      h('h3', {}, t('model.calibration')),
      h('p', {}, t('model.calibration.text', { temperature: num(info.temperature, 4) }),
        m.splits > 0 ? ` ${t('model.calibration.metrics', { ece: num(m.ece, 4), brier: num(m.brier, 4) })}` : null),
      tables
        ? h('div', { class: 'reliability-row' }, tables.calibration.map((c, k) => reliability(c, k)))
        : h('p', { class: 'muted' }, t('model.card.none'))),
    h('p', { class: 'disclaimer' }, t('disclaimer')),
  );
}

export function initModelPage(container: HTMLElement): void {
  root = container;
}
