// Release manifests in the browser (docs/rollout.md): fetches the published manifest, accepts it
// only under the rules of release-manifest.ts with a signature from the built-in key, keeps the
// accepted one (its sequence and exact bytes) and this profile's device id in IndexedDB, and says
// which model this browser must run. A same-sequence manifest with other bytes is refused and
// reported to the server. The model manager (models.ts) fetches and checks that model.
//
// The app's site is built in with the public key (FETAL_SITE, web/build.mjs): a manifest for
// another site is refused. Without a site the app ignores manifests and follows the active model
// with the version rule, as it does with a server that publishes none.

import { kvGet, kvSet } from './db.js';
import type { UpdateStatus } from './models.js';
import { noteServer } from './net.js';
import {
  assignedModel, cohortOf, judgeManifest, newDeviceId, type HeldManifest, type ReleaseKind, type ReleaseModel,
} from './release-manifest.js';
import { hasPublicKey, sha256Hex, verifySignature } from './signing.js';
import { getToken } from './submit.js';

declare const __FETAL_RELEASE_SITE__: string; // '' when the app was built without FETAL_SITE

const CURRENT_URL = 'api/v1/releases/current';
const CONFLICTS_URL = 'api/v1/releases/conflicts';
const HELD_KEY = 'release.held';
const DEVICE_KEY = 'release.deviceId';

// What the model page shows about the manifest this browser follows.
export interface ReleaseView {
  sequence: number;
  kind: ReleaseKind;
  cohort: number | null;  // null outside a rollout (no salt)
  candidatePercent: number;
  candidate: boolean;     // this browser is assigned the candidate
  deviceId: string;
}
let view: ReleaseView | null = null;
export function releaseView(): ReleaseView | null {
  return view;
}

export type ReleaseCheck =
  | { kind: 'none' }                                    // no manifest to follow: the version rule applies
  | { kind: 'refused'; status: Omit<UpdateStatus, 'at'> } // keep the model this browser runs
  | { kind: 'assigned'; model: ReleaseModel };

// This profile's device id, made once and kept beside the model.
async function deviceId(): Promise<string> {
  let id = await kvGet<string>(DEVICE_KEY);
  if (!id) {
    id = newDeviceId();
    await kvSet(DEVICE_KEY, id);
  }
  return id;
}

interface CurrentAnswer {
  manifest: string;
  signature: string;
  candidate_percent: number;
}

function isCurrentAnswer(v: unknown): v is CurrentAnswer {
  const a = v as CurrentAnswer | null;
  return typeof a === 'object' && a !== null && typeof a.manifest === 'string' && typeof a.signature === 'string' &&
    Number.isInteger(a.candidate_percent) && a.candidate_percent >= 0 && a.candidate_percent <= 100;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

// The last conflict the server recorded, so that a proxy offering the same bytes at every check
// fills the audit chain with one event per page, not one per check.
let reported = '';

// Best effort: the refusal stands whether or not the server records it (it needs a token).
async function reportConflict(site: string, held: HeldManifest, offered: string): Promise<void> {
  const token = await getToken();
  if (!token) return;
  const body = JSON.stringify({
    site,
    sequence: held.sequence,
    held_sha256: await sha256Hex(utf8(held.manifest)),
    offered_sha256: await sha256Hex(utf8(offered)),
  });
  if (body === reported) return;
  try {
    const r = await fetch(CONFLICTS_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body,
      cache: 'no-store',
    });
    if (r.ok) reported = body;
  } catch {
    // unreachable: the next offer of the same bytes is reported again
  }
}

// One look at the published manifest. `now`: ms since the epoch (not_after is compared with it).
export async function checkRelease(now: number): Promise<ReleaseCheck> {
  const site = __FETAL_RELEASE_SITE__;
  if (!site) return { kind: 'none' };
  const id = await deviceId(); // made at the first check, so that it exists before any rollout
  let response: Response;
  try {
    response = await fetch(CURRENT_URL, { cache: 'no-store' });
  } catch {
    noteServer(false);
    return { kind: 'refused', status: { code: 'unreachable' } };
  }
  // Nothing published, or a static host without the API: the check of the active model says
  // whether the server answered.
  if (response.status === 404) return { kind: 'none' };
  noteServer(true);
  if (!response.ok) return { kind: 'refused', status: { code: 'httpError', status: response.status } };
  let answer: unknown;
  try {
    answer = await response.json();
  } catch {
    answer = null;
  }
  if (!isCurrentAnswer(answer)) {
    return { kind: 'refused', status: { code: 'manifestInvalid', message: 'the answer is not a published manifest' } };
  }
  if (!hasPublicKey()) return { kind: 'refused', status: { code: 'keyMissing' } };
  if (!globalThis.crypto?.subtle) return { kind: 'refused', status: { code: 'noCrypto' } };
  if (!(await verifySignature(answer.signature, utf8(answer.manifest)))) {
    return { kind: 'refused', status: { code: 'manifestBadSignature' } };
  }

  const held = (await kvGet<HeldManifest>(HELD_KEY)) ?? null;
  const judged = judgeManifest(answer.manifest, held, site, now);
  if (!('manifest' in judged)) {
    if (judged.code === 'manifestConflict' && held) await reportConflict(site, held, answer.manifest);
    const status: Omit<UpdateStatus, 'at'> =
      judged.code === 'manifestReplay' ? { code: judged.code, sequence: judged.sequence, highest: judged.highest }
      : judged.code === 'manifestConflict' ? { code: judged.code, sequence: judged.sequence }
      : judged.code === 'manifestWrongSite' ? { code: judged.code, message: judged.site }
      : judged.code === 'manifestExpired' ? { code: judged.code, message: judged.notAfter }
      : { code: judged.code, message: judged.message };
    return { kind: 'refused', status };
  }
  const m = judged.manifest;
  if (!held || held.manifest !== answer.manifest) {
    await kvSet(HELD_KEY, { sequence: m.sequence, manifest: answer.manifest, signature: answer.signature } satisfies HeldManifest);
  }
  const cohort = m.cohort_salt ? await cohortOf(m.cohort_salt, id) : null;
  const { model, candidate } = assignedModel(m, cohort, answer.candidate_percent);
  view = { sequence: m.sequence, kind: m.kind, cohort, candidatePercent: answer.candidate_percent, candidate, deviceId: id };
  return { kind: 'assigned', model };
}
