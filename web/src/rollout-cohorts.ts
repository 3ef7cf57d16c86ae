// The staged rollout on the operations dashboard: GET /api/v1/monitoring/rollout (auditor and
// admin; docs/api.md), the stable and the canary cohort side by side with the rollout's sequence,
// state and current percentage, and every signal the rollout monitor decides on with its measured
// value, threshold and verdict. The server computes the figures with the monitor's own code, so
// what is shown is what the monitor judges.

import { dataTable } from './charts.js';
import { h } from './dom.js';
import { className, pText } from './format.js';
import { num, pct, t } from './i18n.js';

type Action = 'wait' | 'step' | 'halt' | 'promote';

interface Cohort {
  cohort: 'stable' | 'canary';
  version: number;
  exams: number;
  class_counts: number[];
  disagreements: number;
  disagreement_rate: number;
  ood: number;
  ood_rate: number;
  estimated_accuracy: number | null;
}

interface Signal {
  signal: 'disagreement_increase' | 'ood_rate_increase' | 'class_mix_p_value' | 'estimated_accuracy_drop';
  measured: number;
  threshold: number;
  tripped: boolean;
}

export interface RolloutCohorts {
  rollout: {
    sequence: number; state: 'running' | 'halted' | 'promoted'; step: number; steps_percent: number[]; candidate_percent: number;
    stable_version: number; candidate_version: number; started: string; step_started: string; ended: string | null;
  } | null;
  policy_error?: string | null;
  window_seconds?: number;
  window?: { stable_from: string; canary_from: string; to: string; decision_due?: string };
  enough_exams?: boolean;
  min_exams_per_cohort?: number;
  cohorts?: Cohort[];
  signals?: Signal[];
  would_decide?: Action | null;
}

let data: RolloutCohorts | null = null;
let problem = '';

// Fetches the rollout's cohorts; what it got (or why not) is shown by the next rolloutSection().
export async function loadRollout(token: string): Promise<void> {
  try {
    const r = await fetch('api/v1/monitoring/rollout', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    const body = await r.json().catch(() => null);
    if (r.ok && body && 'rollout' in body) {
      data = body as RolloutCohorts;
      problem = '';
    } else {
      problem = t('dash.error', { status: r.status, message: body?.error?.message ?? `HTTP ${r.status}` });
    }
  } catch {
    problem = t('dash.unreachable');
  }
}

const time = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');

// A signal's value and threshold as the signal reads: rates and drops as percentage points, the
// class-mix test as a p-value.
function signalValue(s: Signal, v: number, signed: boolean): string {
  return s.signal === 'class_mix_p_value' ? pText(v) : `${signed && v > 0 ? '+' : ''}${pct(v, 1)}`;
}

function cohortsTable(r: RolloutCohorts): HTMLElement {
  const cohorts = r.cohorts ?? [];
  const col = (c: Cohort) => t(`dash.rollout.cohort.${c.cohort}`, { version: c.version });
  const share = (c: Cohort, v: number) => (c.exams > 0 ? pct(v) : '—');
  const classRow = (k: number) => [className(k), ...cohorts.map((c) =>
    `${num(c.class_counts[k])} (${c.exams > 0 ? pct(c.class_counts[k] / c.exams) : '—'})`)];
  return dataTable(t('dash.rollout.cohorts'), [t('dash.rollout.measure'), ...cohorts.map(col)], [
    [t('dash.col.modelVersion'), ...cohorts.map((c) => `v${c.version}`)],
    [t('dash.rollout.examsSince'), ...cohorts.map((c) => `${num(c.exams)} (${time(c.cohort === 'stable' ? r.window?.stable_from : r.window?.canary_from)})`)],
    classRow(0), classRow(1), classRow(2),
    [t('dash.rollout.disagreementRate'), ...cohorts.map((c) => `${share(c, c.disagreement_rate)} (${num(c.disagreements)})`)],
    [t('dash.col.ood'), ...cohorts.map((c) => `${share(c, c.ood_rate)} (${num(c.ood)})`)],
    [t('dash.col.estimated'), ...cohorts.map((c) => (c.estimated_accuracy === null ? '—' : pct(c.estimated_accuracy)))],
  ], 'rollout-cohorts');
}

function signalsTable(r: RolloutCohorts): HTMLElement {
  const verdict = (s: Signal) => (!r.enough_exams ? t('dash.rollout.verdict.few', { min: num(r.min_exams_per_cohort ?? 0) })
    : s.tripped ? t('dash.rollout.verdict.trips') : t('dash.rollout.verdict.passes'));
  const table = dataTable(t('dash.rollout.signals'),
    [t('dash.rollout.signal'), t('dash.rollout.measured'), t('dash.rollout.threshold'), t('dash.rollout.verdict')],
    (r.signals ?? []).map((s) => [t(`dash.rollout.signal.${s.signal}`), signalValue(s, s.measured, true),
      `${s.signal === 'class_mix_p_value' ? '<' : '>'} ${signalValue(s, s.threshold, false)}`, verdict(s)]),
    'rollout-signals');
  // Each row says which signal it is and whether it trips, for styling and for tests.
  table.querySelectorAll('tbody tr').forEach((tr, i) => {
    const s = (r.signals ?? [])[i];
    tr.setAttribute('data-signal', s.signal);
    tr.setAttribute('data-tripped', String(r.enough_exams === true && s.tripped));
    if (r.enough_exams && s.tripped) tr.classList.add('verdict-alert');
  });
  return table;
}

// The dashboard's rollout section, or null before the first answer.
export function rolloutSection(): HTMLElement | null {
  if (!data && !problem) return null;
  const r = data;
  const ro = r?.rollout;
  const body: (HTMLElement | null)[] = [];
  if (problem) body.push(h('p', { class: 'reason' }, problem));
  else if (!ro) body.push(h('p', { class: 'muted', 'data-testid': 'rollout-none' }, t('dash.rollout.none')));
  else {
    body.push(h('p', { 'data-testid': 'rollout-state', 'data-state': ro.state, 'data-percent': String(ro.candidate_percent) },
      t(`dash.rollout.state.${ro.state}`, {
        sequence: ro.sequence, percent: ro.candidate_percent, candidate: ro.candidate_version, stable: ro.stable_version,
        steps: ro.steps_percent.map((p) => `${p} %`).join(' → '), step: ro.step + 1, count: ro.steps_percent.length,
        started: time(ro.started), ended: time(ro.ended ?? undefined),
      })));
    if (r?.policy_error) {
      body.push(h('p', { class: 'banner stale', 'data-testid': 'rollout-policy-error' }, t('dash.rollout.policyError', { error: r.policy_error })));
    } else if (r) {
      body.push(h('p', { class: 'help', 'data-testid': 'rollout-window' }, ro.state === 'running'
        ? t('dash.rollout.window.running', { seconds: num(r.window_seconds ?? 0), due: time(r.window?.decision_due),
          decision: t(`dash.rollout.action.${r.would_decide ?? 'wait'}`) })
        : t('dash.rollout.window.ended', { to: time(r.window?.to) })));
      body.push(h('h3', {}, t('dash.rollout.cohorts')), cohortsTable(r), h('h3', {}, t('dash.rollout.signals')), signalsTable(r));
    }
  }
  return h('section', { class: 'dash-section', 'aria-labelledby': 'dash-h-rollout', 'data-testid': 'rollout-section' },
    h('h2', { id: 'dash-h-rollout' }, t('dash.section.rollout')),
    h('p', { class: 'help' }, t('dash.rollout.note')),
    body);
}
