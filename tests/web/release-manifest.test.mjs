// The browser's release-manifest rules (web/src/release-manifest.ts, docs/rollout.md): the cohort
// of a device id against the fixed test vectors of docs/rollout.md and against Node's own SHA-256;
// which manifest bytes are accepted after the held one (canonical form, site, sequence, identical
// bytes at an equal sequence, not_after); and which model a manifest assigns to a cohort.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { loadWebModule } from './load.mjs';

let rules;
before(async () => {
  rules = await loadWebModule('release-manifest.ts');
});

const SALT = '00112233445566778899aabbccddeeff';
const SALT2 = '5f0c1e7a9b3d42c8a6e1f0d2b4c6e8fa';
// [salt, device id, first four bytes of the SHA-256, cohort]: the table in docs/rollout.md.
const VECTORS = [
  [SALT, '0123456789abcdef0123456789abcdef', '1bfdb435', 73],
  [SALT, 'ffffffffffffffffffffffffffffffff', '10ef6657', 59],
  [SALT, '3b1d5c77e0a94f26b8c2d4e6f8a0b2c4', '98bfb1ac', 92],
  [SALT, 'café', '4a43e785', 65],
  [SALT2, '0123456789abcdef0123456789abcdef', '8dbea159', 1],
  [SALT2, 'device-a', 'c80d68d0', 0],
  [SALT2, '3b1d5c77e0a94f26b8c2d4e6f8a0b2c4', '25809cbb', 23],
];

// A manifest's canonical bytes, printed as the signer prints them: keys in byte order.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
const sha = (c) => c.repeat(64);
const base = { format: 'fetal-release-v1', site: 'hospital-a', issued: '2026-12-01T09:00:00Z', not_after: '2099-01-01T00:00:00Z' };
const rollout = (sequence, extra = {}) => canonical({
  ...base, sequence, kind: 'rollout', stable: { version: 2, sha256: sha('a') }, candidate: { version: 3, sha256: sha('b') },
  steps_percent: [5, 25, 100], cohort_salt: SALT, ...extra,
});
const revert = (sequence) => canonical({ ...base, sequence, kind: 'revert', stable: { version: 2, sha256: sha('a') }, reverts: sequence - 1, candidate_sha256: sha('b') });
const promote = (sequence) => canonical({ ...base, sequence, kind: 'promote', stable: { version: 3, sha256: sha('b') }, promotes: sequence - 1 });
const held = (bytes) => ({ sequence: JSON.parse(bytes).sequence, manifest: bytes, signature: 'sig' });
const NOW = Date.parse('2027-01-01T00:00:00Z');
const judge = (bytes, h = null, site = 'hospital-a', now = NOW) => {
  const r = rules.judgeManifest(bytes, h, site, now);
  return r.manifest ? 'accepted' : r.code;
};

describe('cohort of a device id', () => {
  test('the test vectors of docs/rollout.md, and Node computes the same', async () => {
    for (const [salt, id, prefix, cohort] of VECTORS) {
      const digest = createHash('sha256').update(salt + id, 'utf8').digest();
      assert.equal(digest.subarray(0, 4).toString('hex'), prefix, id);
      assert.equal(digest.readUInt32BE(0) % 100, cohort, id);
      assert.equal(await rules.cohortOf(salt, id), cohort, `${salt} ${id}`);
    }
  });

  test('docs/rollout.md lists exactly these vectors', () => {
    const doc = readFileSync(new URL('../../docs/rollout.md', import.meta.url), 'utf8');
    for (const [salt, id, prefix, cohort] of VECTORS) {
      assert.ok(doc.includes(`| \`${salt}\` | \`${id}\` | \`${prefix}\` | ${cohort} |`), `${salt} ${id} missing from docs/rollout.md`);
    }
  });

  test('device ids are 32 random hex characters, spread over the cohorts', async () => {
    const ids = Array.from({ length: 2000 }, () => rules.newDeviceId());
    assert.ok(ids.every((id) => /^[0-9a-f]{32}$/.test(id)));
    assert.equal(new Set(ids).size, ids.length);
    const below10 = (await Promise.all(ids.map((id) => rules.cohortOf(SALT, id)))).filter((c) => c < 10).length;
    assert.ok(below10 > 120 && below10 < 290, `${below10} of 2000 in cohorts 0-9`); // ~200, 6 sd either side
  });
});

describe('accepting a manifest', () => {
  test('each kind in canonical form is accepted with nothing held', () => {
    for (const m of [rollout(41), revert(42), promote(42)]) assert.equal(judge(m), 'accepted', m);
  });

  test('bytes not in canonical form, or with fields their kind lacks or forbids, are refused', () => {
    const spaced = rollout(41).replace(',"kind"', ', "kind"');
    const reordered = rollout(41).replace(/^\{("candidate":\{[^}]*\}),(.*)\}$/, '{$2,$1}');
    assert.notEqual(reordered, rollout(41));
    const bad = [
      spaced, reordered, rollout(41).replace('"sequence":41', '"sequence":41.0'),
      rollout(41).replace('{', '{"sequence":40,'), // a duplicate key: the reader would see one meaning
      rollout(41, { site: 'hospitál' }), rollout(41, { extra: 1 }), rollout(41, { steps_percent: [5, 25] }),
      rollout(41, { steps_percent: [25, 5, 100] }), rollout(41, { cohort_salt: 'ABC' }),
      rollout(41, { candidate: { version: 2, sha256: sha('b') } }), rollout(41, { format: 'fetal-release-v2' }),
      rollout(41, { not_after: '2026-11-01T00:00:00Z' }), canonical({ ...JSON.parse(revert(42)), cohort_salt: SALT }),
      '[1]', 'not json',
    ];
    for (const m of bad) assert.equal(judge(m), 'manifestInvalid', m);
  });

  test('a manifest for another site is refused', () => {
    assert.equal(judge(rollout(41), null, 'hospital-b'), 'manifestWrongSite');
  });

  test('the sequence only grows: lower refused, equal only with identical bytes', () => {
    assert.equal(judge(revert(42), held(rollout(41))), 'accepted');
    assert.equal(judge(rollout(41), held(revert(42))), 'manifestReplay');
    assert.equal(judge(revert(42), held(revert(42))), 'accepted');
    assert.equal(judge(promote(42), held(revert(42))), 'manifestConflict');
    assert.equal(judge(revert(42), held(promote(42))), 'manifestConflict');
    assert.equal(judge(rollout(45), held(revert(42))), 'accepted'); // an offline browser catching up
  });

  test('a manifest past its not_after is refused, even the one held', () => {
    const late = Date.parse('2099-01-01T00:00:00Z');
    assert.equal(judge(rollout(41), held(rollout(41)), 'hospital-a', late), 'manifestExpired');
    assert.equal(judge(rollout(41), null, 'hospital-a', late - 1000), 'accepted');
  });
});

describe('the model a manifest assigns', () => {
  test('the candidate below the step, the stable version at and above it', () => {
    const m = JSON.parse(rollout(41));
    assert.deepEqual(rules.assignedModel(m, 4, 5), { model: m.candidate, candidate: true });
    assert.deepEqual(rules.assignedModel(m, 5, 5), { model: m.stable, candidate: false });
    assert.deepEqual(rules.assignedModel(m, 99, 100).candidate, true);
    assert.deepEqual(rules.assignedModel(m, 0, 0).candidate, false); // halted: candidate_percent 0
  });

  test('a revert or a promotion assigns its stable version to everyone', () => {
    for (const m of [JSON.parse(revert(42)), JSON.parse(promote(42))]) {
      assert.deepEqual(rules.assignedModel(m, null, 100), { model: m.stable, candidate: false });
    }
  });
});
