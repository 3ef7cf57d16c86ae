// A staged rollout reaching real browsers (docs/rollout.md, "The browser"): the app built for a
// site, a real server with versions 2 (stable) and 3 (candidate), and a release set signed with
// `fetal-model release`. Three Chromium profiles: A and B in different cohorts at the step (the
// salt is chosen so: the cohorts are computed here, as the app computes them), and C, offline
// from before the rollout started until after its halt. A runs the candidate at the step and B
// does not; after the halt A is back on the stable version at its next check; old manifests and
// old bundles replayed by a proxy (Playwright routing) are refused by both; a promotion offered
// after the revert is refused and reported; C catches up straight to the revert when it returns.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  cli, closeBrowser, dataset, defaultModel, launchBrowser, missingPrerequisite, modelBin, openApp, repo, signingKey,
  startServer, tearDown, tempDir,
} from './helpers.mjs';

const SITE = 'e2e-site';
const skip = missingPrerequisite();
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const cohortOf = (salt, deviceId) => createHash('sha256').update(salt + deviceId, 'utf8').digest().readUInt32BE(0) % 100;

describe('staged rollout in two browser profiles', { skip: skip ?? false }, () => {
  let dir, server, a, b, c, clinician, auditor;
  const bundles = {};   // version -> { path, bytes, signature }
  let release;          // { rollout, revert, promote }: each { manifest, signature }
  const requestsOfC = [];

  // Opens the app in a new profile on the model page.
  async function profile(name) {
    const context = await launchBrowser(`rollout-${name}`);
    try {
      const page = await openApp(context, server.base, { hash: '#/model' });
      await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 15_000 });
      // The check the app makes at start has ended.
      await page.waitForFunction(() => document.querySelector('[data-testid="update-status"]')?.dataset.code, null, { timeout: 15_000 });
      return { context, page };
    } catch (e) {
      await closeBrowser(context);
      throw e;
    }
  }

  // "Check for updates now" on the model page; the status code it ends with.
  async function checkNow({ page }) {
    await page.click('#nav-model');
    // The model view renders after the click returns: wait for it before marking its status.
    await page.waitForSelector('[data-testid="update-status"]');
    await page.$eval('[data-testid="update-status"]', (el) => { el.dataset.code = 'checking'; });
    await page.click('#check-update');
    await page.waitForFunction(() => document.querySelector('[data-testid="update-status"]')?.dataset.code !== 'checking');
    return page.$eval('[data-testid="update-status"]', (el) => el.dataset.code);
  }

  // The version the profile classifies with, and the manifest it follows.
  async function state({ page }) {
    await page.click('#nav-model');
    const version = Number(await page.textContent('[data-testid="model-page-version"]'));
    const release = await page.$eval('[data-testid="release"]', (el) => ({ sequence: Number(el.dataset.sequence), candidate: el.dataset.candidate === 'true' }))
      .catch(() => null);
    return { version, ...release };
  }

  // The device id the app keeps in its IndexedDB.
  function deviceId({ page }) {
    return page.evaluate(() => new Promise((resolve, reject) => {
      const req = indexedDB.open('fetal-health');
      req.onsuccess = () => {
        const get = req.result.transaction('kv').objectStore('kv').get('release.deviceId');
        get.onsuccess = () => resolve(get.result);
        get.onerror = () => reject(get.error);
      };
      req.onerror = () => reject(req.error);
    }));
  }

  async function api(path, options) {
    const r = await server.api(path, options);
    assert.ok(r.status < 300, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  // Serves `answer` as GET /releases/current to the profile (a proxy replaying a manifest) while
  // fn runs.
  async function withCurrentRelease({ page }, answer, fn) {
    const pattern = '**/api/v1/releases/current';
    await page.route(pattern, (route) => route.fulfill({ status: answer.status ?? 200, contentType: 'application/json', body: JSON.stringify(answer.body) }));
    try {
      return await fn();
    } finally {
      await page.unroute(pattern);
    }
  }

  before(async () => {
    dir = tempDir('rollout');
    // Two genuinely different models beside the built-in version 1, signed like releases.
    for (const [version, rounds] of [[2, 120], [3, 90]]) {
      const path = join(dir, `v${version}.fhm`);
      await cli(modelBin, ['train', '--data', dataset, '--out', path, '--no-cv', '--model-version', String(version), '--rounds', String(rounds), '--name', 'fetal-health-e2e']);
      await cli(modelBin, ['sign', '--key', signingKey, path]);
      bundles[version] = { path, bytes: readFileSync(path), signature: readFileSync(`${path}.sig`, 'utf8').trim() };
    }
    bundles[1] = { path: defaultModel, bytes: readFileSync(defaultModel), signature: readFileSync(`${defaultModel}.sig`, 'utf8').trim() };
    // The app built for this site (FETAL_SITE), beside the public key.
    const root = join(dir, 'web');
    await promisify(execFile)(process.execPath, [join(repo, 'web/build.mjs')], { env: { ...process.env, FETAL_SITE: SITE, FETAL_WEB_OUT: root } });
    assert.equal(JSON.parse(readFileSync(join(root, 'build-info.json'), 'utf8')).site, SITE);
    server = await startServer('rollout', { root });
    // What browsers do with manifests is checked here; whether a version may be activated or
    // rolled out (the activation gates) is checked against the server in tests/server.
    writeFileSync(join(server.dataDir, 'activation-policy.json'), JSON.stringify({ enforce: false }));
    clinician = await server.createToken('clinician', 'e2e-rollout-ward');
    auditor = await server.createToken('auditor', 'e2e-rollout-audit');

    // C first sees the server with only version 1, then goes offline.
    c = await profile('c');
    c.page.on('request', (r) => requestsOfC.push(new URL(r.url()).pathname));
    assert.equal(await checkNow(c), 'upToDate');
    await c.context.setOffline(true);
    assert.equal(await checkNow(c), 'unreachable');

    for (const version of [2, 3]) {
      await api(`/api/v1/models${version === 2 ? '?activate=true' : ''}`, {
        method: 'POST', body: bundles[version].bytes,
        headers: { 'Content-Type': 'application/octet-stream', 'X-Model-Signature': bundles[version].signature },
      });
    }
    a = await profile('a');
    b = await profile('b');
    await a.page.click('#nav-settings');
    await a.page.fill('#token', clinician);
    await a.page.click('#save-token');
    await a.page.waitForSelector('[data-testid="session"]');
  });

  after(async () => {
    const errors = [];
    for (const p of [b, c]) {
      try {
        await closeBrowser(p?.context);
      } catch (e) {
        errors.push(e);
      }
    }
    try {
      await tearDown(a?.context, server);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    if (errors.length) throw errors[0];
  });

  test('without a published manifest both profiles follow the active model (version 2)', async () => {
    for (const p of [a, b]) {
      assert.equal(await checkNow(p), 'upToDate');
      assert.deepEqual(await state(p), { version: 2 });
    }
  });

  test('a signed release set is started and stepped: only the canary profile runs the candidate', async () => {
    const [idA, idB] = [await deviceId(a), await deviceId(b)];
    assert.match(idA, /^[0-9a-f]{32}$/);
    assert.notEqual(idA, idB);
    // A salt that puts A below B, neither in cohort 0: at the first step (A's cohort) neither is
    // a canary, at the second (B's cohort) A is and B is not.
    let salt, cohortA, cohortB;
    do {
      salt = randomBytes(16).toString('hex');
      [cohortA, cohortB] = [cohortOf(salt, idA), cohortOf(salt, idB)];
    } while (!(cohortA >= 1 && cohortA < cohortB));
    const out = join(dir, 'release');
    mkdirSync(out);
    await cli(modelBin, ['release', '--key', signingKey, '--site', SITE, '--sequence', '1', '--stable', bundles[2].path,
      '--candidate', bundles[3].path, '--steps', `${cohortA},${cohortB},100`, '--salt', salt, '--out-dir', out]);
    const read = (name) => ({ manifest: readFileSync(join(out, name), 'utf8'), signature: readFileSync(join(out, `${name}.sig`), 'utf8').trim() });
    release = { rollout: read('release-1-rollout.json'), revert: read('release-2-revert.json'), promote: read('release-2-promote.json') };
    await api('/api/v1/releases', { method: 'POST', body: readFileSync(join(out, 'release-1.set.json')), headers: { 'Content-Type': 'application/json' } });

    await api('/api/v1/releases/1/start', { method: 'POST' });
    for (const p of [a, b]) {
      assert.equal(await checkNow(p), 'upToDate');
      assert.deepEqual(await state(p), { version: 2, sequence: 1, candidate: false });
    }
    const step = await api('/api/v1/releases/1/step', { method: 'POST' });
    assert.equal(step.candidate_percent, cohortB);

    // A proxy answering A's download of version 3 with version 2 (older, correctly signed) is
    // refused: it is not the bundle the manifest names.
    await a.page.route('**/api/v1/models/3', (route) => route.fulfill({
      status: 200, contentType: 'application/octet-stream', body: bundles[2].bytes, headers: { 'X-Model-Signature': bundles[2].signature },
    }));
    try {
      assert.equal(await checkNow(a), 'notInManifest');
      assert.equal((await state(a)).version, 2);
    } finally {
      await a.page.unroute('**/api/v1/models/3');
    }
    assert.equal(await checkNow(a), 'updated');
    assert.deepEqual(await state(a), { version: 3, sequence: 1, candidate: true });
    assert.equal(await checkNow(b), 'upToDate');
    assert.deepEqual(await state(b), { version: 2, sequence: 1, candidate: false });
    // The cohort the page shows is the one computed here.
    assert.match(await a.page.textContent('[data-testid="release"]'), new RegExp(`cohort ${cohortA} of 100`));
    assert.equal(await a.page.$eval('[data-testid="device-id"]', (el) => el.dataset.deviceId), idA);
  });

  test('after a halt the canary profile is back on the stable version at its next check', async () => {
    await api('/api/v1/releases/1/halt', { method: 'POST' });
    assert.equal(await checkNow(a), 'updated');
    assert.deepEqual(await state(a), { version: 2, sequence: 2, candidate: false });
    assert.equal(await checkNow(b), 'upToDate');
    assert.deepEqual(await state(b), { version: 2, sequence: 2, candidate: false });
    // A reload starts on the stable version too: what was installed is kept.
    await a.page.reload({ waitUntil: 'networkidle' }); // and the check at start has ended
    assert.equal((await state(a)).version, 2);
  });

  test('old manifests and old bundles replayed by a proxy are refused by both profiles', async () => {
    // The rollout manifest (sequence 1) at 100 %: without anti-rollback both would take version 3.
    const oldRollout = { sequence: 1, kind: 'rollout', ...release.rollout, rollout_sequence: 1, rollout_state: 'running', candidate_percent: 100 };
    for (const p of [a, b]) {
      await withCurrentRelease(p, { body: oldRollout }, async () => {
        assert.equal(await checkNow(p), 'manifestReplay');
      });
      assert.deepEqual(await state(p), { version: 2, sequence: 2, candidate: false });
      assert.match(await p.page.textContent('[data-testid="update-status"]'), /Refused release manifest 1: this browser already accepted 2/);
    }
    // A proxy hiding the manifest and serving version 1 as the active model: the version rule.
    for (const p of [a, b]) {
      await p.page.route('**/api/v1/models/active', (route) => route.fulfill({
        status: 200, contentType: 'application/octet-stream', body: bundles[1].bytes, headers: { 'X-Model-Signature': bundles[1].signature },
      }));
      try {
        await withCurrentRelease(p, { status: 404, body: { error: { code: 'not_found', message: 'no release manifest is published' } } }, async () => {
          assert.equal(await checkNow(p), 'rollback');
        });
      } finally {
        await p.page.unroute('**/api/v1/models/active');
      }
      assert.equal((await state(p)).version, 2);
    }
    // A manifest with a changed byte does not verify.
    const tampered = { sequence: 3, kind: 'promote', ...release.promote, rollout_sequence: 1, rollout_state: 'promoted', candidate_percent: 100 };
    tampered.manifest = tampered.manifest.replace('"sequence":2', '"sequence":3').replace('"promotes":1', '"promotes":2');
    await withCurrentRelease(b, { body: tampered }, async () => {
      assert.equal(await checkNow(b), 'manifestBadSignature');
    });
    assert.deepEqual(await state(b), { version: 2, sequence: 2, candidate: false });
  });

  test('the promotion offered after the revert (same sequence, other bytes) is refused and reported', async () => {
    const promotion = { sequence: 2, kind: 'promote', ...release.promote, rollout_sequence: 1, rollout_state: 'promoted', candidate_percent: 100 };
    await withCurrentRelease(a, { body: promotion }, async () => {
      assert.equal(await checkNow(a), 'manifestConflict');
      assert.equal(await checkNow(a), 'manifestConflict'); // offered again: refused, reported once
    });
    assert.deepEqual(await state(a), { version: 2, sequence: 2, candidate: false });
    const audit = await api('/api/v1/audit?limit=1000', { token: auditor });
    const reports = audit.events.filter((e) => e.action === 'release.manifest.conflict');
    assert.equal(reports.length, 1, JSON.stringify(reports));
    assert.equal(reports[0].actor.name, 'e2e-rollout-ward');
    assert.deepEqual(JSON.parse(reports[0].details), {
      site: SITE, sequence: 2, held_sha256: sha256(release.revert.manifest), offered_sha256: sha256(release.promote.manifest),
    });
  });

  test('a profile offline through the rollout and its halt catches up to the revert when it returns', async () => {
    assert.deepEqual(await state(c), { version: 1 });
    requestsOfC.length = 0;
    await c.page.click('#nav-model');
    await c.page.waitForSelector('[data-testid="update-status"]');
    await c.page.$eval('[data-testid="update-status"]', (el) => { el.dataset.code = 'checking'; });
    await c.context.setOffline(false); // the app checks by itself when the network returns
    await c.page.waitForFunction(() => document.querySelector('[data-testid="update-status"]')?.dataset.code === 'updated', null, { timeout: 15_000 });
    assert.deepEqual(await state(c), { version: 2, sequence: 2, candidate: false });
    assert.ok(!requestsOfC.includes('/api/v1/models/3'), requestsOfC.join(' '));
  });
});
