// Model manager: which bundle scores exams, and how a new one gets in.
//
// The app ships a default bundle in dist/model/. A newer one comes only from the server's
// GET /api/v1/models/active and is used only after (1) its ECDSA P-256 / SHA-256 signature
// verifies against the public key built into the app, (2) the SHA-256 of its content matches the
// hash it carries (and the ETag), (3) the WASM core loads it, and (4) its version is not lower than
// the highest version this browser has ever accepted (persisted), so a compromised or confused
// server cannot roll clinicians back. A verified update waits as "pending" until the exam in
// progress is finished (switch on the next exam).

import type { FetalModel, FetalRuntime } from './fetal.js';
import { kvGet, kvSet } from './db.js';
import { noteServer } from './net.js';

declare const __FETAL_PUBKEY_SPKI__: string; // base64 DER SubjectPublicKeyInfo, '' if none

export type ModelOrigin = 'builtin' | 'server';

// Last update check, persisted so the model page can say what happened even after a reload.
export interface UpdateStatus {
  at: number;
  code:
    | 'upToDate'
    | 'updated'
    | 'unreachable'
    | 'badSignature'
    | 'noSignature'
    | 'badHash'
    | 'rollback'
    | 'sameVersionDifferent'
    | 'invalid'
    | 'httpError'
    | 'noCrypto'
    | 'keyMissing';
  version?: number;
  highest?: number;
  status?: number;
  message?: string;
}

interface StoredBundle {
  bytes: ArrayBuffer;
  version: number;
  hash: string;
  etag: string | null;
}

const MODEL_URL = 'api/v1/models/active';
const CHECK_INTERVAL_MS = 5 * 60 * 1000;
// The version of the server bundle stored in IndexedDB ('model.server'), kept beside it in
// localStorage, which reads synchronously: a start with no newer bundle stored (a new profile,
// or one whose stored bundle the built-in one has caught up with) does not wait for IndexedDB,
// whose first open in a new profile costs tens of milliseconds.
const STORED_VERSION_HINT = 'fetal.model.storedVersion';

let rt: FetalRuntime;
let active: FetalModel;
let activeOrigin: ModelOrigin = 'builtin';
let pending: FetalModel | null = null;  // always from the server
let highestSeen = 0;
let lastStatus: UpdateStatus | null = null;
let checking: Promise<UpdateStatus> | null = null;
// Resolves once the persisted state (highest version seen, last status, stored bundle) is read.
let persisted: Promise<void> = Promise.resolve();
const listeners: Array<() => void> = [];

export function onModelChange(fn: () => void): void {
  listeners.push(fn);
}
function emit(): void {
  for (const fn of listeners) fn();
}

export function activeModel(): FetalModel {
  return active;
}
export function activeModelOrigin(): ModelOrigin {
  return activeOrigin;
}
export function pendingModel(): FetalModel | null {
  return pending;
}
export function lastUpdateStatus(): UpdateStatus | null {
  return lastStatus;
}
export function highestVersionSeen(): number {
  return highestSeen;
}
export function hasPublicKey(): boolean {
  return __FETAL_PUBKEY_SPKI__.length > 0;
}

async function load(bytes: Uint8Array): Promise<FetalModel | string> {
  const r = await rt.loadModelAsync(bytes);
  return r.ok ? r.model : `${r.error.code}: ${r.error.message}`;
}

function storedVersionHint(): number {
  try {
    return Number(localStorage.getItem(STORED_VERSION_HINT) ?? 0) || 0;
  } catch {
    return 0;  // storage blocked: IndexedDB decides, below
  }
}

function setStoredVersionHint(version: number): void {
  try {
    localStorage.setItem(STORED_VERSION_HINT, String(version));
  } catch {
    // Without the hint a start reads IndexedDB in the background; nothing is lost.
  }
}

async function storeServerBundle(bundle: StoredBundle): Promise<void> {
  await kvSet('model.server', bundle);
  setStoredVersionHint(bundle.version);
}

// Loads the best model available offline: the last verified server bundle, or the built-in one
// if it is newer (an app update can ship a newer default).
// `builtinResponse`: the fetch of model/default.fhm, started by the caller as early as it can.
export async function initModels(runtime: FetalRuntime, builtinResponse?: Promise<Response>): Promise<void> {
  rt = runtime;
  const state = Promise.all([
    kvGet<number>('model.highestSeen'),
    kvGet<UpdateStatus>('model.lastStatus'),
    kvGet<StoredBundle>('model.server'),
  ]);
  const response = await (builtinResponse ?? fetch('model/default.fhm'));
  if (!response.ok) throw new Error(`model/default.fhm: HTTP ${response.status}`);
  const builtin = await load(new Uint8Array(await response.arrayBuffer()));
  if (typeof builtin === 'string') throw new Error(`model/default.fhm: ${builtin}`);
  active = builtin;
  activeOrigin = 'builtin';

  // The stored bundle, the highest version seen and the last status, once IndexedDB has them.
  // With the hint saying a stored bundle is at least as new as the built-in one, the start waits
  // for it; otherwise it goes on with the built-in model, and a stored bundle found newer all the
  // same (an older app kept no hint) waits as pending, taken at the next exam like an update.
  const apply = async ([seen, status, stored]: [number | undefined, UpdateStatus | undefined, StoredBundle | undefined], starting: boolean) => {
    highestSeen = Math.max(highestSeen, seen ?? 0);
    lastStatus = status ?? lastStatus;
    if (stored) setStoredVersionHint(stored.version);
    if (stored && stored.version >= builtin.info().version) {
      const fromServer = await load(new Uint8Array(stored.bytes));
      if (typeof fromServer !== 'string' && fromServer.info().hash === stored.hash) {
        if (starting) {
          active = fromServer;
          activeOrigin = 'server';
        } else {
          pending = fromServer;
          emit();
        }
      }
    }
    if (active.info().version > highestSeen) {
      highestSeen = active.info().version;
      // Stored in the background: the checks read the value in memory, and a start that never
      // got to store it raises it again from the model it loads.
      void kvSet('model.highestSeen', highestSeen).catch(() => undefined);
    }
    if (!starting) emit();  // the model page shows what was read
  };
  if (storedVersionHint() >= builtin.info().version) {
    await apply(await state, true);
  } else {
    persisted = state.then((values) => apply(values, false)).catch(() => undefined);
  }
}

// Switches to the pending model, if any. Called when no exam is in progress.
export function adoptPending(): boolean {
  if (!pending) return false;
  const previous = active;
  active = pending;
  activeOrigin = 'server';
  pending = null;
  // Results already shown keep their data; the old instance is freed once nothing can be
  // mid-call on it (a batch in flight captured it and finishes within seconds).
  if (previous !== active) setTimeout(() => previous.dispose(), 60_000);
  emit();
  return true;
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

let publicKey: Promise<CryptoKey> | null = null;
function importPublicKey(): Promise<CryptoKey> {
  publicKey ??= crypto.subtle.importKey(
    'spki',
    base64ToBytes(__FETAL_PUBKEY_SPKI__),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
  return publicKey;
}

async function setStatus(status: UpdateStatus): Promise<UpdateStatus> {
  lastStatus = status;
  await kvSet('model.lastStatus', status);
  emit();
  return status;
}

// Asks the server for its active model and installs it if it passes every check.
export function checkForUpdate(): Promise<UpdateStatus> {
  checking ??= doCheck().finally(() => {
    checking = null;
  });
  return checking;
}

async function doCheck(): Promise<UpdateStatus> {
  await persisted;  // the highest version seen decides what a rollback is
  const now = Date.now();
  const current = (pending ?? active).info();
  const stored = await kvGet<StoredBundle>('model.server');
  const headers: Record<string, string> = {};
  if (stored?.etag && stored.hash === current.hash) headers['If-None-Match'] = stored.etag;

  let response: Response;
  try {
    response = await fetch(MODEL_URL, { headers, cache: 'no-store' });
  } catch {
    noteServer(false);
    return setStatus({ at: now, code: 'unreachable', version: current.version });
  }
  noteServer(response.status !== 404); // a static host without the API answers 404
  if (response.status === 304) return setStatus({ at: now, code: 'upToDate', version: current.version });
  if (!response.ok) {
    // A plain static host has no API: that is "unreachable", not an error worth alarming about.
    const code = response.status === 404 ? 'unreachable' : 'httpError';
    return setStatus({ at: now, code, status: response.status, version: current.version });
  }
  const bytes: Uint8Array<ArrayBuffer> = new Uint8Array(await response.arrayBuffer());
  const etag = response.headers.get('ETag');
  const signature = response.headers.get('X-Model-Signature');

  if (!hasPublicKey()) return setStatus({ at: now, code: 'keyMissing' });
  if (!globalThis.crypto?.subtle) return setStatus({ at: now, code: 'noCrypto' });
  if (!signature) return setStatus({ at: now, code: 'noSignature' });

  let signatureOk = false;
  try {
    signatureOk = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      await importPublicKey(),
      base64ToBytes(signature),
      bytes,
    );
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) return setStatus({ at: now, code: 'badSignature' });

  // The bundle ends with the SHA-256 of everything before it (its content hash). The server's
  // ETag names the bytes it sent: accept the SHA-256 of the whole file or the content hash.
  if (bytes.length < 32) return setStatus({ at: now, code: 'badHash' });
  const digest = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.subarray(0, bytes.length - 32))));
  const carried = hex(bytes.subarray(bytes.length - 32));
  const etagHash = etag?.replace(/^W\//, '').replace(/"/g, '').toLowerCase() ?? null;
  const fileDigest = etagHash === null ? null : hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
  if (digest !== carried || (etagHash !== null && etagHash !== digest && etagHash !== fileDigest)) {
    return setStatus({ at: now, code: 'badHash' });
  }

  if (digest === current.hash) {
    await storeServerBundle({ bytes: bytes.slice().buffer, version: current.version, hash: digest, etag });
    return setStatus({ at: now, code: 'upToDate', version: current.version });
  }

  const loaded = await load(bytes);
  if (typeof loaded === 'string') return setStatus({ at: now, code: 'invalid', message: loaded });
  if (loaded.info().hash !== digest) {
    loaded.dispose();
    return setStatus({ at: now, code: 'badHash' });
  }
  const version = loaded.info().version;
  if (version < highestSeen) {
    loaded.dispose();
    return setStatus({ at: now, code: 'rollback', version, highest: highestSeen });
  }
  if (version === current.version) {
    loaded.dispose();
    return setStatus({ at: now, code: 'sameVersionDifferent', version });
  }

  await storeServerBundle({ bytes: bytes.slice().buffer, version, hash: digest, etag });
  highestSeen = Math.max(highestSeen, version);
  await kvSet('model.highestSeen', highestSeen);
  if (pending && pending !== loaded) pending.dispose();
  pending = loaded;
  return setStatus({ at: now, code: 'updated', version });
}

export function startPeriodicChecks(): void {
  void checkForUpdate();
  setInterval(() => void checkForUpdate(), CHECK_INTERVAL_MS);
  window.addEventListener('online', () => void checkForUpdate());
}
