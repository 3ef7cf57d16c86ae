// The audit page (auditor tokens): browse the hash-chained audit events, verify the whole chain
// on the server (GET /audit/verify), and list or create signed checkpoints. Every one of these
// reads is itself recorded in the chain by the server, so the log grows as it is read.

import { h, replaceChildren } from './dom.js';
import { dateTime, num, t } from './i18n.js';
import { noteServer } from './net.js';
import { mayAudit } from './session.js';
import { getToken } from './submit.js';

const PAGE = 50;

interface AuditEvent {
  seq: number; time: string; time_ms: number; actor: { name: string; role: string }; action: string; object: string;
  outcome: string; details: string; hash: string;
}
interface Verify {
  ok: boolean; length: number; head_hash: string; anchors_checked: number; checkpoints_not_checked: number;
  first_bad_seq?: number; problems?: { seq: number; problem: string }[]; problem_count?: number;
}
interface Checkpoint { id: number; seq: number; hash: string; time: string; time_ms: number; key_id: string; signature: string }

let root: HTMLElement;
let events: AuditEvent[] | null = null;
let after = -1;                // the page shown starts after this seq; -1: the newest page
let head = 0;                  // the chain's length when last asked
let verify: Verify | null = null;
let checkpoints: Checkpoint[] | null = null;
let created: unknown = null;   // the checkpoint just created, to keep outside the database
let message = '';
let busy = '';

async function api<T>(path: string, method = 'GET'): Promise<T> {
  const token = await getToken();
  let r: Response;
  try {
    r = await fetch(`api/v1/${path}`, {
      // A POST without a body goes out with Content-Length: 0, as the server asks.
      method, headers: { Authorization: `Bearer ${token ?? ''}` }, cache: 'no-store',
    });
  } catch {
    noteServer(false);
    throw new Error(t('audit.unreachable'));
  }
  noteServer(true);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(t('audit.error', { status: r.status, message: (body as { error?: { message?: string } })?.error?.message ?? '' }));
  return body as T;
}

async function run(what: string, fn: () => Promise<void>): Promise<void> {
  busy = what;
  message = '';
  render();
  try {
    await fn();
  } catch (e) {
    message = (e as Error).message;
  }
  busy = '';
  render();
}

async function loadEvents(start: number): Promise<void> {
  if (start < 0) {
    head = (await api<{ seq: number }>('audit/checkpoint')).seq;
    start = Math.max(0, head - PAGE);
  }
  const page = await api<{ events: AuditEvent[] }>(`audit?after=${start}&limit=${PAGE}`);
  after = start;
  events = page.events;
  head = Math.max(head, ...events.map((e) => e.seq));
}

async function loadCheckpoints(): Promise<void> {
  // Newest last; an auditor's list is short, the first 1000 are shown.
  checkpoints = (await api<{ checkpoints: Checkpoint[] }>('audit/checkpoints?limit=1000')).checkpoints;
}

function verifySection(): HTMLElement {
  const v = verify;
  return h('section', { 'aria-labelledby': 'audit-verify' },
    h('h2', { id: 'audit-verify' }, t('audit.verify')),
    h('p', { class: 'help' }, t('audit.verify.help')),
    h('button', { type: 'button', id: 'audit-verify-run', disabled: !!busy, onclick: () => void run('verify', async () => {
      verify = await api<Verify>('audit/verify');
    }) }, t('audit.verify.run')),
    v
      ? h('div', { class: `banner ${v.ok ? 'verify-ok' : 'verify-bad'}`, 'data-testid': 'audit-verify-result', 'data-ok': String(v.ok), role: 'status' },
          h('p', { class: 'verdict' }, v.ok ? `✓ ${t('audit.verify.ok', { length: num(v.length) })}` : `⚠ ${t('audit.verify.bad', { count: num(v.problem_count ?? 0), seq: v.first_bad_seq ?? '' })}`),
          h('p', {}, t('audit.verify.head'), ' ', h('span', { class: 'mono' }, v.head_hash)),
          h('p', { class: 'muted' }, t('audit.verify.anchors', { checked: num(v.anchors_checked), notChecked: num(v.checkpoints_not_checked) })),
          v.problems?.length ? h('ul', {}, v.problems.map((p) => h('li', {}, `#${p.seq}: ${p.problem}`))) : null)
      : null);
}

function checkpointSection(): HTMLElement {
  return h('section', { 'aria-labelledby': 'audit-checkpoints' },
    h('h2', { id: 'audit-checkpoints' }, t('audit.checkpoints')),
    h('p', { class: 'help' }, t('audit.checkpoints.help')),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'audit-checkpoint-create', disabled: !!busy, onclick: () => void run('checkpoint', async () => {
        created = await api<unknown>('audit/checkpoint', 'POST');
        await loadCheckpoints();
      }) }, t('audit.checkpoints.create'))),
    created
      ? h('details', { open: true, 'data-testid': 'audit-checkpoint-created' },
          h('summary', {}, t('audit.checkpoints.created')),
          h('pre', { class: 'mono json' }, JSON.stringify(created, null, 2)))
      : null,
    checkpoints === null
      ? null
      : checkpoints.length === 0
        ? h('p', { class: 'muted', 'data-testid': 'audit-checkpoint-table' }, t('audit.checkpoints.none'))
        : h('table', { class: 'data', 'data-testid': 'audit-checkpoint-table' },
            h('thead', {}, h('tr', {}, [t('audit.col.id'), t('audit.col.seq'), t('audit.col.time'), t('audit.col.hash'), t('audit.col.key')].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, [...checkpoints].reverse().map((c) => h('tr', {},
              h('td', { class: 'num' }, String(c.id)), h('td', { class: 'num' }, String(c.seq)), h('td', {}, dateTime(c.time_ms)),
              h('td', { class: 'mono', title: c.hash }, c.hash.slice(0, 16)), h('td', { class: 'mono', title: c.key_id }, c.key_id.slice(0, 12)))))));
}

function eventsSection(): HTMLElement {
  const list = events ?? [];
  const first = list[0]?.seq ?? after + 1;
  const last = list[list.length - 1]?.seq ?? after;
  const older = () => void run('events', () => loadEvents(Math.max(0, after - PAGE)));
  const newer = () => void run('events', () => loadEvents(last));
  return h('section', { 'aria-labelledby': 'audit-events' },
    h('h2', { id: 'audit-events' }, t('audit.events')),
    h('div', { class: 'pager' },
      h('button', { type: 'button', id: 'audit-older', disabled: !!busy || after <= 0, onclick: older }, t('audit.older')),
      h('span', { 'data-testid': 'audit-range' }, list.length ? t('audit.range', { first, last, head: num(head) }) : t('audit.empty')),
      h('button', { type: 'button', id: 'audit-newer', disabled: !!busy || list.length < PAGE, onclick: newer }, t('audit.newer')),
      h('button', { type: 'button', id: 'audit-newest', disabled: !!busy, onclick: () => void run('events', () => loadEvents(-1)) }, t('audit.newest'))),
    h('table', { class: 'data audit-events', 'data-testid': 'audit-events' },
      h('thead', {}, h('tr', {}, [t('audit.col.seq'), t('audit.col.time'), t('audit.col.actor'), t('audit.col.action'), t('audit.col.object'),
        t('audit.col.outcome'), t('audit.col.details')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, [...list].reverse().map((e) => h('tr', { 'data-seq': e.seq, class: e.outcome === 'ok' ? null : 'differs' },
        h('td', { class: 'num' }, String(e.seq)),
        h('td', {}, dateTime(e.time_ms)),
        h('td', {}, `${e.actor.name} (${e.actor.role})`),
        h('td', { class: 'mono' }, e.action),
        h('td', { class: 'mono' }, e.object),
        h('td', {}, e.outcome),
        h('td', { class: 'mono details-cell', title: e.hash }, e.details))))));
}

export function render(): void {
  const allowed = mayAudit();
  replaceChildren(root,
    h('h1', {}, t('audit.title')),
    h('p', { class: 'intro' }, t('audit.intro')),
    !allowed
      ? h('p', { class: 'banner', 'data-testid': 'audit-forbidden' }, t('audit.forbidden'))
      : [
          h('p', { role: 'status', class: message ? 'reason' : 'muted', 'data-testid': 'audit-status' }, busy ? t('dash.loading') : message),
          verifySection(),
          checkpointSection(),
          eventsSection(),
        ]);
  if (allowed && events === null && !busy && !message) {
    void run('events', async () => {
      await loadEvents(-1);
      await loadCheckpoints();
    });
  }
}

export function initAudit(container: HTMLElement): void {
  root = container;
}
