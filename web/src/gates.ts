// The activation gates as the operations pages show them: every gate with its threshold, its
// measured value and its verdict, and the override form (a written reason, which the server
// records in the audit chain). Activation and the start of a rollout refuse with the same 409
// body (activation_gates_failed), so both pages use this.

import { h } from './dom.js';
import { num, t, tOr } from './i18n.js';
import type { Answer } from './ops-api.js';

export interface Gate {
  name: string; threshold: unknown; measured: unknown; passed: boolean;
  active?: number | null; shadow?: number | null;
}
export interface GateVerdict { gates: Gate[]; policy?: { source?: string; enforce?: boolean } }

// The gates of a 409 activation_gates_failed answer, or null for any other answer.
export function gateRefusal(a: Answer<unknown>): GateVerdict | null {
  if (a.status !== 409 || a.error?.code !== 'activation_gates_failed') return null;
  const details = a.error.details as GateVerdict | undefined;
  return details && Array.isArray(details.gates) ? details : null;
}

function value(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? t('gates.yes') : t('gates.no');
  if (typeof v === 'number') return num(v, 4);
  return String(v);
}

export function gatesTable(verdict: GateVerdict, testid: string): HTMLElement {
  return h('table', { class: 'data gates', 'data-testid': testid },
    h('caption', {}, verdict.policy?.source
      ? t('gates.policy', { source: verdict.policy.source, enforce: verdict.policy.enforce ? t('gates.enforced') : t('gates.notEnforced') })
      : t('gates.caption')),
    h('thead', {}, h('tr', {}, [t('gates.col.gate'), t('gates.col.threshold'), t('gates.col.measured'), t('gates.col.active'),
      t('gates.col.shadow'), t('gates.col.verdict')].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, verdict.gates.map((g) => h('tr', { 'data-gate': g.name, 'data-passed': String(g.passed), class: g.passed ? null : 'differs' },
      // The gate's name and what it measures in the page's language (the server's own sentence is
      // English; it stays in the answer and the audit chain).
      h('th', { scope: 'row', title: tOr(`gate.help.${g.name}`, '') }, tOr(`gate.${g.name}`, g.name)),
      h('td', { class: 'num' }, value(g.threshold)),
      h('td', { class: 'num', 'data-testid': 'gate-measured' }, value(g.measured)),
      h('td', { class: 'num' }, value(g.active)),
      h('td', { class: 'num' }, value(g.shadow)),
      h('td', { class: g.passed ? 'gate-pass' : 'gate-fail', 'data-testid': 'gate-verdict' }, g.passed ? `✓ ${t('gates.passed')}` : `✗ ${t('gates.failed')}`)))));
}

// The failing gates in words, for the refusal's banner.
export function failingGates(verdict: GateVerdict): string {
  return verdict.gates.filter((g) => !g.passed)
    .map((g) => t('gates.failing', { gate: tOr(`gate.${g.name}`, g.name), measured: value(g.measured), threshold: value(g.threshold) }))
    .join('; ');
}

// An override needs a written reason: the button does nothing with an empty one.
export function overrideForm(id: string, busy: boolean, submit: (reason: string) => void): HTMLElement {
  const reason = h('textarea', { id: `${id}-reason`, rows: 3, required: true, maxlength: 2000, 'aria-describedby': `${id}-help` }) as HTMLTextAreaElement;
  const error = h('p', { class: 'field-msg', id: `${id}-error`, role: 'alert' });
  const form = h('form', { class: 'override-form', id, novalidate: true, 'aria-label': t('gates.override') },
    h('div', { class: 'field field-wide' },
      h('label', { for: `${id}-reason` }, t('gates.reason')),
      reason,
      h('p', { class: 'help', id: `${id}-help` }, t('gates.reason.help')),
      error),
    h('button', { type: 'submit', class: 'primary', id: `${id}-submit`, disabled: busy }, t('gates.override')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = reason.value.trim();
    if (!text) {
      reason.setAttribute('aria-invalid', 'true');
      error.textContent = t('gates.reason.required');
      reason.focus();
      return;
    }
    submit(text);
  });
  return form;
}
