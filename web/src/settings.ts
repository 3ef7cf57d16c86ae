// Settings: the clinician's server token (entered once, kept in IndexedDB on this device), and
// what the browser granted for offline use.

import { h, replaceChildren } from './dom.js';
import { t } from './i18n.js';
import { getToken, setToken } from './submit.js';

let root: HTMLElement;
let flash = '';
let session: { state: 'ok'; name: string; role: string } | { state: 'refused'; message: string } | { state: 'unknown' } | null = null;

// Asks the server who the token belongs to, so a mistyped or revoked token is caught here and
// not at the first submission.
async function checkSession(token: string): Promise<void> {
  try {
    const r = await fetch('api/v1/session', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    const body = (await r.json().catch(() => null)) as { name?: string; role?: string; error?: { message?: string } } | null;
    if (r.ok && body?.name) session = { state: 'ok', name: body.name, role: body.role ?? '' };
    else if (r.status === 401 || r.status === 403) session = { state: 'refused', message: body?.error?.message ?? `HTTP ${r.status}` };
    else session = { state: 'unknown' };
  } catch {
    session = { state: 'unknown' };
  }
}

function sessionLine(): HTMLElement | null {
  if (!session) return null;
  if (session.state === 'ok') {
    return h('p', { 'data-testid': 'session', class: session.role === 'clinician' ? 'flash' : 'reason' },
      t(session.role === 'clinician' ? 'settings.session' : 'settings.sessionRole', { name: session.name, role: session.role }));
  }
  if (session.state === 'refused') return h('p', { 'data-testid': 'session', class: 'reason' }, t('settings.sessionRefused', { message: session.message }));
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
  if (token && !session) await checkSession(token);
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
        session = null;
        flash = t('settings.cleared');
        await render();
      } }, t('settings.clear')) : null),
    h('p', { role: 'status', class: 'flash' }, flash));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    await setToken(value);
    await checkSession(value);
    flash = t('settings.saved');
    await render();
  });
  const sw = 'serviceWorker' in navigator && !!navigator.serviceWorker.controller;
  replaceChildren(
    root,
    h('h1', {}, t('settings.title')),
    form,
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
