// What an operations page that acts on the server keeps between renders — whether a request is
// out, why the last read failed, the last action's answer as the server gave it — and the lines
// at the top of the page that show them (with "read-only" for a token that may not act, and a
// Refresh button).

import { h } from './dom.js';
import { t } from './i18n.js';
import { describe, type Answer } from './ops-api.js';
import { mayOperate } from './session.js';

export class OpsPage {
  busy = false;
  message = '';
  // Kept as text to compute, so that it follows a change of language.
  answer: { ok: boolean; status: number; text: () => string } | null = null;

  // `load` reads the page's state from the server (on show, and by the Refresh button).
  constructor(private readonly render: () => void, private readonly load: () => Promise<void>) {}

  // Shows the page with the server's current state: an operator acts on what the server holds
  // now (a rollout the server decided on by itself meanwhile, another admin's change).
  show(allowed: boolean): void {
    if (allowed && !this.busy) void this.run(this.load);
    else this.render();
  }

  // Runs one request (or a few) with the page marked busy; a thrown error becomes the message.
  async run(fn: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.message = '';
    this.render();
    try {
      await fn();
    } catch (e) {
      this.message = (e as Error).message;
    }
    this.busy = false;
    this.render();
  }

  // The server's answer: `okText` on success, else its status, code, message and field.
  note(a: Answer<unknown>, okText: () => string): void {
    this.say(a.ok, a.status, a.ok ? okText : () => describe(a));
  }

  say(ok: boolean, status: number, text: () => string): void {
    this.answer = { ok, status, text };
  }

  header(): HTMLElement[] {
    const a = this.answer;
    return [
      ...(mayOperate() ? [] : [h('p', { class: 'muted', 'data-testid': 'ops-readonly' }, t('ops.readOnly'))]),
      h('div', { class: 'actions' },
        h('button', { type: 'button', 'data-testid': 'ops-refresh', disabled: this.busy, onclick: () => void this.run(this.load) }, t('ops.refresh')),
        h('p', { role: 'status', class: this.message ? 'reason' : 'muted', 'data-testid': 'ops-status' }, this.busy ? t('dash.loading') : this.message)),
      ...(a ? [h('p', { class: `banner ${a.ok ? 'verify-ok' : 'verify-bad'}`, role: 'status', 'data-testid': 'ops-answer', 'data-status': a.status }, a.text())] : []),
    ];
  }
}
