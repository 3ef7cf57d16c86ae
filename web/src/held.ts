// The question asked before exams classified while no clinician token was set are submitted: they
// would otherwise be sent under whichever token is entered next, without the user deciding that.
// Shown in Settings after a token is saved and at the top of the History while any are held.

import { h } from './dom.js';
import { t } from './i18n.js';
import { keepHeldLocal, releaseHeld } from './submit.js';

// `name`: who the exams would be submitted as. `done` is called with what to tell the user.
export function heldPrompt(count: number, name: string, done: (message: string) => void): HTMLElement {
  const many = count !== 1;
  return h('section', { class: 'held-prompt banner', 'aria-labelledby': 'held-title', 'data-testid': 'held-prompt', 'data-count': count },
    h('h2', { id: 'held-title' }, t('held.title')),
    h('p', {}, t(many ? 'held.prompt.many' : 'held.prompt.one', { count, name })),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'held-submit', onclick: async () => {
        await releaseHeld();
        done(t('held.released'));
      } }, t(many ? 'held.submit.many' : 'held.submit.one', { count })),
      h('button', { type: 'button', id: 'held-keep', onclick: async () => {
        await keepHeldLocal();
        done(t('held.kept'));
      } }, t('held.keep'))));
}
