// Outcome entry from the history: a clinician records, for an exam the server has, the final CTG
// reading and the optional neonatal outcome (POST /api/v1/exams/{id}/outcome). The form checks
// the server's ranges as the user types and shows the server's 422 on the field it names. A
// correction is a new version on the server (never an overwrite); every version the server holds
// (GET /api/v1/exams/{id}/outcomes) is listed under the form. With the server
// unreachable the outcome is kept on the entry (pendingOutcome) and sent with the submission
// queue (sendPendingOutcomes); an outcome is idempotent by content, so a resend is harmless.

import { entriesWithStatus, getEntry, putEntry, type HistoryEntry } from './db.js';
import { h, replaceChildren } from './dom.js';
import { className } from './format.js';
import { dateTime, lang, num, t, type StringKey } from './i18n.js';
import { noteServer } from './net.js';
import {
  inputFrom, LIMITS, OUTCOME_FIELDS, READINGS, serverProblems, validateOutcome,
  type OutcomeBody, type OutcomeField, type OutcomeInput, type OutcomeProblem, type OutcomeVersion,
} from './outcome-rules.js';

export type PostResult =
  | { kind: 'stored'; version: OutcomeVersion }
  | { kind: 'invalid'; problems: { field: OutcomeField | null; message: string }[] }
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'unreachable' };

const outcomeUrl = (examId: string | number) => `api/v1/exams/${encodeURIComponent(String(examId))}/outcome`;

export async function postOutcome(examId: string | number, body: OutcomeBody, token: string): Promise<PostResult> {
  let r: Response;
  try {
    r = await fetch(outcomeUrl(examId), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    noteServer(false);
    return { kind: 'unreachable' };
  }
  noteServer(true);
  const payload = await r.json().catch(() => null);
  if (r.ok && payload && typeof (payload as OutcomeVersion).version === 'number') return { kind: 'stored', version: payload as OutcomeVersion };
  if (r.status === 422) return { kind: 'invalid', problems: serverProblems(payload) };
  const problem = serverProblems(payload)[0];
  return { kind: 'refused', status: r.status, message: problem?.message || `HTTP ${r.status}` };
}

// Every version the server holds, oldest first (GET /exams/{id}/outcomes), or undefined when it
// cannot say (unreachable, or the exam is not visible to this token).
export async function outcomeVersions(examId: string | number, token: string): Promise<OutcomeVersion[] | undefined> {
  try {
    const r = await fetch(`api/v1/exams/${encodeURIComponent(String(examId))}/outcomes`, {
      headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
    });
    noteServer(true);
    if (!r.ok) return undefined;
    const body = (await r.json()) as { outcomes?: OutcomeVersion[] };
    return Array.isArray(body.outcomes) ? body.outcomes : undefined;
  } catch {
    noteServer(false);
    return undefined;
  }
}

// The server's list replaces what the entry had: it also holds versions recorded elsewhere.
export async function rememberVersions(entryId: string, versions: OutcomeVersion[]): Promise<HistoryEntry | undefined> {
  const entry = await getEntry(entryId);
  if (!entry) return undefined;
  const next = { ...entry, outcomes: [...versions].sort((a, b) => a.version - b.version) };
  await putEntry(next);
  return next;
}

// Versions by number, one each, ascending.
function merge(list: OutcomeVersion[] | undefined, v: OutcomeVersion): OutcomeVersion[] {
  const { replayed: _replayed, ...stored } = v;
  return [...(list ?? []).filter((x) => x.version !== v.version), stored].sort((a, b) => a.version - b.version);
}

export async function rememberOutcome(entryId: string, v: OutcomeVersion, sent?: OutcomeBody): Promise<HistoryEntry | undefined> {
  const entry = await getEntry(entryId);
  if (!entry) return undefined;
  const next = { ...entry, outcomes: merge(entry.outcomes, v) };
  if (sent && JSON.stringify(entry.pendingOutcome) === JSON.stringify(sent)) {
    delete next.pendingOutcome;
    delete next.outcomeError;
  }
  await putEntry(next);
  return next;
}

// Sends the outcomes saved while the server was unreachable, under `token`. Returns false when the
// server cannot be reached (the rest wait for the next run).
export async function sendPendingOutcomes(token: string): Promise<boolean> {
  for (const e of await entriesWithStatus('submitted')) {
    if (!e.pendingOutcome || e.serverExamId === undefined) continue;
    const body = e.pendingOutcome;
    const r = await postOutcome(e.serverExamId, body, token);
    if (r.kind === 'unreachable') return false;
    if (r.kind === 'stored') {
      await rememberOutcome(e.id, r.version, body);
      continue;
    }
    const fresh = await getEntry(e.id);
    if (!fresh || JSON.stringify(fresh.pendingOutcome) !== JSON.stringify(body)) continue;
    const message = r.kind === 'invalid' ? r.problems.map((p) => p.message).join(' — ') : r.message;
    await putEntry({ ...fresh, pendingOutcome: undefined, outcomeError: message });
  }
  return true;
}

function limitText(field: keyof typeof LIMITS): { min: string; max: string } {
  return { min: num(LIMITS[field].min), max: num(LIMITS[field].max) };
}

// The expected form of a field, in the UI's language; null for a field without one here.
function expectedText(field: OutcomeField | null): string | null {
  if (field === 'final_reading') return t('outcome.error.reading');
  if (field && field in LIMITS) {
    const f = field as keyof typeof LIMITS;
    return t(`outcome.error.range.${f}`, limitText(f));
  }
  return null;
}

function problemText(p: OutcomeProblem): string {
  // The server's 422 names the field; its message is in English, so a field this form knows is
  // explained in the UI's language (the same limits) and only other messages are quoted.
  if (p.rule === 'server') return t('outcome.error.server', { message: expectedText(p.field) ?? p.text ?? '' });
  if (p.field === 'final_reading') return t('outcome.error.reading');
  if (p.rule === 'number') return t('outcome.error.number', { text: p.text ?? '' });
  const field = p.field as keyof typeof LIMITS;
  return t(p.rule === 'integer' ? 'outcome.error.integer' : `outcome.error.range.${field}`, limitText(field));
}

const LABEL: Record<OutcomeField, StringKey> = {
  final_reading: 'outcome.finalReading',
  apgar_5min: 'outcome.apgar',
  umbilical_ph: 'outcome.ph',
  base_deficit: 'outcome.baseDeficit',
  nicu_admission: 'outcome.nicu',
};

function yesNo(v: boolean | undefined): string {
  return v === undefined || v === null ? '—' : t(v ? 'outcome.nicu.yes' : 'outcome.nicu.no');
}

function optional(v: number | undefined, digits = 2): string {
  return v === undefined || v === null ? '—' : num(v, digits);
}

export function outcomeSummary(v: OutcomeVersion): string {
  return t('outcome.summary', { reading: className(READINGS.indexOf(v.final_reading)), version: v.version });
}

function versionsTable(versions: OutcomeVersion[]): HTMLElement {
  return h('table', { class: 'data outcome-versions', 'data-testid': 'outcome-versions' },
    h('caption', {}, t('outcome.versions')),
    h('thead', {}, h('tr', {},
      [t('outcome.col.version'), t(LABEL.final_reading), t(LABEL.apgar_5min), t(LABEL.umbilical_ph), t(LABEL.base_deficit), t(LABEL.nicu_admission),
        t('outcome.col.recordedBy'), t('outcome.col.recordedAt')].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, [...versions].reverse().map((v) => h('tr', { 'data-version': v.version },
      h('td', { class: 'num' }, String(v.version)),
      h('td', {}, className(READINGS.indexOf(v.final_reading))),
      h('td', { class: 'num' }, optional(v.apgar_5min, 0)),
      h('td', { class: 'num' }, optional(v.umbilical_ph)),
      h('td', { class: 'num' }, optional(v.base_deficit)),
      h('td', {}, yesNo(v.nicu_admission)),
      h('td', {}, v.recorded_by),
      h('td', {}, Number.isNaN(Date.parse(v.recorded_at)) ? v.recorded_at : dateTime(Date.parse(v.recorded_at)))))));
}

// The form for one history entry whose exam the server stored (entry.serverExamId). `changed` is
// called after a version was stored, with the updated entry.
export function outcomeForm(entry: HistoryEntry, token: string, changed: (entry: HistoryEntry, message: string) => void): HTMLElement {
  const versions = entry.outcomes ?? [];
  const latest = versions[versions.length - 1] ?? null;
  const input: OutcomeInput = inputFrom(entry.pendingOutcome ?? latest, lang() === 'pt-BR' ? ',' : '.');
  const touched = new Set<OutcomeField>();
  let attempted = false;
  let serverSaid: OutcomeProblem[] = [];
  const id = (field: OutcomeField) => `outcome-${entry.id}-${field}`;
  const messageBox = (field: OutcomeField) => h('p', { id: `${id(field)}-msg`, class: 'field-msg' });
  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const status = h('p', { role: 'status', class: 'muted' });

  function problems(): OutcomeProblem[] {
    const local = validateOutcome(input).problems.filter((p) => attempted || touched.has(p.field));
    return [...local, ...serverSaid.filter((p) => !local.some((l) => l.field === p.field))];
  }

  function show(): number {
    const list = problems();
    for (const field of OUTCOME_FIELDS) {
      const box = form.querySelector<HTMLElement>(`#${CSS.escape(id(field))}-msg`);
      const mine = list.filter((p) => p.field === field);
      box?.replaceChildren(...mine.map((p) => h('span', { class: 'msg error' }, problemText(p))));
      form.querySelectorAll<HTMLInputElement>(`[name="${field}"]`).forEach((el) => el.setAttribute('aria-invalid', mine.length ? 'true' : 'false'));
    }
    const general = serverSaid.filter((p) => !OUTCOME_FIELDS.includes(p.field));
    summary.hidden = !(attempted && list.length) && !general.length;
    replaceChildren(summary, list.length || general.length
      ? [h('p', {}, t('outcome.errorsTitle', { count: list.length + general.length })),
          h('ul', {}, [...list, ...general].map((p) => h('li', {}, p.field && LABEL[p.field] ? `${t(LABEL[p.field])}: ` : '', problemText(p))))]
      : null);
    return list.length;
  }

  function onEdit(field: OutcomeField, value: string): void {
    (input as unknown as Record<string, string>)[field] = value;
    touched.add(field);
    serverSaid = serverSaid.filter((p) => p.field !== field);
    show();
  }

  function textField(field: 'apgar_5min' | 'umbilical_ph' | 'base_deficit', inputmode: string): HTMLElement {
    const el = h('input', {
      id: id(field), name: field, type: 'text', inputmode, autocomplete: 'off', 'aria-describedby': `${id(field)}-help ${id(field)}-msg`,
    }) as HTMLInputElement;
    el.value = input[field];
    el.addEventListener('input', () => onEdit(field, el.value));
    return h('div', { class: 'field' },
      h('label', { for: id(field) }, t(LABEL[field])),
      el,
      h('p', { id: `${id(field)}-help`, class: 'help' }, t(`outcome.help.${field}`, limitText(field))),
      messageBox(field));
  }

  function radios(field: 'final_reading' | 'nicu_admission', options: { value: string; label: string }[], help: string): HTMLElement {
    return h('fieldset', { class: 'field radios', 'aria-describedby': `${id(field)}-help ${id(field)}-msg` },
      h('legend', {}, t(LABEL[field])),
      options.map((o) => {
        const el = h('input', { type: 'radio', name: field, value: o.value, id: `${id(field)}-${o.value || 'none'}`, checked: input[field] === o.value }) as HTMLInputElement;
        el.addEventListener('change', () => onEdit(field, el.value));
        return h('label', { class: 'radio' }, el, ' ', o.label);
      }),
      h('p', { id: `${id(field)}-help`, class: 'help' }, help),
      messageBox(field));
  }

  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'outcome-save' },
    t(latest ? 'outcome.saveCorrection' : 'outcome.save'));
  const form = h('form', { class: 'outcome-form', novalidate: true, 'data-testid': 'outcome-form', 'aria-labelledby': `${id('final_reading')}-title` },
    h('h3', { id: `${id('final_reading')}-title` }, t(latest ? 'outcome.titleCorrect' : 'outcome.title')),
    h('p', { class: 'help' }, t('outcome.intro')),
    summary,
    radios('final_reading', READINGS.map((r, k) => ({ value: r, label: className(k) })), t('outcome.help.final_reading')),
    h('div', { class: 'fields' },
      textField('apgar_5min', 'numeric'),
      textField('umbilical_ph', 'decimal'),
      textField('base_deficit', 'text')),
    radios('nicu_admission', [
      { value: '', label: t('outcome.nicu.unknown') }, { value: 'yes', label: t('outcome.nicu.yes') }, { value: 'no', label: t('outcome.nicu.no') },
    ], t('outcome.help.nicu_admission')),
    h('div', { class: 'actions' }, save),
    status,
    versions.length ? versionsTable(versions) : null);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    attempted = true;
    serverSaid = [];
    const { body } = validateOutcome(input);
    if (show() > 0 || !body || entry.serverExamId === undefined) {
      summary.focus();
      return;
    }
    save.disabled = true;
    status.textContent = t('outcome.saving');
    const r = await postOutcome(entry.serverExamId, body, token);
    save.disabled = false;
    status.textContent = '';
    if (r.kind === 'stored') {
      const next = await rememberOutcome(entry.id, r.version, body);
      if (next) changed(next, t(r.version.replayed ? 'outcome.replayed' : 'outcome.stored', { version: r.version.version }));
      return;
    }
    if (r.kind === 'unreachable') {
      const fresh = await getEntry(entry.id);
      if (fresh) {
        const next = { ...fresh, pendingOutcome: body, outcomeError: undefined };
        await putEntry(next);
        changed(next, t('outcome.queued'));
      }
      return;
    }
    if (r.kind === 'invalid') {
      serverSaid = r.problems.map((p) => ({ field: p.field as OutcomeField, rule: 'server', text: p.message }));
    } else {
      status.textContent = t('outcome.refused', { message: r.message });
    }
    show();
    if (serverSaid.length) summary.focus();
  });
  queueMicrotask(show);
  return form;
}
