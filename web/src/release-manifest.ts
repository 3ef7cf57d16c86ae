// The browser's rules for release manifests (docs/rollout.md), without storage or network: which
// manifest bytes it accepts after the one it holds, which cohort a device id falls in, and which
// model a manifest assigns to it. The caller verifies the signature first (signing.ts).
// Pure functions; cohortOf needs WebCrypto (browsers, Node 20+).

export interface ReleaseModel {
  version: number;
  sha256: string; // of the whole bundle file
}

export type ReleaseKind = 'rollout' | 'revert' | 'promote';

export interface ReleaseManifest {
  format: 'fetal-release-v1';
  site: string;
  sequence: number;
  kind: ReleaseKind;
  stable: ReleaseModel;
  candidate?: ReleaseModel;     // rollout only
  steps_percent?: number[];     // rollout only
  cohort_salt?: string;         // rollout only
  reverts?: number;             // revert only
  candidate_sha256?: string;    // revert only
  promotes?: number;            // promote only
  issued: string;
  not_after: string;
}

// The manifest this browser accepted last: its exact bytes (what "identical" compares).
export interface HeldManifest {
  sequence: number;
  manifest: string;
  signature: string;
}

export type Refusal =
  | { code: 'manifestInvalid'; message: string }
  | { code: 'manifestWrongSite'; site: string }
  | { code: 'manifestReplay'; sequence: number; highest: number }
  | { code: 'manifestConflict'; sequence: number }
  | { code: 'manifestExpired'; notAfter: string };

const KIND_KEYS: Record<ReleaseKind, string[]> = {
  rollout: ['candidate', 'steps_percent', 'cohort_salt'],
  revert: ['reverts', 'candidate_sha256'],
  promote: ['promotes'],
};
const COMMON_KEYS = ['format', 'site', 'sequence', 'kind', 'stable', 'issued', 'not_after'];
const UTC_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const isHex = (v: unknown, n: number) => typeof v === 'string' && v.length === n && /^[0-9a-f]+$/.test(v);
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
const isModel = (v: unknown) => {
  const m = v as ReleaseModel | null;
  return typeof m === 'object' && m !== null && !Array.isArray(m) && Object.keys(m).length === 2 &&
    isCount(m.version) && isHex(m.sha256, 64);
};

// The printing the signer used: keys in byte order, no white space (docs/rollout.md). Every
// key is ASCII, where UTF-16 order is byte order.
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// Parses manifest bytes (as text) and checks them: canonical form (printing what was parsed
// gives the same text back: no duplicate key, no other spelling of a number), ASCII, and the
// fields of its kind. A string naming the problem when refused.
export function parseManifest(text: string): ReleaseManifest | string {
  if (!/^[\x20-\x7e]*$/.test(text)) return 'the manifest is not printable ASCII';
  let m: ReleaseManifest;
  try {
    m = JSON.parse(text) as ReleaseManifest;
  } catch {
    return 'the manifest is not JSON';
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'the manifest is not a JSON object';
  if (canonical(m) !== text) return 'the manifest is not in canonical form';
  if (m.format !== 'fetal-release-v1') return 'format must be "fetal-release-v1"';
  if (!(m.kind in KIND_KEYS)) return 'kind must be rollout, revert or promote';
  const allowed = new Set([...COMMON_KEYS, ...KIND_KEYS[m.kind]]);
  const keys = Object.keys(m);
  const extra = keys.find((k) => !allowed.has(k));
  if (extra !== undefined) return `a ${m.kind} manifest has no ${extra}`;
  const missing = [...allowed].find((k) => !keys.includes(k));
  if (missing !== undefined) return `${missing} is missing`;
  if (!/^[a-z0-9-]{1,64}$/.test(m.site)) return 'site must be 1 to 64 of a-z 0-9 -';
  if (!isCount(m.sequence)) return 'sequence must be an integer >= 1';
  if (!isModel(m.stable)) return 'stable must be {"sha256": <64 hex>, "version": n}';
  if (!UTC_TIME.test(m.issued) || !UTC_TIME.test(m.not_after) || m.not_after <= m.issued) {
    return 'issued and not_after must be YYYY-MM-DDTHH:MM:SSZ, not_after later';
  }
  if (m.kind === 'rollout') {
    if (!isModel(m.candidate) || m.candidate!.version <= m.stable.version) return 'candidate must be a model above stable';
    const steps = m.steps_percent;
    if (!Array.isArray(steps) || steps.length < 1 || steps.length > 10 || steps[steps.length - 1] !== 100 ||
        steps.some((s, i) => !isCount(s) || s > 100 || (i > 0 && s <= steps[i - 1]))) {
      return 'steps_percent must be 1 to 10 strictly rising percentages ending at 100';
    }
    if (!isHex(m.cohort_salt, 32)) return 'cohort_salt must be 32 lowercase hex characters';
  }
  if (m.kind === 'revert' && (!isCount(m.reverts) || m.reverts! >= m.sequence || !isHex(m.candidate_sha256, 64))) {
    return 'a revert names an earlier sequence and the candidate_sha256 it undoes';
  }
  if (m.kind === 'promote' && (!isCount(m.promotes) || m.promotes! >= m.sequence)) {
    return 'a promotion names an earlier sequence';
  }
  return m;
}

// Whether this browser may accept the offered manifest bytes (their signature already verified)
// after `held`: canonical with its kind's fields, for this app's site, a sequence above the held
// one (or the same bytes again), and `not_after` still ahead of `nowMs`.
export function judgeManifest(
  offered: string, held: HeldManifest | null, site: string, nowMs: number,
): { manifest: ReleaseManifest } | Refusal {
  const m = parseManifest(offered);
  if (typeof m === 'string') return { code: 'manifestInvalid', message: m };
  if (m.site !== site) return { code: 'manifestWrongSite', site: m.site };
  if (held && m.sequence < held.sequence) return { code: 'manifestReplay', sequence: m.sequence, highest: held.sequence };
  if (held && m.sequence === held.sequence && offered !== held.manifest) return { code: 'manifestConflict', sequence: m.sequence };
  if (Date.parse(m.not_after) <= nowMs) return { code: 'manifestExpired', notAfter: m.not_after };
  return { manifest: m };
}

// The cohort of a device for a rollout: SHA-256 of the salt's 32 hex characters followed by the
// device id (UTF-8), its first four bytes big-endian, mod 100. Test vectors in docs/rollout.md.
export async function cohortOf(salt: string, deviceId: string): Promise<number> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(salt + deviceId));
  return new DataView(digest).getUint32(0, false) % 100;
}

// A new device id: 16 random bytes as 32 lowercase hex characters.
export function newDeviceId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The model `m` assigns to a device in `cohort` while the server's step is `candidatePercent`:
// the candidate when the cohort is below it (rollouts only), else the stable version.
export function assignedModel(m: ReleaseManifest, cohort: number | null, candidatePercent: number): {
  model: ReleaseModel; candidate: boolean;
} {
  if (m.kind === 'rollout' && m.candidate && cohort !== null && cohort < candidatePercent) {
    return { model: m.candidate, candidate: true };
  }
  return { model: m.stable, candidate: false };
}
