// The exam form and its result. Inputs are grouped by clinical meaning (the schema's groups, in
// schema order), with the schema's names, units, help and limits; every keystroke re-runs
// the WASM validator and shows its findings under the field they concern. The model that scores
// an exam is the one active when the exam started: a verified update waits until "New exam".

import type { Classification, FeatureInfo, Finding, FetalRuntime, ModelInfo } from './fetal.js';
import { parseDecimal } from './decimal.js';
import { h, replaceChildren } from './dom.js';
import {
  bound, className, featureHelp, featureName, figoClassName, findingText, getSchema, groupHelp, groupTitle, unitLabel, unitLong,
} from './format.js';
import { lang, pct, t } from './i18n.js';
import { activeModel, adoptPending, onModelChange, pendingModel } from './models.js';
import { resultCard } from './result.js';
import { SAMPLES } from './samples.js';
import type { SampleId, SubmissionStatus } from './db.js';
import { enqueue, newExamId, RUNTIME_BUILD, type ExamBody } from './submit.js';

// What became of the last classified exam's history entry.
type SavedNote = 'result.savedQueued' | 'result.savedHeld' | 'result.savedSample' | 'result.notSaved';
const SAVED_NOTE: Partial<Record<SubmissionStatus, SavedNote>> = {
  queued: 'result.savedQueued',
  held: 'result.savedHeld',
  local: 'result.savedSample',
};

interface ExamState {
  values: string[];
  touched: boolean[];
  attempted: boolean;            // Classify was pressed: empty fields now count as errors
  result: {
    classification: Classification; info: ModelInfo; savedNote: SavedNote | null; values: string[]; sample: SampleId | null;
  } | null;
  sample: SampleId | null;       // the exam was started from a sample button (until New exam)
  lastClassified: string | null; // values of the exam last saved, so a second press does not duplicate
  patientRef: string;
  note: string;
  notice: string;
}

let rt: FetalRuntime;
let root: HTMLElement;
const state: ExamState = {
  values: [],
  touched: [],
  attempted: false,
  result: null,
  lastClassified: null,
  patientRef: '',
  note: '',
  notice: '',
  sample: null,
};

function n(): number {
  return getSchema().length;
}

function resetState(): void {
  state.values = new Array(n()).fill('');
  state.touched = new Array(n()).fill(false);
  state.attempted = false;
  state.result = null;
  state.lastClassified = null;
  state.patientRef = '';
  state.note = '';
  state.sample = null;
}

function pristine(): boolean {
  return state.values.every((v) => v.trim() === '') && state.result === null;
}

// Accepts a decimal comma and a typographic minus, as typed on Brazilian keyboards.
const parseValue = parseDecimal;

interface FieldMessage {
  severity: 'error' | 'warning';
  text: string;
}

function fieldMessages(): FieldMessage[][] {
  const schema = getSchema();
  const features = state.values.map(parseValue);
  const out: FieldMessage[][] = schema.map(() => []);
  const unparsable = new Set<number>();
  state.values.forEach((text, i) => {
    if (text.trim() === '') {
      if (state.attempted) out[i].push({ severity: 'error', text: t('form.required') });
      unparsable.add(i);
    } else if (Number.isNaN(features[i])) {
      const f = schema[i];
      out[i].push({
        severity: 'error',
        text: t('form.notNumber', { text: text.trim(), expected: `${bound(f.hardMin)} – ${bound(f.hardMax)} ${unitLong(f)}`.trim() }),
      });
      unparsable.add(i);
    }
  });
  // A form nobody has typed in (the first one drawn, a new exam) has no finding to show: skipping
  // the call keeps the validator's first, cold run off the way to a ready form.
  const findings: Finding[] = findingsShown() ? rt.validate(features, activeModel()) : [];
  for (const finding of findings) {
    const i = finding.feature;
    if (i < 0 || i >= out.length || unparsable.has(i)) continue;
    // Cross-field rules only make sense once the fields they compare are entered.
    if (!state.touched[i] && !state.attempted) continue;
    out[i].push({ severity: finding.severity, text: findingText(finding) });
  }
  return out;
}

// A finding is shown only on a touched field or after an attempt to classify.
function findingsShown(): boolean {
  return state.attempted || state.touched.some(Boolean);
}

function fieldId(f: FeatureInfo): string {
  return `f-${f.key}`;
}

function updateMessages(): number {
  const schema = getSchema();
  const messages = fieldMessages();
  let errors = 0;
  schema.forEach((f, i) => {
    const input = root.querySelector<HTMLInputElement>(`#${fieldId(f)}`);
    const box = root.querySelector<HTMLElement>(`#${fieldId(f)}-msg`);
    if (!input || !box) return;
    const hasError = messages[i].some((m) => m.severity === 'error');
    if (hasError) errors++;
    input.setAttribute('aria-invalid', hasError ? 'true' : 'false');
    input.classList.toggle('warn', !hasError && messages[i].length > 0);
    replaceChildren(
      box,
      messages[i].map((m) =>
        h('span', { class: `msg ${m.severity}` },
          h('span', { class: 'sr-only' }, `${m.severity === 'error' ? t('form.error') : t('form.warning')}: `),
          m.text),
      ),
    );
  });
  return errors;
}

function renderSummary(): void {
  const box = root.querySelector<HTMLElement>('#error-summary');
  if (!box) return;
  const schema = getSchema();
  const messages = fieldMessages();
  const bad = schema.map((f, i) => ({ f, i, msgs: messages[i].filter((m) => m.severity === 'error') })).filter((x) => x.msgs.length);
  if (!bad.length) {
    box.hidden = true;
    replaceChildren(box);
    return;
  }
  box.hidden = false;
  replaceChildren(
    box,
    h('p', {}, t('form.errorsTitle', { count: bad.length })),
    h('ul', {}, bad.map(({ f, i, msgs }) =>
      h('li', {}, h('a', { href: `#${fieldId(f)}`, 'data-focus': fieldId(f) }, featureName(i)), `: ${msgs[0].text}`))),
  );
}

function examBody(id: string, features: number[], c: Classification, info: ModelInfo, time: string): ExamBody {
  const schema = getSchema();
  const body: ExamBody = {
    client_exam_id: id,
    features: Object.fromEntries(schema.map((f, i) => [f.key, features[i]])),
    client_result: {
      class: rt.classNames[c.classIndex],
      probabilities: Array.from(c.probabilities),
      model_version: info.version,
    },
    client_time: time,
    runtime_build: RUNTIME_BUILD,
  };
  if (state.patientRef.trim()) body.patient_ref = state.patientRef.trim();
  if (state.note.trim()) body.note = state.note.trim();
  return body;
}

async function classify(): Promise<void> {
  state.attempted = true;
  const errors = updateMessages();
  renderSummary();
  if (errors > 0) {
    const box = root.querySelector<HTMLElement>('#error-summary');
    box?.focus();
    return;
  }
  const features = state.values.map(parseValue);
  const model = activeModel();
  const info = model.info();
  const r = model.classify(features);
  if (!r.ok) {
    // The validator and the classifier share rules, so this is only reached on a core change.
    updateMessages();
    renderSummary();
    return;
  }
  const key = JSON.stringify([state.values, state.patientRef, state.note, info.hash, state.sample]);
  const previousNote = state.result?.savedNote ?? null;
  // The result is shown first: a storage failure must not hide it.
  state.result = { classification: r.result, info, savedNote: previousNote, values: [...state.values], sample: state.sample };
  renderResult(true);
  if (key === state.lastClassified) return;
  state.lastClassified = key;
  const id = newExamId();
  const now = new Date();
  const c = r.result;
  let savedNote: SavedNote;
  try {
    const status = await enqueue(
      {
        id,
        createdAt: now.getTime(),
        features,
        patientRef: state.patientRef.trim() || undefined,
        result: {
          classIndex: c.classIndex,
          probabilities: Array.from(c.probabilities),
          figoClassIndex: c.figo.classIndex,
          figoRuleset: c.figo.ruleset,
          outOfDistribution: c.ood.outOfDistribution,
          outOfRange: Array.from(c.ood.outOfRange),
        },
        modelVersion: info.version,
        modelHash: info.hash,
        status: 'queued',
        attempts: 0,
      },
      examBody(id, features, c, info, now.toISOString()),
      state.sample ?? undefined,
    );
    savedNote = SAVED_NOTE[status] ?? 'result.savedQueued';
  } catch {
    savedNote = 'result.notSaved';
  }
  if (state.result?.classification === c) {
    state.result.savedNote = savedNote;
    const note = root.querySelector<HTMLElement>('.saved-note');
    if (note) note.textContent = t(savedNote);
  }
}

function renderResult(announce: boolean): void {
  const area = root.querySelector<HTMLElement>('#result-area');
  const live = root.querySelector<HTMLElement>('#result-live');
  if (!area || !live) return;
  if (!state.result) {
    replaceChildren(area, h('p', { class: 'placeholder' }, t('result.empty')));
    live.textContent = '';
    return;
  }
  const { classification: c, info, savedNote, sample } = state.result;
  const line = SAMPLES.find((s) => s.id === sample)?.line;
  replaceChildren(area,
    h('p', { id: 'stale-note', class: 'banner stale', role: 'status', hidden: true }, t('result.stale')),
    resultCard(c, info, state.result.values.map(parseValue), sample ? t('result.sample', { line: line ?? '' }) : undefined),
    h('p', { class: 'muted saved-note' }, savedNote ? t(savedNote) : ''));
  updateStale();
  if (announce) {
    if (window.matchMedia('(max-width: 1000px)').matches) area.scrollIntoView({ block: 'start', behavior: 'smooth' });
    live.textContent = t('result.liveSummary', {
      class: className(c.classIndex),
      probability: pct(c.probabilities[c.classIndex]),
      figo: figoClassName(c.figo.classIndex),
    });
  }
}

// A result must never sit beside inputs it was not computed from without saying so.
function updateStale(): void {
  const note = root.querySelector<HTMLElement>('#stale-note');
  const card = root.querySelector<HTMLElement>('.result-card');
  if (!note || !card || !state.result) return;
  const stale = state.result.values.some((v, i) => v !== state.values[i]);
  note.hidden = !stale;
  card.classList.toggle('is-stale', stale);
}

function renderBanner(): void {
  const banner = root.querySelector<HTMLElement>('#model-banner');
  if (!banner) return;
  const p = pendingModel();
  if (p) {
    banner.hidden = false;
    banner.textContent = t('form.pendingModel', { version: p.info().version, current: activeModel().info().version });
  } else if (state.notice) {
    banner.hidden = false;
    banner.textContent = state.notice;
  } else {
    banner.hidden = true;
    banner.textContent = '';
  }
}

function newExam(): void {
  resetState();
  state.notice = adoptPending() ? t('form.switchedModel', { version: activeModel().info().version }) : '';
  render();
  root.querySelector<HTMLInputElement>('input')?.focus();
}

function loadSample(id: SampleId, values: number[]): void {
  if (state.result) {
    // A sample is a new exam: finish the current one first (and switch model if one waits).
    resetState();
    adoptPending();
  }
  state.sample = id;
  const comma = lang() === 'pt-BR';
  state.values = values.map((v) => (comma ? String(v).replace('.', ',') : String(v)));
  state.touched = values.map(() => true);
  state.attempted = false;
  state.lastClassified = null;
  render();
}

function fieldRow(f: FeatureInfo): HTMLElement {
  const id = fieldId(f);
  const unit = unitLabel(f);
  const input = h('input', {
    id,
    name: f.key,
    type: 'text',
    inputmode: (f.hardMin ?? -1) < 0 ? 'text' : 'decimal',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': `${id}-help ${id}-msg`,
    'aria-invalid': 'false',
  });
  input.value = state.values[f.index] ?? '';
  input.addEventListener('input', () => {
    state.values[f.index] = input.value;
    state.touched[f.index] = true;
    if (state.notice) {
      state.notice = ''; // "now using version N" has been read once the user types
      renderBanner();
    }
    updateMessages();
    updateStale();
    if (!root.querySelector<HTMLElement>('#error-summary')?.hidden) renderSummary();
  });
  const range = t('form.range', { min: bound(f.hardMin), max: bound(f.hardMax), unit: unitLong(f) }).trim();
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, featureName(f.index), unit ? h('span', { class: 'unit' }, ` (${unit})`) : null),
    input,
    h('p', { id: `${id}-help`, class: 'help' }, featureHelp(f.index), ' ', h('span', { class: 'range' }, range)),
    h('p', { id: `${id}-msg`, class: 'field-msg' }),
  );
}

// Optional context sent with the exam. The server is the authority on their limits (it answers
// with a reason the history shows); the counter only tells the user where they stand.
function detailsFieldset(): HTMLElement {
  const ref = h('input', { id: 'f-patient-ref', type: 'text', autocomplete: 'off', 'aria-describedby': 'f-patient-ref-help' }) as HTMLInputElement;
  ref.value = state.patientRef;
  ref.addEventListener('input', () => (state.patientRef = ref.value));
  const note = h('textarea', { id: 'f-note', rows: 2, 'aria-describedby': 'f-note-help' }) as HTMLTextAreaElement;
  note.value = state.note;
  const count = h('span', { class: 'count' }, t('form.note.count', { count: note.value.length }));
  note.addEventListener('input', () => {
    state.note = note.value;
    count.textContent = t('form.note.count', { count: note.value.length });
  });
  return h('fieldset', { class: 'group group-details' },
    h('legend', {}, t('form.details')),
    h('div', { class: 'fields' },
      h('div', { class: 'field' },
        h('label', { for: 'f-patient-ref' }, t('form.patientRef')),
        ref,
        h('p', { id: 'f-patient-ref-help', class: 'help' }, t('form.patientRef.help'))),
      h('div', { class: 'field field-wide' },
        h('label', { for: 'f-note' }, t('form.note')),
        note,
        h('p', { id: 'f-note-help', class: 'help' }, t('form.note.help'), ' ', count))));
}

export function render(): void {
  const schema = getSchema();
  if (state.values.length !== schema.length) resetState();
  // The schema's groups in the order they first appear (the schema lists features in form order).
  const groups = new Map<string, FeatureInfo[]>();
  for (const f of schema) groups.set(f.group, [...(groups.get(f.group) ?? []), f]);

  const form = h(
    'form',
    { id: 'exam-form', novalidate: true, 'aria-labelledby': 'exam-title' },
    // elementtiming: the form's first paint is reported to Element Timing (bench/wasm measures it).
    h('h1', { id: 'exam-title', elementtiming: 'exam-form' }, t('form.title')),
    h('p', { class: 'intro' }, t('form.intro')),
    h('div', { class: 'samples' },
      h('span', {}, t('form.samples')),
      SAMPLES.map((s) => h('button', { type: 'button', class: `sample sample-${s.id}`, 'data-sample': s.id, onclick: () => loadSample(s.id, s.values) },
        t(`form.sample.${s.id}`)))),
    h('div', { id: 'model-banner', class: 'banner', role: 'status', hidden: true }),
    h('div', { id: 'error-summary', class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true }),
    [...groups].map(([group, fields]) =>
      h('fieldset', { class: `group group-${group}` },
        h('legend', {}, groupTitle(group)),
        h('p', { class: 'help group-help' }, groupHelp(group)),
        h('div', { class: 'fields' }, fields.map(fieldRow)))),
    detailsFieldset(),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', id: 'classify' }, t('form.classify')),
      h('button', { type: 'button', id: 'new-exam', onclick: newExam }, t('form.reset'))),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void classify();
  });
  form.addEventListener('click', (e) => {
    const target = (e.target as HTMLElement).closest<HTMLElement>('[data-focus]');
    if (target) {
      e.preventDefault();
      root.querySelector<HTMLElement>(`#${target.dataset.focus}`)?.focus();
    }
  });

  replaceChildren(
    root,
    h('div', { class: 'exam-layout' },
      form,
      h('section', { id: 'result-area', class: 'result-area', 'aria-label': t('result.title') })),
    h('div', { id: 'result-live', class: 'sr-only', role: 'status', 'aria-live': 'polite' }),
  );
  // Fields are drawn without messages; with nothing typed and no attempt there is none to add.
  if (findingsShown() || state.values.some((v) => v.trim() !== '')) updateMessages();
  if (state.attempted) renderSummary();
  renderResult(false);
  renderBanner();
}

export function initExam(runtime: FetalRuntime, container: HTMLElement): void {
  rt = runtime;
  root = container;
  resetState();
  onModelChange(() => {
    // Switch right away only if no exam is in progress; otherwise say that one is waiting.
    if (pendingModel() && pristine()) {
      adoptPending();
      state.notice = t('form.switchedModel', { version: activeModel().info().version });
    }
    renderBanner();
  });
}
