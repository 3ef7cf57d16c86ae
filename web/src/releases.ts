// The releases page (admin and auditor): the signed release sets stored on the server with the
// state of each staged rollout and every decision taken on it (who, when, from what percentage to
// what), and — for admins only — uploading a set (`fetal-model release` writes it) and starting,
// stepping, halting or promoting its rollout. Rolling back is halting: the server publishes the
// revert the engineer signed with the set; it holds no key and cannot sign anything itself.

import { h, replaceChildren } from './dom.js';
import { dateTime, num, t, tOr } from './i18n.js';
import { call, read } from './ops-api.js';
import { OpsPage } from './ops-page.js';
import { failingGates, gateRefusal, gatesTable, overrideForm, type GateVerdict } from './gates.js';
import { mayMonitor, mayOperate } from './session.js';

interface Decision {
  action: string; time: string; actor: { name: string; role: string }; audit_seq: number;
  evidence: {
    decision?: string; percent_before?: number; percent_after?: number;
    signals?: { signal: string; measured: number; threshold: number; tripped: boolean }[];
  } | string;
}
interface ReleaseSet {
  sequence: number; site: string; stable_version: number; candidate_version: number; steps_percent: number[];
  not_after: string; uploaded: string; uploaded_by: string; state: 'uploaded' | 'running' | 'halted' | 'promoted';
  step: number | null; candidate_percent: number | null; step_started: string | null; decisions: Decision[];
}
type Action = 'start' | 'step' | 'halt' | 'promote';

let root: HTMLElement;
let sets: ReleaseSet[] | null = null;
let gates: { sequence: number; verdict: GateVerdict } | null = null;
const page = new OpsPage(() => render(), () => load());

async function load(): Promise<void> {
  sets = (await read<{ sets: ReleaseSet[] }>('releases')).sets;
}

function upload(file: File): Promise<void> {
  return page.run(async () => {
    const a = await call<{ sequence: number; candidate_version: number }>('releases', { method: 'POST', bytes: await file.text(), type: 'application/json' });
    page.note(a, () => t('rel.uploaded', { sequence: a.body?.sequence ?? '', candidate: a.body?.candidate_version ?? '' }));
    await load();
  });
}

// One decision; a start may meet the activation gates and be overridden with a written reason.
function decide(sequence: number, action: Action, reason?: string): Promise<void> {
  return page.run(async () => {
    const a = await call<ReleaseSet>(`releases/${sequence}/${action}`,
      { method: 'POST', json: reason === undefined ? undefined : { override_reason: reason } });
    page.note(a, () => t(`rel.done.${action}`, { sequence, percent: a.body?.candidate_percent ?? 0 }));
    const refused = gateRefusal(a);
    if (refused) {
      gates = { sequence, verdict: refused };
      page.say(false, a.status, () => t('rel.refused', { sequence, gates: failingGates(refused) }));
    } else if (a.ok || gates?.sequence !== sequence) {
      gates = null;
    }
    await load();
  });
}

function stateText(s: ReleaseSet): string {
  return t(`rel.state.${s.state}`);
}

// Four decimals, and "< 0.0001" rather than 0 for a tiny p-value.
function small(v: number): string {
  return v > 0 && v < 1e-4 ? `< ${num(1e-4)}` : num(v, 4);
}

function decisionText(d: Decision): string {
  const e = typeof d.evidence === 'object' ? d.evidence : {};
  // An automatic decision says why: the signals that tripped on the canary cohort, or none.
  const tripped = (e.signals ?? []).filter((s) => s.tripped)
    .map((s) => t('rel.signal', { signal: tOr(`signal.${s.signal}`, s.signal), measured: small(s.measured), threshold: small(s.threshold) }));
  const how = e.decision !== 'automatic' ? t('rel.manual')
    : `${t('rel.automatic')} · ${tripped.length ? t('rel.tripped', { signals: tripped.join('; ') }) : t('rel.noneTripped')}`;
  const move = e.percent_before === undefined ? `→ ${num(e.percent_after ?? 0)} %` : `${num(e.percent_before)} % → ${num(e.percent_after ?? 0)} %`;
  return `${dateTime(Date.parse(d.time))} · ${t(`rel.action.${d.action as Action}`)} · ${move} · ${d.actor.name} (${d.actor.role}) · ${how}`;
}

function actionsFor(s: ReleaseSet): HTMLElement | null {
  if (!mayOperate()) return null;
  const button = (action: Action, enabled: boolean, primary = false) => h('button', {
    type: 'button', class: primary ? 'primary' : null, 'data-action': action, 'data-sequence': s.sequence, disabled: page.busy || !enabled,
    onclick: () => void decide(s.sequence, action),
  }, t(`rel.action.${action}`));
  const last = s.step !== null && s.step >= s.steps_percent.length - 1;
  if (s.state === 'uploaded') return h('div', { class: 'actions' }, button('start', true, true));
  if (s.state !== 'running') return null;
  return h('div', { class: 'actions' }, button('step', !last, true), button('halt', true), button('promote', last));
}

function setsTable(list: ReleaseSet[]): HTMLElement {
  const cols = [t('rel.col.sequence'), t('rel.col.site'), t('rel.col.versions'), t('rel.col.steps'), t('rel.col.state'),
    t('rel.col.percent'), t('rel.col.stepStarted'), t('rel.col.uploaded'), t('rel.col.decisions')];
  if (mayOperate()) cols.push(t('rel.col.actions'));
  return h('table', { class: 'data releases', 'data-testid': 'release-sets' },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, [...list].reverse().map((s) => h('tr', { 'data-sequence': s.sequence, 'data-state': s.state },
      h('td', { class: 'num' }, String(s.sequence)),
      h('td', {}, s.site),
      h('td', {}, t('rel.versions', { stable: s.stable_version, candidate: s.candidate_version })),
      h('td', {}, s.steps_percent.map((p, i) => (i === s.step && s.state === 'running' ? `[${num(p)} %]` : `${num(p)} %`)).join(' → ')),
      h('td', { 'data-testid': 'release-state' }, stateText(s)),
      h('td', { class: 'num', 'data-testid': 'release-percent' }, s.candidate_percent === null ? '—' : `${num(s.candidate_percent)} %`),
      h('td', {}, s.step_started ? dateTime(Date.parse(s.step_started)) : '—'),
      h('td', {}, `${dateTime(Date.parse(s.uploaded))} · ${s.uploaded_by}`),
      h('td', {}, s.decisions.length
        ? h('ol', { class: 'decisions', 'data-testid': 'release-decisions' }, s.decisions.map((d) => h('li', { 'data-action': d.action, title: `#${d.audit_seq}` }, decisionText(d))))
        : h('span', { class: 'muted' }, t('rel.noDecisions'))),
      mayOperate() ? h('td', {}, actionsFor(s)) : null))));
}

function uploadSection(): HTMLElement | null {
  if (!mayOperate()) return null;
  const input = h('input', { type: 'file', id: 'release-file', accept: '.json,application/json' }) as HTMLInputElement;
  const form = h('form', { id: 'release-upload', class: 'dash-filters', 'aria-label': t('rel.upload') },
    h('div', { class: 'field' }, h('label', { for: 'release-file' }, t('rel.upload.file')), input),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', id: 'release-upload-run', disabled: page.busy }, t('rel.upload.run'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = input.files?.[0];
    if (!file) {
      page.say(false, 0, () => t('rel.upload.none'));
      render();
      return;
    }
    void upload(file);
  });
  return h('section', { 'aria-labelledby': 'rel-upload' },
    h('h2', { id: 'rel-upload' }, t('rel.upload')),
    h('p', { class: 'help' }, t('rel.upload.help')),
    form);
}

function gatesSection(): HTMLElement | null {
  if (!gates) return null;
  const g = gates;
  return h('section', { 'aria-labelledby': 'rel-gates', 'data-testid': 'rollout-gates' },
    h('h2', { id: 'rel-gates' }, t('rel.gates.title', { sequence: g.sequence })),
    gatesTable(g.verdict, 'rollout-gates-table'),
    mayOperate() ? [h('p', { class: 'help' }, t('reg.gates.overrideHelp')),
      overrideForm('start-override', page.busy, (reason) => void decide(g.sequence, 'start', reason))] : null);
}

export function render(): void {
  const allowed = mayMonitor();
  replaceChildren(root,
    h('h1', {}, t('rel.title')),
    h('p', { class: 'intro' }, t('rel.intro')),
    !allowed
      ? h('p', { class: 'banner', 'data-testid': 'ops-forbidden' }, t('ops.forbidden'))
      : [
          ...page.header(),
          gatesSection(),
          uploadSection(),
          h('section', { 'aria-labelledby': 'rel-sets' },
            h('h2', { id: 'rel-sets' }, t('rel.sets')),
            h('p', { class: 'help', 'data-testid': 'rollback-help' }, t('rel.rollback.help')),
            sets === null ? null : sets.length ? setsTable(sets) : h('p', { class: 'muted', 'data-testid': 'release-sets' }, t('rel.none'))),
        ]);
  root.dataset.busy = String(page.busy);
}

// Each time the page is opened, and on a change of language or token.
export function show(): void {
  page.show(mayMonitor());
}

export function initReleases(container: HTMLElement): void {
  root = container;
}
