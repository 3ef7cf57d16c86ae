// The registry page (admin and auditor): every registered version with its model card figures
// side by side, which one is active and which are in shadow, each version's shadow report against
// the active model, and — for admins only — putting a version in or out of shadow, replaying a
// window of stored exams through it, and activating it past the activation gates (or overriding
// them with a written reason). The server enforces the roles and audits every action.

import { h, replaceChildren } from './dom.js';
import { className } from './format.js';
import { dateTime, num, pct, t } from './i18n.js';
import { call, describe, read } from './ops-api.js';
import { OpsPage } from './ops-page.js';
import { failingGates, gateRefusal, gatesTable, overrideForm, type GateVerdict } from './gates.js';
import { mayMonitor, mayOperate } from './session.js';

interface Metrics {
  accuracy: number; macro_f1: number; balanced_accuracy: number; log_loss: number; brier: number; ece: number;
  recall: number[]; splits: number;
}
interface ModelInfo {
  version: number; sha256: string; active: boolean; registered_at: string; signed: boolean; name?: string; created?: string;
  source?: string; trees?: number; size?: number; training_data_sha256?: string; metrics?: Metrics;
}
interface Shadow { version: number; started: string; started_by: string }
type Interval = [number, number];
interface Share { count: number; share: number; share_ci: Interval }
interface Performance { accuracy: number; accuracy_ci: Interval; macro_f1: number; recall: Record<string, number | null> }
interface Report {
  shadow_version: number; active_version: number; from: string; to: string; exams: number;
  agreement: { count: number; rate: number | null; rate_ci: Interval | null };
  class_mix: { active: Record<string, Share>; shadow: Record<string, Share> };
  disagreement: Record<string, Record<string, number>>;
  labelled_exams: number;
  performance: null | {
    active: Performance; shadow: Performance; accuracy_difference: number; accuracy_difference_ci: Interval;
    mcnemar: { only_active_right: number; only_shadow_right: number; exact_p: number; mid_p: number };
  };
}
interface Replay { version: number; exams: number; stored: number; already_evaluated: number; refused: number; next_cursor: string | null }

const CLASSES = ['Normal', 'Suspect', 'Pathological'];

let root: HTMLElement;
let models: ModelInfo[] | null = null;
let shadows: Shadow[] = [];
let report: Report | null = null;
let reportVersion: number | null = null;
let reportMessage = '';
let gates: { version: number; verdict: GateVerdict; refused: boolean } | null = null;
let replay: Replay | null = null;
// The window asked for, kept across renders (a page of results continues the same window).
let replayWindow = { version: '', from: '', to: '' };
const page = new OpsPage(() => render(), () => load());

function ms(iso: string): number {
  return Date.parse(iso);
}

async function load(): Promise<void> {
  const list = await read<{ models: ModelInfo[] }>('models');
  models = list.models;
  shadows = (await read<{ shadows: Shadow[] }>('models/shadows')).shadows;
  // The report shown follows the registry: read again, or dropped once its version is active.
  if (reportVersion !== null && models.some((m) => m.active && m.version === reportVersion)) {
    reportVersion = null;
    report = null;
  } else if (reportVersion !== null) {
    await loadReport(reportVersion);
  }
}

async function loadReport(version: number): Promise<void> {
  reportVersion = version;
  report = null;
  reportMessage = '';
  const a = await call<Report>(`models/${version}/shadow/report`);
  if (a.ok && a.body) report = a.body;
  else reportMessage = describe(a);
}

function shadowAction(version: number, on: boolean): Promise<void> {
  return page.run(async () => {
    const a = await call(`models/${version}/shadow`, { method: on ? 'POST' : 'DELETE' });
    page.note(a, () => t(on ? 'reg.shadowStarted' : 'reg.shadowStopped', { version }));
    await load();
  });
}

function activate(version: number, reason?: string): Promise<void> {
  return page.run(async () => {
    const a = await call<{ activation_gates?: GateVerdict & { outcome?: string } }>(`models/${version}/activate`,
      { method: 'POST', json: reason === undefined ? undefined : { override_reason: reason } });
    page.note(a, () => t(a.body?.activation_gates?.outcome === 'override' ? 'reg.overridden' : 'reg.activated', { version }));
    const refused = gateRefusal(a);
    if (refused) {
      gates = { version, verdict: refused, refused: true };
      page.say(false, a.status, () => t('reg.refused', { version, gates: failingGates(refused) }));
    } else if (a.ok) {
      gates = a.body?.activation_gates ? { version, verdict: a.body.activation_gates, refused: false } : null;
    } else if (!(gates?.refused && gates.version === version)) {
      gates = null;  // keep a refusal's table beside a refused override (e.g. too short a reason)
    }
    await load();
  });
}

function doReplay(version: number, from: string, to: string, cursor?: string): Promise<void> {
  replayWindow = { version: String(version), from, to };
  return page.run(async () => {
    const q = new URLSearchParams();
    if (from) q.set('from', String(new Date(from).getTime()));
    if (to) q.set('to', String(new Date(to).getTime()));
    if (cursor) q.set('cursor', cursor);
    const a = await call<Replay>(`models/${version}/shadow/replay?${q.toString()}`, { method: 'POST' });
    replay = a.ok ? a.body : null;
    page.note(a, () => t('reg.replayed', { version, exams: num(a.body?.exams ?? 0), stored: num(a.body?.stored ?? 0) }));
    if (a.ok && reportVersion === version) await loadReport(version);
  });
}

function stateOf(m: ModelInfo): string {
  if (m.active) return t('reg.state.active');
  return shadows.some((s) => s.version === m.version) ? t('reg.state.shadow') : t('reg.state.registered');
}

// The model cards side by side: one column per version, one row per figure.
function cardsTable(list: ModelInfo[]): HTMLElement {
  const admin = mayOperate();
  const f = (v: number | undefined, digits = 4) => (v === undefined || v === null ? '—' : num(v, digits));
  // A bundle trained without cross-validation carries no measured figures (zeros): shown as none.
  const cv = (m: ModelInfo, v: number | undefined) => (m.metrics?.splits ? f(v) : '—');
  const rows: [string, (m: ModelInfo) => string | HTMLElement][] = [
    [t('reg.row.state'), (m) => h('span', { 'data-testid': `state-${m.version}` }, stateOf(m))],
    [t('reg.row.signature'), (m) => (m.signed ? `✓ ${t('reg.signed')}` : `✗ ${t('reg.unsigned')}`)],
    [t('reg.row.selfTest'), () => `✓ ${t('reg.selfTestPassed')}`],
    [t('reg.row.registered'), (m) => dateTime(ms(m.registered_at))],
    [t('reg.row.source'), (m) => `${m.name ?? ''} · ${m.source ?? ''}`],
    [t('reg.row.trees'), (m) => f(m.trees)],
    [t('reg.row.size'), (m) => t('reg.bytes', { n: f(m.size) })],
    [t('reg.row.data'), (m) => h('span', { class: 'mono', title: m.training_data_sha256 ?? '' }, (m.training_data_sha256 ?? '').slice(0, 12))],
    [t('reg.row.sha'), (m) => h('span', { class: 'mono', title: m.sha256 }, m.sha256.slice(0, 12))],
    [t('reg.row.splits'), (m) => (m.metrics?.splits ? t('reg.splits', { n: m.metrics.splits }) : t('reg.noCv'))],
    [t('reg.row.accuracy'), (m) => cv(m, m.metrics?.accuracy)],
    [t('reg.row.macroF1'), (m) => cv(m, m.metrics?.macro_f1)],
    [t('reg.row.balanced'), (m) => cv(m, m.metrics?.balanced_accuracy)],
    [t('reg.row.logLoss'), (m) => cv(m, m.metrics?.log_loss)],
    [t('reg.row.brier'), (m) => cv(m, m.metrics?.brier)],
    [t('reg.row.ece'), (m) => cv(m, m.metrics?.ece)],
    ...[0, 1, 2].map((k): [string, (m: ModelInfo) => string] => [t('reg.row.recall', { class: className(k) }), (m) => cv(m, m.metrics?.recall?.[k])]),
  ];
  const actions = (m: ModelInfo): HTMLElement => {
    const inShadow = shadows.some((s) => s.version === m.version);
    return h('div', { class: 'actions' },
      m.active ? null : h('button', { type: 'button', 'data-action': 'report', 'data-version': m.version, disabled: page.busy,
        onclick: () => void page.run(() => loadReport(m.version)) }, t('reg.report')),
      admin && !m.active ? h('button', { type: 'button', 'data-action': inShadow ? 'unshadow' : 'shadow', 'data-version': m.version, disabled: page.busy,
        onclick: () => void shadowAction(m.version, !inShadow) }, inShadow ? t('reg.unshadow') : t('reg.shadow')) : null,
      admin && !m.active ? h('button', { type: 'button', class: 'primary', 'data-action': 'activate', 'data-version': m.version, disabled: page.busy,
        onclick: () => void activate(m.version) }, t('reg.activate')) : null);
  };
  return h('table', { class: 'data cards', 'data-testid': 'registry-cards' },
    h('caption', {}, t('reg.cards.caption')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('reg.col.figure')),
      list.map((m) => h('th', { scope: 'col', class: m.active ? 'num active-col' : 'num', 'data-version': m.version }, t('reg.version', { version: m.version }))))),
    h('tbody', {},
      rows.map(([label, cell]) => h('tr', {}, h('th', { scope: 'row' }, label), list.map((m) => h('td', { class: 'num' }, cell(m))))),
      h('tr', {}, h('th', { scope: 'row' }, t('reg.row.actions')), list.map((m) => h('td', {}, actions(m))))));
}

function replaySection(list: ModelInfo[]): HTMLElement | null {
  if (!mayOperate()) return null;
  const candidates = list.filter((m) => !m.active);
  if (!candidates.length) return null;
  const w = replayWindow;
  const version = h('select', { id: 'replay-version' }, candidates.map((m) => h('option', { value: m.version, selected: String(m.version) === w.version },
    t('reg.version', { version: m.version })))) as HTMLSelectElement;
  const from = h('input', { id: 'replay-from', type: 'datetime-local', value: w.from }) as HTMLInputElement;
  const to = h('input', { id: 'replay-to', type: 'datetime-local', value: w.to }) as HTMLInputElement;
  const field = (input: HTMLElement, label: string) => h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  const form = h('form', { class: 'dash-filters', id: 'replay-form', 'aria-label': t('reg.replay') },
    field(version, t('reg.replay.version')), field(from, t('reg.replay.from')), field(to, t('reg.replay.to')),
    h('div', { class: 'field' }, h('button', { type: 'submit', id: 'replay-run', disabled: page.busy }, t('reg.replay.run'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void doReplay(Number(version.value), from.value, to.value);
  });
  return h('section', { 'aria-labelledby': 'reg-replay' },
    h('h2', { id: 'reg-replay' }, t('reg.replay')),
    h('p', { class: 'help' }, t('reg.replay.help')),
    form,
    replay
      ? h('p', { 'data-testid': 'replay-result' }, t('reg.replay.result', {
          version: replay.version, exams: num(replay.exams), stored: num(replay.stored),
          already: num(replay.already_evaluated), refused: num(replay.refused) }),
          replay.next_cursor ? h('button', { type: 'button', id: 'replay-more', disabled: page.busy,
            onclick: () => void doReplay(replay!.version, w.from, w.to, replay!.next_cursor!) }, t('reg.replay.more')) : null)
      : null);
}

function register(bundle: File, signature: File): Promise<void> {
  return page.run(async () => {
    const sig = (await signature.text()).trim();
    const a = await call<ModelInfo>('models', { method: 'POST', bytes: bundle, headers: { 'X-Model-Signature': sig } });
    page.note(a, () => t('reg.registered', { version: a.body?.version ?? '' }));
    await load();
  });
}

// A signed bundle and its .sig file, as `fetal-model sign` writes them.
function registerSection(): HTMLElement | null {
  if (!mayOperate()) return null;
  const bundle = h('input', { type: 'file', id: 'register-bundle', accept: '.fhm' }) as HTMLInputElement;
  const signature = h('input', { type: 'file', id: 'register-signature', accept: '.sig' }) as HTMLInputElement;
  const field = (input: HTMLElement, label: string) => h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  const form = h('form', { class: 'dash-filters', id: 'register-form', 'aria-label': t('reg.register') },
    field(bundle, t('reg.register.bundle')), field(signature, t('reg.register.signature')),
    h('div', { class: 'field' }, h('button', { type: 'submit', id: 'register-run', disabled: page.busy }, t('reg.register.run'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const b = bundle.files?.[0], s = signature.files?.[0];
    if (!b || !s) {
      page.say(false, 0, () => t('reg.register.none'));
      render();
      return;
    }
    void register(b, s);
  });
  return h('section', { 'aria-labelledby': 'reg-register' },
    h('h2', { id: 'reg-register' }, t('reg.register')),
    h('p', { class: 'help' }, t('reg.register.help')),
    form);
}

function interval(ci: Interval | null | undefined, digits = 1): string {
  return ci ? `[${pct(ci[0], digits)} – ${pct(ci[1], digits)}]` : '';
}

function reportSection(): HTMLElement | null {
  if (reportVersion === null) return null;
  const r = report;
  const heading = h('h2', { id: 'reg-report' }, t('reg.report.title', { version: reportVersion }));
  if (!r) {
    return h('section', { 'aria-labelledby': 'reg-report', 'data-testid': 'shadow-report' }, heading,
      h('p', { class: 'reason' }, reportMessage || t('dash.loading')));
  }
  const perf = r.performance;
  const recall = (p: Performance, c: string) => (p.recall[c] === null || p.recall[c] === undefined ? '—' : pct(p.recall[c]!, 1));
  return h('section', { 'aria-labelledby': 'reg-report', 'data-testid': 'shadow-report' }, heading,
    h('p', { class: 'muted' }, t('reg.report.window', { active: r.active_version, exams: num(r.exams), from: dateTime(ms(r.from)), to: dateTime(ms(r.to)) })),
    h('ul', { class: 'tiles' },
      h('li', { class: 'tile', 'data-testid': 'report-agreement' },
        h('p', { class: 'tile-title' }, t('reg.report.agreement')),
        h('p', { class: 'tile-value' }, r.agreement.rate === null ? '—' : pct(r.agreement.rate, 1)),
        h('p', { class: 'tile-detail' }, t('reg.report.agreementDetail', { count: num(r.agreement.count), exams: num(r.exams) }), ' ', interval(r.agreement.rate_ci))),
      h('li', { class: 'tile', 'data-testid': 'report-labelled' },
        h('p', { class: 'tile-title' }, t('reg.report.labelled')),
        h('p', { class: 'tile-value' }, num(r.labelled_exams)))),
    h('div', { class: 'by-tables' },
      h('section', { class: 'by-table' }, h('h3', {}, t('reg.report.mix')),
        h('table', { class: 'data', 'data-testid': 'report-mix' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('reg.report.class')),
            h('th', { scope: 'col' }, t('reg.report.activeModel', { version: r.active_version })),
            h('th', { scope: 'col' }, t('reg.report.shadowModel', { version: r.shadow_version })))),
          h('tbody', {}, CLASSES.map((c, k) => h('tr', {}, h('th', { scope: 'row' }, className(k)),
            ...[r.class_mix.active[c], r.class_mix.shadow[c]].map((s) => h('td', { class: 'num' },
              s ? `${num(s.count)} (${pct(s.share, 1)}) ${interval(s.share_ci)}` : '—'))))))),
      h('section', { class: 'by-table' }, h('h3', {}, t('reg.report.disagreement')),
        h('table', { class: 'data confusion', 'data-testid': 'report-disagreement' },
          h('caption', {}, t('reg.report.disagreementCaption')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('reg.report.activeSays')),
            CLASSES.map((_, k) => h('th', { scope: 'col' }, className(k))))),
          h('tbody', {}, CLASSES.map((c, i) => h('tr', {}, h('th', { scope: 'row' }, className(i)),
            CLASSES.map((d, j) => h('td', { class: i === j ? 'num diagonal-cell' : 'num' }, num(r.disagreement[c]?.[d] ?? 0))))))))),
    h('section', { 'aria-labelledby': 'reg-perf' },
      h('h3', { id: 'reg-perf' }, t('reg.report.performance')),
      perf === null
        ? h('p', { class: 'muted', 'data-testid': 'report-performance' }, t('reg.report.noLabels'))
        : [
            h('table', { class: 'data', 'data-testid': 'report-performance' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('reg.col.figure')),
                h('th', { scope: 'col' }, t('reg.report.activeModel', { version: r.active_version })),
                h('th', { scope: 'col' }, t('reg.report.shadowModel', { version: r.shadow_version })))),
              h('tbody', {},
                h('tr', {}, h('th', { scope: 'row' }, t('reg.row.accuracy')),
                  ...[perf.active, perf.shadow].map((p) => h('td', { class: 'num' }, `${pct(p.accuracy, 1)} ${interval(p.accuracy_ci)}`))),
                h('tr', {}, h('th', { scope: 'row' }, t('reg.row.macroF1')),
                  ...[perf.active, perf.shadow].map((p) => h('td', { class: 'num' }, num(p.macro_f1, 3)))),
                CLASSES.map((c, k) => h('tr', {}, h('th', { scope: 'row' }, t('reg.row.recall', { class: className(k) })),
                  ...[perf.active, perf.shadow].map((p) => h('td', { class: 'num' }, recall(p, c))))))),
            h('p', { 'data-testid': 'report-difference' }, t('reg.report.difference', {
              diff: pct(perf.accuracy_difference, 1), ci: interval(perf.accuracy_difference_ci) })),
            h('p', { 'data-testid': 'report-mcnemar' }, t('reg.report.mcnemar', {
              active: num(perf.mcnemar.only_active_right), shadow: num(perf.mcnemar.only_shadow_right),
              exact: num(perf.mcnemar.exact_p, 6), mid: num(perf.mcnemar.mid_p, 6) })),
          ]));
}

function gatesSection(): HTMLElement | null {
  if (!gates) return null;
  const g = gates;
  return h('section', { 'aria-labelledby': 'reg-gates', 'data-testid': 'activation-gates', 'data-refused': String(g.refused) },
    h('h2', { id: 'reg-gates' }, t('reg.gates.title', { version: g.version })),
    gatesTable(g.verdict, 'gates-table'),
    g.refused && mayOperate()
      ? [h('p', { class: 'help' }, t('reg.gates.overrideHelp')),
         overrideForm('activate-override', page.busy, (reason) => void activate(g.version, reason))]
      : null);
}

export function render(): void {
  const allowed = mayMonitor();
  replaceChildren(root,
    h('h1', {}, t('reg.title')),
    h('p', { class: 'intro' }, t('reg.intro')),
    !allowed
      ? h('p', { class: 'banner', 'data-testid': 'ops-forbidden' }, t('ops.forbidden'))
      : [
          ...page.header(),
          gatesSection(),
          models ? h('section', { 'aria-labelledby': 'reg-cards' },
            h('h2', { id: 'reg-cards' }, t('reg.cards')),
            h('p', { class: 'help' }, t('reg.cards.help')),
            models.length ? cardsTable(models) : h('p', { class: 'muted' }, t('reg.none'))) : null,
          reportSection(),
          models ? replaySection(models) : null,
          registerSection(),
        ]);
  root.dataset.busy = String(page.busy);
}

// Each time the page is opened, and on a change of language or token.
export function show(): void {
  page.show(mayMonitor());
}

export function initRegistry(container: HTMLElement): void {
  root = container;
}
