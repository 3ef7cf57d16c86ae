// History: every exam classified on this device, with the model version that scored it and its
// submission status. The same IndexedDB records are the submission queue.

import { allEntries, type HistoryEntry } from './db.js';
import { h, replaceChildren } from './dom.js';
import { className, featureName, figoClassName, getSchema } from './format.js';
import { dateTime, num, pct, t } from './i18n.js';
import { heldPrompt } from './held.js';
import { outcomeForm, outcomeSummary, outcomeVersions, rememberVersions } from './outcome.js';
import { READINGS } from './outcome-rules.js';
import { shortHash } from './result.js';
import { SAMPLES } from './samples.js';
import { session } from './session.js';
import { flushQueue, getToken } from './submit.js';

let root: HTMLElement;
let flash = '';
let openOutcome: string | null = null;  // the entry whose outcome form is shown

// Opens (or closes) an entry's outcome form, after asking the server for the exam's versions.
async function toggleOutcome(e: HistoryEntry, token: string): Promise<void> {
  if (openOutcome === e.id) {
    openOutcome = null;
  } else {
    openOutcome = e.id;
    const versions = e.serverExamId === undefined ? undefined : await outcomeVersions(e.serverExamId, token);
    if (versions) await rememberVersions(e.id, versions);
  }
  await render();
  root.querySelector<HTMLElement>(`tr[data-exam-id="${CSS.escape(e.id)}"] .outcome-toggle`)?.focus();
}

function outcomeCell(e: HistoryEntry, token: string | null, clinician: boolean): HTMLElement {
  const latest = e.outcomes?.[e.outcomes.length - 1];
  const canRecord = clinician && token && e.status === 'submitted' && e.serverExamId !== undefined;
  return h('td', { 'data-testid': 'outcome-cell' },
    latest ? h('p', { 'data-testid': 'outcome-latest' }, outcomeSummary(latest))
      : e.status === 'submitted' && !e.pendingOutcome ? h('p', { class: 'muted' }, t('outcome.none')) : null,
    e.pendingOutcome
      ? h('p', { class: 'muted', 'data-testid': 'outcome-pending' },
          t('outcome.pending', { reading: className(READINGS.indexOf(e.pendingOutcome.final_reading)) }))
      : null,
    e.outcomeError ? h('p', { class: 'reason', 'data-testid': 'outcome-error' }, t('outcome.refused', { message: e.outcomeError })) : null,
    canRecord
      ? h('button', {
          type: 'button', class: 'outcome-toggle', 'aria-expanded': String(openOutcome === e.id), 'aria-controls': `outcome-row-${e.id}`,
          onclick: () => void toggleOutcome(e, token),
        }, t(openOutcome === e.id ? 'outcome.close' : latest ? 'outcome.correct' : 'outcome.record'))
      : null);
}

function statusCell(e: HistoryEntry, hasToken: boolean): HTMLElement {
  const label =
    e.status === 'queued' && !hasToken ? t('history.status.queuedNoToken') : t(`history.status.${e.status}`);
  return h('td', {},
    h('span', { class: `status status-${e.status}`, 'data-status': e.status }, label),
    e.statusMessage && e.status !== 'submitted'
      ? h('p', { class: e.status === 'rejected' ? 'reason' : 'muted' },
          e.status === 'rejected'
            ? t('history.serverSaid', { message: e.statusMessage })
            : t('history.lastError', { message: e.statusMessage === 'network' ? t('history.unreachable') : e.statusMessage }))
      : null,
    e.agreementMatch === undefined
      ? null
      : h('p', { class: e.agreementMatch ? 'muted' : 'reason', 'data-testid': 'agreement' },
          t(e.agreementMatch ? 'history.agreement.match' : 'history.agreement.mismatch', { diff: num(e.agreementDiff ?? 0, 6) })));
}

export async function render(): Promise<void> {
  const entries = await allEntries();
  const token = await getToken();
  const hasToken = !!token;
  const queued = entries.filter((e) => e.status === 'queued').length;
  const held = entries.filter((e) => e.status === 'held').length;
  const s = session();
  const clinician = s?.state === 'ok' && s.role === 'clinician';
  const schema = getSchema();
  replaceChildren(
    root,
    h('h1', {}, t('history.title')),
    h('p', { class: 'intro' }, t('history.intro')),
    held && hasToken && s?.state === 'ok' && s.role === 'clinician'
      ? heldPrompt(held, s.name, (message) => {
          flash = message;
          void render();
        })
      : null,
    h('p', { role: 'status', class: 'flash' }, flash),
    h('div', { class: 'history-actions' },
      h('p', { 'data-testid': 'queue-count' }, queued ? t('history.queueCount', { count: queued }) : t('history.queueNone')),
      h('button', { type: 'button', id: 'retry-queue', disabled: queued === 0 || !hasToken, onclick: () => void flushQueue() },
        t('history.retryNow'))),
    entries.length === 0
      ? h('p', {}, t('history.empty'))
      : h('table', { class: 'data history', 'data-testid': 'history-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('history.col.time')),
            h('th', { scope: 'col' }, t('history.col.class')),
            h('th', { scope: 'col' }, t('history.col.probability')),
            h('th', { scope: 'col' }, t('history.col.figo')),
            h('th', { scope: 'col' }, t('history.col.model')),
            h('th', { scope: 'col' }, t('history.col.status')),
            h('th', { scope: 'col' }, t('history.col.outcome')))),
          h('tbody', {}, entries.map((e) => [
            h('tr', { 'data-exam-id': e.id },
              h('td', {}, dateTime(e.createdAt),
                e.sample
                  ? h('p', { class: 'muted', 'data-testid': 'sample' }, t('history.sample', { line: SAMPLES.find((x) => x.id === e.sample)?.line ?? '' }))
                  : null,
                e.patientRef ? h('p', { class: 'muted' }, t('history.patient', { ref: e.patientRef })) : null,
                h('details', {},
                  h('summary', {}, t('history.details')),
                  h('p', {}, t('history.col.id'), ': ', h('span', { class: 'mono' }, e.id)),
                  h('p', {}, e.result.probabilities.map((p, k) => `${className(k)} ${pct(p)}`).join(' · ')),
                  e.result.outOfDistribution || e.result.outOfRange.length
                    ? h('p', {}, t('result.ood.flag'), e.result.outOfRange.length ? `: ${e.result.outOfRange.map(featureName).join(', ')}` : '')
                    : null,
                  h('dl', { class: 'features' }, schema.map((_f, i) => [
                    h('dt', {}, featureName(i)),
                    h('dd', {}, num(e.features[i])),
                  ])))),
              h('td', {}, h('span', { class: `class-badge small class-${e.result.classIndex}` }, className(e.result.classIndex))),
              h('td', { class: 'num' }, pct(e.result.probabilities[e.result.classIndex])),
              h('td', {}, figoClassName(e.result.figoClassIndex)),
              h('td', { class: 'mono', 'data-testid': 'history-model' }, `v${e.modelVersion} · ${shortHash(e.modelHash)}`),
              statusCell(e, hasToken),
              outcomeCell(e, token, clinician)),
            openOutcome === e.id && token
              ? h('tr', { class: 'outcome-row', id: `outcome-row-${e.id}` },
                  h('td', { colspan: 7 }, outcomeForm(e, token, (_next, message) => {
                    flash = message;
                    void render();
                  })))
              : null,
          ]))),
  );
  flash = '';
}

export function initHistory(container: HTMLElement): void {
  root = container;
}
