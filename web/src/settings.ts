// Settings: the server token (entered once, kept in IndexedDB on this device), who the server
// says it belongs to, and what the browser granted for offline use.

import { h, replaceChildren } from './dom.js';
import { heldPrompt } from './held.js';
import { t } from './i18n.js';
import { checkSession, clearSession, session } from './session.js';
import { getToken, heldEntries, setToken } from './submit.js';

let root: HTMLElement;
let flash = '';

function sessionLine(): HTMLElement | null {
  const s = session();
  if (!s) return null;
  if (s.state === 'ok') {
    return h('p', { 'data-testid': 'session', class: s.role === 'clinician' ? 'flash' : 'muted' },
      t(s.role === 'clinician' ? 'settings.session' : 'settings.sessionRole', { name: s.name, role: s.role }));
  }
  if (s.state === 'refused') return h('p', { 'data-testid': 'session', class: 'reason' }, t('settings.sessionRefused', { message: s.message }));
  return h('p', { 'data-testid': 'session', class: 'muted' }, t('settings.sessionUnknown'));
}
let persisted: boolean | null = null;

export async function requestPersistence(): Promise<void> {
  try {
    persisted = (await navigator.storage?.persisted?.()) ?? false;
    if (!persisted) persisted = (await navigator.storage?.persist?.()) ?? false;
  } catch {
    persisted = false;
  }
}

export async function render(): Promise<void> {
  const token = await getToken();
  if (token && !session()) await checkSession(token);
  const s = session();
  // Exams classified before a token was set wait for the user's word (only a clinician may submit).
  const held = token && s?.state === 'ok' && s.role === 'clinician' ? (await heldEntries()).length : 0;
  const input = h('input', {
    id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-help token-state',
  }) as HTMLInputElement;
  const form = h('form', { class: 'settings-form' },
    h('label', { for: 'token' }, t('settings.token')),
    input,
    h('p', { id: 'token-help', class: 'help' }, t('settings.token.help')),
    h('p', { id: 'token-state', 'data-testid': 'token-state' },
      token ? t('settings.tokenSet', { tail: token.slice(-4) }) : t('settings.tokenNone')),
    token ? sessionLine() : null,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', id: 'save-token' }, t('settings.save')),
      token ? h('button', { type: 'button', id: 'clear-token', onclick: async () => {
        await setToken(null);
        await clearSession();
        flash = t('settings.cleared');
        await render();
      } }, t('settings.clear')) : null),
    h('p', { role: 'status', class: 'flash' }, flash));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    await setToken(value);
    await clearSession();  // what was known about the previous token does not hold for this one
    await checkSession(value);
    flash = t('settings.saved');
    await render();
  });
  const sw = 'serviceWorker' in navigator && !!navigator.serviceWorker.controller;
  replaceChildren(
    root,
    h('h1', {}, t('settings.title')),
    form,
    held && s?.state === 'ok'
      ? heldPrompt(held, s.name, (message) => {
          flash = message;
          void render();
        })
      : null,
    h('h2', {}, t('settings.offline')),
    h('p', {}, sw ? t('settings.swReady') : t('settings.swMissing')),
    h('h2', {}, t('settings.storage')),
    h('p', {}, persisted ? t('settings.persisted') : t('settings.notPersisted')),
  );
  flash = '';
}

export function initSettings(container: HTMLElement): void {
  root = container;
}
