// Submission queue: every classified exam is stored in IndexedDB as "queued" first, then POSTed
// to /api/v1/exams. The body (with its client_exam_id, the server's idempotency key) is frozen
// when the exam is classified and replayed byte for byte, so a retry after a lost response is a
// replay (200, the original) on the server, never a duplicate.
//
// Outcomes: 2xx -> submitted. 4xx other than 401/403/408/429 -> rejected with the server's
// message, never retried. 401/403 (token missing, wrong or revoked) keep the exam queued: the
// exam is fine, the credential is not. Network errors, 408, 429 and 5xx -> stay queued, retried on
// the `online` event, periodically, and on start.

import { noteServer } from './net.js';
import { entriesWithStatus, getEntry, kvDelete, kvGet, kvSet, putEntry, type HistoryEntry } from './db.js';

const EXAMS_URL = 'api/v1/exams';
const RETRY_INTERVAL_MS = 30_000;

export interface ExamBody {
  client_exam_id: string;
  features: Record<string, number>;
  client_result: { class: string; probabilities: number[]; model_version: number };
  client_time: string;
  patient_ref?: string;
  note?: string;
}

type QueuedEntry = HistoryEntry & { body?: string };

const listeners: Array<() => void> = [];
export function onQueueChange(fn: () => void): void {
  listeners.push(fn);
}
function emit(): void {
  for (const fn of listeners) fn();
}

export async function getToken(): Promise<string | null> {
  return (await kvGet<string>('settings.token')) ?? null;
}

export async function setToken(token: string | null): Promise<void> {
  if (token) await kvSet('settings.token', token);
  else await kvDelete('settings.token');
  emit();
  if (token) void flushQueue();
}

export function newExamId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Non-secure contexts lack randomUUID; build a v4 UUID from getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Stores the entry (status queued) and tries to submit it right away.
export async function enqueue(entry: HistoryEntry, body: ExamBody): Promise<void> {
  const queued: QueuedEntry = { ...entry, status: 'queued', attempts: 0, body: JSON.stringify(body) };
  await putEntry(queued);
  emit();
  void flushQueue();
}

function errorMessage(payload: unknown, status: number): string {
  const err = (payload as { error?: { message?: string; field?: string; details?: { message?: string }[] } })?.error;
  if (!err) return `HTTP ${status}`;
  const details = (err.details ?? []).map((e) => e.message).filter(Boolean);
  return [err.message, ...details].filter(Boolean).join(' — ') || `HTTP ${status}`;
}

async function submitOne(entry: QueuedEntry, token: string): Promise<'done' | 'retry' | 'auth'> {
  const now = Date.now();
  let response: Response;
  try {
    response = await fetch(EXAMS_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: entry.body,
      cache: 'no-store',
    });
  } catch {
    noteServer(false);
    await putEntry({ ...entry, attempts: entry.attempts + 1, lastAttemptAt: now, statusMessage: 'network' });
    return 'retry';
  }
  noteServer(true);
  let payload: unknown = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  const base = { ...entry, attempts: entry.attempts + 1, lastAttemptAt: now };
  if (response.ok) {
    const exam = payload as { id?: string | number; agreement?: { match?: boolean; max_abs_diff?: number } } | null;
    await putEntry({
      ...base,
      status: 'submitted',
      submittedAt: now,
      serverExamId: exam?.id,
      agreementMatch: exam?.agreement?.match,
      agreementDiff: exam?.agreement?.max_abs_diff,
      statusMessage: undefined,
    });
    return 'done';
  }
  const message = errorMessage(payload, response.status);
  if (response.status === 401 || response.status === 403) {
    await putEntry({ ...base, statusMessage: message });
    return 'auth';
  }
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
    await putEntry({ ...base, status: 'rejected', statusMessage: message });
    return 'done';
  }
  await putEntry({ ...base, statusMessage: message });
  return 'retry';
}

let flushing: Promise<void> | null = null;

// Sends every queued exam, oldest first, one at a time. Concurrent calls share one run; tabs
// share one run through a Web Lock (the server's idempotency makes overlap harmless anyway).
export function flushQueue(): Promise<void> {
  flushing ??= (async () => {
    try {
      const run = async () => {
        const token = await getToken();
        if (!token) return;
        for (const queued of await entriesWithStatus('queued')) {
          const fresh = (await getEntry(queued.id)) as QueuedEntry | undefined;
          if (!fresh || fresh.status !== 'queued' || !fresh.body) continue;
          const outcome = await submitOne(fresh, token);
          emit();
          if (outcome !== 'done') break; // server down or token refused: try again later
        }
      };
      if (navigator.locks) await navigator.locks.request('fetal-submission-queue', run);
      else await run();
    } finally {
      flushing = null;
      emit();
    }
  })();
  return flushing;
}

export function startQueue(): void {
  void flushQueue();
  window.addEventListener('online', () => void flushQueue());
  setInterval(() => void flushQueue(), RETRY_INTERVAL_MS);
}

export async function queuedCount(): Promise<number> {
  return (await entriesWithStatus('queued')).length;
}
