// Model manager: which bundle scores exams, and how a new one gets in.
//
// The app ships a default bundle in dist/model/. A newer one comes only from the server, and is
// used only after (1) its ECDSA P-256 / SHA-256 signature verifies against the public key built
// into the app, (2) the SHA-256 of its content matches the hash it carries (and the ETag), and
// (3) the WASM core loads it. Which one, and what stops a rollback:
// - when the server publishes a release manifest (release.ts, docs/rollout.md), the model the
//   accepted manifest assigns to this browser's cohort, fetched by version
//   (GET /api/v1/models/{version}) and taken only if its version and file SHA-256 are the ones
//   the manifest names: anti-rollback is the manifest's sequence, so a halted rollout can send
//   this browser back to the stable version;
// - otherwise the server's GET /api/v1/models/active, taken only if its version is not lower than
//   the highest this browser has ever accepted (persisted), so a compromised or confused server
//   cannot roll clinicians back.
// A verified update waits as "pending" until the exam in progress is finished (switch on the next
// exam).

import type { FetalModel, FetalRuntime, LoadModelResult } from './fetal.js';
import { kvGet, kvSet } from './db.js';
import { noteServer } from './net.js';
import { checkRelease } from './release.js';
import type { ReleaseModel } from './release-manifest.js';
import { hasPublicKey, hex, sha256Hex, verifySignature } from './signing.js';

export { hasPublicKey };

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
    | 'keyMissing'
    // release manifests (release.ts)
    | 'manifestBadSignature'
    | 'manifestInvalid'
    | 'manifestWrongSite'
    | 'manifestReplay'
    | 'manifestConflict'
    | 'manifestExpired'
    | 'notInManifest';
  version?: number;
  sequence?: number;
  highest?: number;
  status?: number;
  message?: string;
}

interface StoredBundle {
  bytes: ArrayBuffer;
  version: number;
  hash: string;
  etag: string | null;
  sha256?: string;     // of the whole file (absent in bundles stored by older apps)
  assigned?: boolean;  // taken because a release manifest names it: used even when older
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
// The SHA-256 of each loaded model's whole bundle file (what release manifests name); the
// built-in one is read when first needed.
const fileSha256 = new WeakMap<FetalModel, string>();
let builtinModel: FetalModel | null = null;

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
function modelOrError(r: LoadModelResult): FetalModel | string {
  return r.ok ? r.model : `${r.error.code}: ${r.error.message}`;
}

async function load(bytes: Uint8Array): Promise<FetalModel | string> {
  return modelOrError(await rt.loadModelAsync(bytes));
}

// The built-in bundle (dist/model/default.fhm) loaded into `runtime`.
export async function loadBuiltin(runtime: FetalRuntime): Promise<LoadModelResult> {
  const response = await fetch('model/default.fhm');
  if (!response.ok) throw new Error(`model/default.fhm: HTTP ${response.status}`);
  return runtime.loadModelAsync(await response.arrayBuffer());
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
// `builtinLoad`: the built-in bundle being loaded (loadBuiltin), started by the caller as early as
// it can.
export async function initModels(runtime: FetalRuntime, builtinLoad: Promise<LoadModelResult>): Promise<void> {
  rt = runtime;
  const state = Promise.all([
    kvGet<number>('model.highestSeen'),
    kvGet<UpdateStatus>('model.lastStatus'),
    kvGet<StoredBundle>('model.server'),
  ]);
  const builtin = modelOrError(await builtinLoad);
  if (typeof builtin === 'string') throw new Error(`model/default.fhm: ${builtin}`);
  active = builtin;
  activeOrigin = 'builtin';
  builtinModel = builtin;

  // The stored bundle, the highest version seen and the last status, once IndexedDB has them.
  // With the hint saying a stored bundle is at least as new as the built-in one, the start waits
  // for it; otherwise it goes on with the built-in model, and a stored bundle found newer all the
  // same (an older app kept no hint) waits as pending, taken at the next exam like an update.
  const apply = async ([seen, status, stored]: [number | undefined, UpdateStatus | undefined, StoredBundle | undefined], starting: boolean) => {
    highestSeen = Math.max(highestSeen, seen ?? 0);
    lastStatus = status ?? lastStatus;
    if (stored) setStoredVersionHint(stored.version);
    if (stored && (stored.version >= builtin.info().version || stored.assigned)) {
      const fromServer = await load(new Uint8Array(stored.bytes));
      if (typeof fromServer !== 'string' && fromServer.info().hash === stored.hash) {
        fileSha256.set(fromServer, stored.sha256 ?? await sha256Hex(new Uint8Array(stored.bytes)));
        if (starting) {
          active = fromServer;
          activeOrigin = 'server';
        } else {
          pending = fromServer;  // announced by the emit() below
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
  const release = await checkRelease(now);
  if (release.kind === 'refused') {
    return setStatus({ at: now, version: (pending ?? active).info().version, ...release.status });
  }
  return release.kind === 'assigned' ? followManifest(now, release.model) : checkActive(now);
}

interface Download {
  bytes: Uint8Array<ArrayBuffer>;
  digest: string;      // the content hash the bundle carries (FetalModel.info().hash)
  fileDigest: string;  // SHA-256 of the whole file
  etag: string | null;
}

// Fetches a bundle and checks its signature and hashes. A status when refused or not modified.
async function download(url: string, init: RequestInit, now: number): Promise<Download | UpdateStatus> {
  const version = (pending ?? active).info().version;
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch {
    noteServer(false);
    return { at: now, code: 'unreachable', version };
  }
  noteServer(response.status !== 404); // a static host without the API answers 404
  if (response.status === 304) return { at: now, code: 'upToDate', version };
  if (!response.ok) {
    // A plain static host has no API: that is "unreachable", not an error worth alarming about.
    const code = response.status === 404 ? 'unreachable' : 'httpError';
    return { at: now, code, status: response.status, version };
  }
  const bytes: Uint8Array<ArrayBuffer> = new Uint8Array(await response.arrayBuffer());
  const etag = response.headers.get('ETag');
  const signature = response.headers.get('X-Model-Signature');

  if (!hasPublicKey()) return { at: now, code: 'keyMissing' };
  if (!globalThis.crypto?.subtle) return { at: now, code: 'noCrypto' };
  if (!signature) return { at: now, code: 'noSignature' };
  if (!(await verifySignature(signature, bytes))) return { at: now, code: 'badSignature' };

  // The bundle ends with the SHA-256 of everything before it (its content hash). The server's
  // ETag names the bytes it sent: accept the SHA-256 of the whole file or the content hash.
  if (bytes.length < 32) return { at: now, code: 'badHash' };
  const digest = await sha256Hex(bytes.slice(0, bytes.length - 32));
  const carried = hex(bytes.subarray(bytes.length - 32));
  const etagHash = etag?.replace(/^W\//, '').replace(/"/g, '').toLowerCase() ?? null;
  const fileDigest = await sha256Hex(bytes);
  if (digest !== carried || (etagHash !== null && etagHash !== digest && etagHash !== fileDigest)) {
    return { at: now, code: 'badHash' };
  }
  return { bytes, digest, fileDigest, etag };
}

// Loads a verified download; a status when the core refuses it or its hash is not the one checked.
async function loadDownload(d: Download, now: number): Promise<FetalModel | UpdateStatus> {
  const loaded = await load(d.bytes);
  if (typeof loaded === 'string') return { at: now, code: 'invalid', message: loaded };
  if (loaded.info().hash !== d.digest) {
    loaded.dispose();
    return { at: now, code: 'badHash' };
  }
  return loaded;
}

// Keeps a verified, loaded model and makes it the one used from the next exam.
async function install(loaded: FetalModel, d: Download, assigned: boolean, now: number): Promise<UpdateStatus> {
  const version = loaded.info().version;
  fileSha256.set(loaded, d.fileDigest);
  await storeServerBundle({ bytes: d.bytes.slice().buffer, version, hash: d.digest, etag: d.etag, sha256: d.fileDigest, assigned });
  highestSeen = Math.max(highestSeen, version);
  await kvSet('model.highestSeen', highestSeen);
  if (pending && pending !== loaded) pending.dispose();
  pending = loaded;
  return setStatus({ at: now, code: 'updated', version });
}

// The SHA-256 of the file `model` was loaded from.
async function fileSha256Of(model: FetalModel): Promise<string | null> {
  const known = fileSha256.get(model);
  if (known !== undefined || model !== builtinModel) return known ?? null;
  try {
    const r = await fetch('model/default.fhm'); // the service worker's copy
    if (!r.ok) return null;
    const sha = await sha256Hex(new Uint8Array(await r.arrayBuffer()));
    fileSha256.set(model, sha);
    return sha;
  } catch {
    return null;
  }
}

// Runs the model the accepted manifest assigns: up to date when it already does, else fetches
// that version and takes it only if its version and file SHA-256 are the ones named.
async function followManifest(now: number, assigned: ReleaseModel): Promise<UpdateStatus> {
  const current = pending ?? active;
  if ((await fileSha256Of(current)) === assigned.sha256) {
    return setStatus({ at: now, code: 'upToDate', version: current.info().version });
  }
  const d = await download(`api/v1/models/${assigned.version}`, {}, now);
  if ('code' in d) return setStatus(d);
  if (d.fileDigest !== assigned.sha256) return setStatus({ at: now, code: 'notInManifest', version: assigned.version });
  const loaded = await loadDownload(d, now);
  if ('code' in loaded) return setStatus(loaded);
  if (loaded.info().version !== assigned.version) {
    loaded.dispose();
    return setStatus({ at: now, code: 'notInManifest', version: assigned.version });
  }
  return install(loaded, d, true, now);
}

// No manifest to follow: the server's active model, under the version rule.
async function checkActive(now: number): Promise<UpdateStatus> {
  const current = (pending ?? active).info();
  const stored = await kvGet<StoredBundle>('model.server');
  const headers: Record<string, string> = {};
  if (stored?.etag && stored.hash === current.hash) headers['If-None-Match'] = stored.etag;
  const d = await download(MODEL_URL, { headers, cache: 'no-store' }, now);
  if ('code' in d) return setStatus(d);

  if (d.digest === current.hash) {
    await storeServerBundle({ bytes: d.bytes.slice().buffer, version: current.version, hash: d.digest, etag: d.etag, sha256: d.fileDigest });
    return setStatus({ at: now, code: 'upToDate', version: current.version });
  }
  const loaded = await loadDownload(d, now);
  if ('code' in loaded) return setStatus(loaded);
  const version = loaded.info().version;
  if (version < highestSeen) {
    loaded.dispose();
    return setStatus({ at: now, code: 'rollback', version, highest: highestSeen });
  }
  if (version === current.version) {
    loaded.dispose();
    return setStatus({ at: now, code: 'sameVersionDifferent', version });
  }
  return install(loaded, d, false, now);
}

export function startPeriodicChecks(): void {
  void checkForUpdate();
  setInterval(() => void checkForUpdate(), CHECK_INTERVAL_MS);
  window.addEventListener('online', () => void checkForUpdate());
}
