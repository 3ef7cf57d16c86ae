// Who the stored token belongs to, as the server says (GET /api/v1/session): checked when a token
// is entered and at start, so a mistyped or revoked token is caught before the first submission,
// and so the app knows which views the token may use (the dashboard needs an auditor or admin).
// The last answer is kept in IndexedDB: offline, the app still knows the token's role.

import { kvDelete, kvGet, kvSet } from './db.js';

export type Session =
  | { state: 'ok'; name: string; role: string }
  | { state: 'refused'; message: string }
  | { state: 'unknown' };

const KEY = 'settings.session';
let current: Session | null = null;
const listeners: Array<() => void> = [];

export function session(): Session | null {
  return current;
}

export function onSessionChange(fn: () => void): void {
  listeners.push(fn);
}

function set(next: Session | null): void {
  current = next;
  for (const fn of listeners) fn();
}

// The role of the token when the server last recognised it, or null.
export function role(): string | null {
  return current?.state === 'ok' ? current.role : null;
}

// Which operations views the token's role may use (the server enforces the same rules).
export function mayMonitor(): boolean {
  return role() === 'auditor' || role() === 'admin';
}
export function mayAudit(): boolean {
  return role() === 'auditor';
}
// Only admins change the model registry and rollouts; auditors see the same pages read-only.
export function mayOperate(): boolean {
  return role() === 'admin';
}

// The session remembered from the last check (before the server is asked again).
export async function restoreSession(): Promise<void> {
  const saved = await kvGet<{ name: string; role: string }>(KEY).catch(() => undefined);
  if (saved && !current) set({ state: 'ok', ...saved });
}

export async function checkSession(token: string): Promise<Session> {
  let next: Session;
  try {
    const r = await fetch('api/v1/session', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    const body = (await r.json().catch(() => null)) as { name?: string; role?: string; error?: { message?: string } } | null;
    if (r.ok && body?.name) next = { state: 'ok', name: body.name, role: body.role ?? '' };
    else if (r.status === 401 || r.status === 403) next = { state: 'refused', message: body?.error?.message ?? `HTTP ${r.status}` };
    else next = { state: 'unknown' };
  } catch {
    next = { state: 'unknown' };
  }
  if (next.state === 'ok') await kvSet(KEY, { name: next.name, role: next.role }).catch(() => undefined);
  else if (next.state === 'refused') await kvDelete(KEY).catch(() => undefined);
  // Unreachable: keep what was known (offline, a token keeps its role).
  if (next.state !== 'unknown' || current?.state !== 'ok') set(next);
  return current ?? next;
}

export async function clearSession(): Promise<void> {
  await kvDelete(KEY).catch(() => undefined);
  set(null);
}
