// Submission queue: every classified exam is stored in IndexedDB as "queued" first, then POSTed
// to /api/v1/exams. The body (with its client_exam_id, the server's idempotency key) is frozen
// when the exam is classified and replayed byte for byte, so a retry after a lost response is a
// replay (200, the original) on the server, never a duplicate.
//
// Outcomes: 2xx -> submitted. 4xx other than 401/403/408/429 -> rejected with the server's
// message, never retried. 401/403 (token missing, wrong or revoked) keep the exam queued: the
// exam is fine, the credential is not. Network errors, 408, 429 and 5xx -> stay queued, retried on
// the `online` event, periodically, and on start.
//
// Only clinical exams enter the queue: a sample exam is stored as `local` and never sent, and an
// exam classified while no token was set is `held` until the user confirms that it may be sent
// under the token entered since (releaseHeld) or keeps it on this device (keepHeldLocal).

import { noteServer } from './net.js';
import {
  entriesWithStatus, getEntry, kvDelete, kvGet, kvSet, putEntry, type HistoryEntry, type SampleId, type SubmissionStatus,
} from './db.js';
import { sendPendingOutcomes } from './outcome.js';
import { sampleWithValues } from './samples.js';
import { session } from './session.js';

// Identifies the WebAssembly runtime this app ships (web/build.mjs: a hash of fetal.js,
// fetal-core.js and fetal-core.wasm), sent with each exam so that the server can count
// disagreements by browser runtime build.
declare const __FETAL_RUNTIME_BUILD__: string;
export const RUNTIME_BUILD = __FETAL_RUNTIME_BUILD__;

const EXAMS_URL = 'api/v1/exams';
const RETRY_INTERVAL_MS = 30_000;

export interface ExamBody {
  client_exam_id: string;
  features: Record<string, number>;
  client_result: { class: string; probabilities: number[]; model_version: number };
  client_time: string;
  patient_ref?: string;
  note?: string;
  runtime_build?: string;
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

// Stores a classified exam and, when it may be sent, tries to submit it right away. A sample is
// stored `local` (never sent). Exams are sent under a clinician's token only: without a token, or
// with one the server refused or knows as another role's, the exam is `held` for the user's word.
// (A token not yet checked, e.g. offline, counts as the clinician's it is meant to be.)
// Returns the status stored.
export async function enqueue(entry: HistoryEntry, body: ExamBody, sample?: SampleId): Promise<SubmissionStatus> {
  const kind = sample ?? sampleWithValues(entry.features);
  if (kind) {
    await putEntry({ ...entry, status: 'local', sample: kind, attempts: 0 });
    emit();
    return 'local';
  }
  const s = session();
  const clinician = !s || s.state === 'unknown' || (s.state === 'ok' && s.role === 'clinician');
  const status = (await getToken()) && clinician ? 'queued' : 'held';
  const stored: QueuedEntry = { ...entry, status, attempts: 0, body: JSON.stringify(body) };
  await putEntry(stored);
  emit();
  if (status === 'queued') void flushQueue();
  return status;
}

// Held exams, oldest first: classified while no clinician token was set, waiting for the user's decision.
export function heldEntries(): Promise<HistoryEntry[]> {
  return entriesWithStatus('held');
}

// The user confirmed: every held exam is queued (its body unchanged) and sent.
export async function releaseHeld(): Promise<void> {
  for (const e of await heldEntries()) await putEntry({ ...e, status: 'queued' });
  emit();
  void flushQueue();
}

// The user declined: held exams stay in the history, never sent.
export async function keepHeldLocal(): Promise<void> {
  for (const e of await heldEntries()) await putEntry({ ...e, status: 'local' });
  emit();
}

function errorMessage(payload: unknown, status: number): string {
  const err = (payload as { error?: { message?: string; field?: string; details?: { message?: string }[] } })?.error;
  if (!err) return `HTTP ${status}`;
  const details = (err.details ?? []).map((e) => e.message).filter(Boolean);
  return [err.message, ...details].filter(Boolean).join(' — ') || `HTTP ${status}`;
}

// A server older than the `runtime_build` field refuses it as unknown (422 unknown_field) and
// stores nothing; the exam is then sent again without it (same client_exam_id, so still
// idempotent). Remembered for this page so later exams do not pay the extra round trip.
let serverLacksRuntimeBuild = false;

function refusesOnlyRuntimeBuild(status: number, payload: unknown): boolean {
  const details = (payload as { error?: { details?: { field?: string; rule?: string }[] } } | null)?.error?.details;
  return status === 422 && !!details?.length && details.every((d) => d.field === 'runtime_build' && d.rule === 'unknown_field');
}

function withoutRuntimeBuild(body: string): string {
  const parsed = JSON.parse(body) as ExamBody;
  delete parsed.runtime_build;
  return JSON.stringify(parsed);
}

async function submitOne(entry: QueuedEntry, token: string): Promise<'done' | 'retry' | 'auth'> {
  if (serverLacksRuntimeBuild && entry.body?.includes('"runtime_build"')) {
    entry = { ...entry, body: withoutRuntimeBuild(entry.body) };
  }
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
  if (refusesOnlyRuntimeBuild(response.status, payload) && entry.body?.includes('"runtime_build"')) {
    serverLacksRuntimeBuild = true;
    return submitOne(entry, token);
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
        let reachable = true;
        for (const queued of await entriesWithStatus('queued')) {
          const fresh = (await getEntry(queued.id)) as QueuedEntry | undefined;
          if (!fresh || fresh.status !== 'queued' || !fresh.body) continue;
          const sample = sampleWithValues(fresh.features);
          if (sample) {
            // Queued by a version of the app that did not keep samples out of the record.
            await putEntry({ ...fresh, status: 'local', sample });
            continue;
          }
          const outcome = await submitOne(fresh, token);
          emit();
          if (outcome !== 'done') {
            reachable = false;  // server down or token refused: try again later
            break;
          }
        }
        // Outcomes saved while the server was unreachable, once the exams before them are in.
        if (reachable && (await sendPendingOutcomes(token))) emit();
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
