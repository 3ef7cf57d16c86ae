// The operations pages in Chromium against the real fetal-server: the model registry (cards side
// by side, shadow, the shadow report, activation gates and their override) and the releases
// (upload of a set `fetal-model release` signed, start, step, halt, promote), as an admin, in English and
// Brazilian Portuguese; an auditor sees the same pages without any action. What the pages show is
// checked against independent oracles: the classes `fetal-model predict` gives each submitted
// exam with each model (agreement, class mix, disagreement table, the gates' measured values),
// and the server's own state (GET /releases/current, the audit chain).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cli, cspViolations, dataset, datasetRows, defaultModel, englishOnPage, launchBrowser, missingPrerequisite, modelBin,
  nativePredict, openApp, shot, signingKey, startServer, tearDown, tempDir, useToken as enterToken,
} from './helpers.mjs';
import { appSchema, languageFiles } from './strings.mjs';

const skip = missingPrerequisite();
const CLASSES = ['Normal', 'Suspect', 'Pathological'];
const EXAMS = 40;          // agreement k/40 has one decimal: the page's percentage is exact
const WITH_OUTCOME = 15;
const REASON = 'Shadowed on the ward for a week; the clinical lead reviewed every disagreement.';

describe('operations pages', { skip: skip ?? false }, () => {
  let server, context, page, dir, v2, texts, auditor, clinician;
  const oracle = { agree: 0, mix: [[0, 0, 0], [0, 0, 0]], table: CLASSES.map(() => [0, 0, 0]) };

  before(async () => {
    texts = await languageFiles();
    dir = tempDir('ops');
    v2 = join(dir, 'v2.fhm');
    // A genuinely different second version (a few shallow trees: it disagrees with the default
    // model on some exams), signed like a release.
    await cli(modelBin, ['train', '--data', dataset, '--out', v2, '--no-cv', '--model-version', '2', '--search', 'fixed',
      '--rounds', '3', '--max-depth', '2', '--name', 'fetal-health-e2e']);
    await cli(modelBin, ['sign', '--key', signingKey, v2]);
    server = await startServer('ops');
    auditor = await server.createToken('auditor', 'e2e-ops-audit');
    clinician = await server.createToken('clinician', 'e2e-ops-ward');
    context = await launchBrowser('ops');
    page = await openApp(context, server.base);
  });

  after(async () => {
    try {
      await tearDown(context, server);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  const say = (lang, key, params = {}) => texts[lang].strings[key].replace(/\{(\w+)\}/g, (_, k) => String(params[k]));
  const cells = (testid) => page.$$eval(`[data-testid="${testid}"] tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  const idle = (view) => page.waitForSelector(`#view-${view}[data-busy="false"]`);
  // The answer to the action just clicked: a click marks the view busy at once, so waiting for
  // it to be idle again never reads the answer to the action before.
  const answer = async (status) => {
    const banner = `.view:not([hidden])[data-busy="false"] [data-testid="ops-answer"][data-status="${status}"]`;
    await page.waitForSelector(banner);
    return page.textContent(banner);
  };

  const useToken = (token) => enterToken(page, token, say('en', 'settings.tokenNone'));

  // Starts the rollout of `row`. A server that gates the start as activation does answers with
  // the same 409 body: the page shows the same table and takes the same override.
  async function start(row, sequence, percent) {
    await page.click(`${row} button[data-action="start"]`);
    await idle('releases');
    if (await page.locator('[data-testid="rollout-gates"]').count()) {
      assert.equal(await page.getAttribute('[data-testid="rollout-gates-table"] tr[data-gate="min_shadow_exams"]', 'data-passed'), 'false');
      await page.fill('#start-override-reason', REASON);
      await page.click('#start-override-submit');
    }
    assert.equal(await answer(200), say('en', 'rel.done.start', { sequence, percent }));
  }

  async function openView(view) {
    await page.click(`#nav-${view}`);
    await page.waitForSelector(`#view-${view} h1`);
    await idle(view);
  }

  // `fetal-model predict` with `model` over `rows` (dataset lines split), indexed by row: a row
  // its validator refuses is left out (undefined).
  async function predict(rows, model) {
    const out = [];
    for (const r of await nativePredict(`${datasetRows().header}\n${rows.map((r) => r.join(',')).join('\n')}\n`, model)) out[Number(r.row)] = r;
    return out;
  }

  // Submits one dataset row as a clinician's exam, with `result` (a `fetal-model predict` row) as
  // what the browser showed with model `version`; returns the stored exam.
  async function submitExam(id, keys, row, result, version) {
    const r = await server.api('/api/v1/exams', {
      method: 'POST', token: clinician, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_exam_id: id, client_time: new Date().toISOString(),
        features: Object.fromEntries(keys.map((k, j) => [k, Number(row[j])])),
        client_result: { class: result.class, probabilities: [result.p_normal, result.p_suspect, result.p_pathological].map(Number), model_version: version },
      }),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }

  // Every 50th row of the dataset (a mix of the three classes) as a clinician's exams; the
  // first WITH_OUTCOME get the dataset's class as their outcome. The oracle: each model's class
  // for each exam from `fetal-model predict`.
  async function submitExams() {
    const keys = (await appSchema()).map((f) => f.key);
    const { lines } = datasetRows();
    const rows = Array.from({ length: EXAMS }, (_, i) => lines[i * 50].split(','));
    const [active, shadow] = [await predict(rows), await predict(rows, v2)];
    for (let i = 0; i < EXAMS; i++) {
      const a = CLASSES.indexOf(active[i].class), s = CLASSES.indexOf(shadow[i].class);
      oracle.agree += a === s;
      oracle.mix[0][a]++;
      oracle.mix[1][s]++;
      oracle.table[a][s]++;
      const exam = await submitExam(`e2e-ops-${i}`, keys, rows[i], active[i], 1);
      if (i < WITH_OUTCOME) {
        const o = await server.api(`/api/v1/exams/${exam.id}/outcome`, {
          method: 'POST', token: clinician, headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ final_reading: CLASSES[Number(rows[i][keys.length]) - 1] }),
        });
        assert.equal(o.status, 201, JSON.stringify(o.body));
      }
    }
    // The shadow evaluation runs off the request path: wait (bounded) until it has every exam.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const report = await server.api('/api/v1/models/2/shadow/report');
      if (report.status === 200 && report.body.exams === EXAMS) return;
      assert.ok(Date.now() < deadline, `shadow evaluation did not reach ${EXAMS} exams: ${JSON.stringify(report.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  test('an admin registers a second version, shadows it and reads its shadow report', async () => {
    await useToken(server.adminToken);
    await openView('registry');
    await page.setInputFiles('#register-bundle', v2);
    await page.setInputFiles('#register-signature', `${v2}.sig`);
    await page.click('#register-run');
    assert.equal(await answer(201), say('en', 'reg.registered', { version: 2 }));
    await idle('registry');

    // The cards side by side: one column per version, the figures the registry holds.
    const models = (await server.api('/api/v1/models')).body.models;
    assert.deepEqual(await page.$$eval('[data-testid="registry-cards"] thead th[data-version]', (ths) => ths.map((th) => th.dataset.version)), ['1', '2']);
    const rows = await cells('registry-cards');
    const row = (key) => rows.find((r) => r[0] === say('en', key)).slice(1);
    // Version 2 was trained without cross-validation: it has no figures to show, not zeros.
    assert.deepEqual(row('reg.row.macroF1'), [String(Number(models[0].metrics.macro_f1.toFixed(4))), '—']);
    assert.deepEqual(row('reg.row.splits'), [say('en', 'reg.splits', { n: models[0].metrics.splits }), say('en', 'reg.noCv')]);
    assert.deepEqual(row('reg.row.state'), [say('en', 'reg.state.active'), say('en', 'reg.state.registered')]);

    await page.click('button[data-action="shadow"][data-version="2"]');
    assert.equal(await answer(200), say('en', 'reg.shadowStarted', { version: 2 }));
    await idle('registry');
    assert.equal(await page.textContent('[data-testid="state-2"]'), say('en', 'reg.state.shadow'));
    assert.equal(await page.locator('button[data-version="1"][data-action]').count(), 0, 'the active version has no actions');

    await submitExams();
    await page.click('button[data-action="report"][data-version="2"]');
    await page.waitForSelector('[data-testid="report-disagreement"]');
    assert.equal(await page.textContent('[data-testid="report-agreement"] .tile-value'), `${(100 * oracle.agree / EXAMS).toFixed(1)}%`);
    assert.deepEqual((await cells('report-disagreement')).map((r) => r.slice(1).map(Number)), oracle.table);
    assert.ok(oracle.agree < EXAMS, 'the two versions disagree on some exams');
    assert.deepEqual((await cells('report-mix')).map((r) => r.slice(1).map((c) => Number(c.split(' ')[0]))),
      [0, 1, 2].map((k) => [oracle.mix[0][k], oracle.mix[1][k]]));
    assert.equal(await page.textContent('[data-testid="report-labelled"] .tile-value'), String(WITH_OUTCOME));
    assert.equal(await page.locator('[data-testid="report-performance"] tbody tr').count(), 5);  // accuracy, macro-F1, 3 recalls
    assert.match(await page.textContent('[data-testid="report-mcnemar"]'), /^McNemar: only the active model right on \d+ exams/);
    await shot(page, 'registry-report-en');

    // Replaying the whole window finds every exam evaluated already (the shadow did it).
    await page.selectOption('#replay-version', '2');
    await page.click('#replay-run');
    await idle('registry');
    assert.equal(await page.textContent('[data-testid="replay-result"]'),
      say('en', 'reg.replay.result', { version: 2, exams: EXAMS, stored: 0, already: EXAMS, refused: 0 }));
  });

  test('activation refused by a gate shows every gate with its value; override needs a written reason', async () => {
    // An enforced policy the shadow record cannot meet: 200 shadow exams.
    writeFileSync(join(server.dataDir, 'activation-policy.json'), JSON.stringify({ enforce: true, min_shadow_exams: 200, min_labelled_exams: 10 }));
    await page.click('button[data-action="activate"][data-version="2"]');
    assert.match(await answer(409), /^Version 2 was not activated: Exams evaluated in shadow measured 40 \(threshold 200\)/);
    await page.waitForSelector('[data-testid="activation-gates"][data-refused="true"]');
    const gate = async (name) => page.$eval(`[data-testid="gates-table"] tr[data-gate="${name}"]`, (tr) => ({
      passed: tr.dataset.passed, measured: tr.querySelector('[data-testid="gate-measured"]').textContent,
    }));
    assert.deepEqual(await gate('min_shadow_exams'), { passed: 'false', measured: String(EXAMS) });
    assert.deepEqual(await gate('signature_and_self_test'), { passed: 'true', measured: 'yes' });
    assert.deepEqual(await gate('min_labelled_exams'), { passed: 'true', measured: String(WITH_OUTCOME) });
    assert.equal((await gate('min_agreement')).measured, String(Number((oracle.agree / EXAMS).toFixed(4))));
    assert.equal(await page.textContent('[data-testid="state-2"]'), say('en', 'reg.state.shadow'));

    // No reason: the page refuses to send; a reason the server finds too short: its answer, by field.
    await page.click('#activate-override-submit');
    assert.equal(await page.textContent('#activate-override-error'), say('en', 'gates.reason.required'));
    await page.fill('#activate-override-reason', 'because');
    await page.click('#activate-override-submit');
    assert.match(await answer(422), /422 validation_failed: .*\(field: override_reason\)$/);
    await page.waitForSelector('#activate-override-reason');
    await page.fill('#activate-override-reason', REASON);
    await page.click('#activate-override-submit');
    assert.equal(await answer(200), say('en', 'reg.overridden', { version: 2 }));
    await idle('registry');
    assert.equal(await page.textContent('[data-testid="state-2"]'), say('en', 'reg.state.active'));
    // The activation's gates as the server evaluated them, still showing the one overridden.
    assert.equal((await gate('min_shadow_exams')).passed, 'false');
    await page.waitForSelector('[data-testid="activation-gates"][data-refused="false"]');

    const events = (await server.api('/api/v1/audit?after=0&limit=1000', { token: auditor })).body.events
      .filter((e) => e.action === 'model.activate' && e.object === 'model/2');
    assert.deepEqual(events.map((e) => e.outcome), ['refused', 'override']);
    assert.ok(events[1].details.includes(REASON), events[1].details);
  });

  test('an admin uploads a release set, starts, steps and halts its rollout from the page', async () => {
    await cli(modelBin, ['release', '--key', signingKey, '--site', 'e2e-ward', '--sequence', '1', '--stable', defaultModel,
      '--candidate', v2, '--steps', '5,25,100', '--out-dir', dir]);
    const setFile = join(dir, 'release-1.set.json');
    await openView('releases');
    assert.equal(await page.textContent('[data-testid="rollback-help"]'), say('en', 'rel.rollback.help'));
    await page.setInputFiles('#release-file', setFile);
    await page.click('#release-upload-run');
    assert.equal(await answer(201), say('en', 'rel.uploaded', { sequence: 1, candidate: 2 }));
    await idle('releases');
    const row = '[data-testid="release-sets"] tr[data-sequence="1"]';
    const state = async () => [await page.getAttribute(row, 'data-state'), await page.textContent(`${row} [data-testid="release-percent"]`)];
    assert.deepEqual(await state(), ['uploaded', '—']);

    // The same set again: a replay, refused by the server with the field named.
    await page.setInputFiles('#release-file', setFile);
    await page.click('#release-upload-run');
    assert.match(await answer(409), /409 sequence_not_newer: .*\(field: manifests\[0\]\.sequence\)$/);
    await idle('releases');

    await start(row, 1, 5);
    await idle('releases');
    assert.deepEqual(await state(), ['running', '5 %']);
    assert.equal(await page.isDisabled(`${row} button[data-action="promote"]`), true, 'promotion only from the last step');

    await page.click(`${row} button[data-action="step"]`);
    assert.equal(await answer(200), say('en', 'rel.done.step', { sequence: 1, percent: 25 }));
    await idle('releases');
    assert.deepEqual(await state(), ['running', '25 %']);

    await page.click(`${row} button[data-action="halt"]`);
    assert.equal(await answer(200), say('en', 'rel.done.halt', { sequence: 1 }));
    await idle('releases');
    assert.deepEqual(await state(), ['halted', '0 %']);
    assert.equal(await page.locator(`${row} button[data-action]`).count(), 0, 'a halted rollout takes no further decision');
    assert.deepEqual(await page.$$eval(`${row} [data-testid="release-decisions"] li`, (lis) => lis.map((li) => li.dataset.action)), ['start', 'step', 'halt']);
    assert.match(await page.textContent(`${row} [data-testid="release-decisions"] li[data-action="halt"]`), /25 % → 0 % · admin \(admin\) · by hand$/);

    // What browsers are served now: the pre-signed revert.
    const current = (await server.api('/api/v1/releases/current')).body;
    assert.deepEqual([current.kind, current.sequence, current.candidate_percent], ['revert', 2, 0]);
    await shot(page, 'releases-en');
  });

  test('a second set is stepped to its last step and promoted from the page', async () => {
    await cli(modelBin, ['release', '--key', signingKey, '--site', 'e2e-ward', '--sequence', '3', '--stable', defaultModel,
      '--candidate', v2, '--steps', '50,100', '--out-dir', dir]);
    await page.setInputFiles('#release-file', join(dir, 'release-3.set.json'));
    await page.click('#release-upload-run');
    assert.equal(await answer(201), say('en', 'rel.uploaded', { sequence: 3, candidate: 2 }));
    const row = '[data-testid="release-sets"] tr[data-sequence="3"]';
    await start(row, 3, 50);
    await page.click(`${row} button[data-action="step"]`);
    assert.equal(await answer(200), say('en', 'rel.done.step', { sequence: 3, percent: 100 }));
    assert.equal(await page.isDisabled(`${row} button[data-action="step"]`), true, 'no step after the last');
    await page.click(`${row} button[data-action="promote"]`);
    assert.equal(await answer(200), say('en', 'rel.done.promote', { sequence: 3 }));
    assert.equal(await page.getAttribute(row, 'data-state'), 'promoted');
    assert.equal(await page.textContent(`${row} [data-testid="release-percent"]`), '100 %');
    const current = (await server.api('/api/v1/releases/current')).body;
    assert.deepEqual([current.kind, current.sequence, current.candidate_percent], ['promote', 4, 100]);
  });

  test('a rollout the server halts by itself shows the decision and the signal that tripped', async () => {
    // One-second windows and five exams per cohort: the rollout monitor decides at once.
    const policyFile = join(server.dataDir, 'activation-policy.json');
    const policy = JSON.parse(readFileSync(policyFile, 'utf8'));
    writeFileSync(policyFile, JSON.stringify({ ...policy, rollout: { window_seconds: 1, min_exams_per_cohort: 5 } }));
    await cli(modelBin, ['release', '--key', signingKey, '--site', 'e2e-ward', '--sequence', '5', '--stable', defaultModel,
      '--candidate', v2, '--steps', '5,25,100', '--out-dir', dir]);
    await page.setInputFiles('#release-file', join(dir, 'release-5.set.json'));
    await page.click('#release-upload-run');
    await answer(201);
    const row = '[data-testid="release-sets"] tr[data-sequence="5"]';
    await start(row, 5, 5);

    // The stable cohort classifies Normal exams; the canary cohort (version 2) only Pathological
    // ones: a class mix the chi-square test cannot take for the stable one's.
    const keys = (await appSchema()).map((f) => f.key);
    const rows = datasetRows().lines.map((l) => l.split(','));
    const [byV1, byV2] = [await predict(rows), await predict(rows, v2)];
    const pick = (predicted, cls) => rows.map((_, i) => i).filter((i) => predicted[i]?.class === cls).slice(0, 5);
    for (const i of pick(byV1, 'Normal')) await submitExam(`e2e-ops-stable-${i}`, keys, rows[i], byV1[i], 1);
    for (const i of pick(byV2, 'Pathological')) await submitExam(`e2e-ops-canary-${i}`, keys, rows[i], byV2[i], 2);

    const deadline = Date.now() + 30_000;
    while ((await server.api('/api/v1/releases/current')).body.kind !== 'revert') {
      assert.ok(Date.now() < deadline, 'the rollout monitor did not halt the rollout');
      await new Promise((r) => setTimeout(r, 250));
    }
    await page.click('#view-releases [data-testid="ops-refresh"]');
    await idle('releases');
    assert.equal(await page.getAttribute(row, 'data-state'), 'halted');
    const halt = await page.textContent(`${row} [data-testid="release-decisions"] li[data-action="halt"]`);
    assert.match(halt, / · rollout-monitor \(system\) · automatic · tripped: .*class-mix shift \(p-value\) (< 0\.0001|0\.000\d) \(threshold 0\.001\)/);
  });

  test('the pages render in Brazilian Portuguese with no English text left', async () => {
    await page.selectOption('#lang', 'pt-BR');
    await page.waitForSelector(`#view-releases h1:has-text("${say('pt-BR', 'rel.title')}")`);
    await idle('releases');
    assert.equal(await page.textContent('#view-releases h1'), say('pt-BR', 'rel.title'));
    assert.equal(await page.textContent('[data-testid="release-sets"] tr[data-sequence="1"] [data-testid="release-state"]'), say('pt-BR', 'rel.state.halted'));
    assert.equal(await page.textContent('[data-testid="ops-answer"]'), say('pt-BR', 'rel.done.start', { sequence: 5, percent: 5 }));
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'releases-pt-BR');
    await openView('registry');
    assert.equal(await page.textContent('#view-registry h1'), say('pt-BR', 'reg.title'));
    assert.equal(await page.textContent('[data-testid="state-2"]'), say('pt-BR', 'reg.state.active'));
    assert.equal(await page.textContent('[data-testid="gates-table"] tr[data-gate="min_shadow_exams"] [data-testid="gate-verdict"]'), `✗ ${say('pt-BR', 'gates.failed')}`);
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'registry-pt-BR');
    await page.selectOption('#lang', 'en');
  });

  test('an auditor sees the registry and the releases without any action', async () => {
    await useToken(auditor);
    await openView('registry');
    await page.waitForSelector('[data-testid="registry-cards"]');
    assert.equal(await page.textContent('[data-testid="ops-readonly"]'), say('en', 'ops.readOnly'));
    assert.equal(await page.locator('#view-registry [data-action]:not([data-action="report"])').count(), 0);
    assert.equal(await page.locator('#view-registry form').count(), 0);
    await page.click('button[data-action="report"][data-version="1"]');  // reading is allowed
    await page.waitForSelector('[data-testid="shadow-report"]');

    await openView('releases');
    await page.waitForSelector('[data-testid="release-sets"] tr[data-sequence="1"][data-state="halted"]');
    assert.equal(await page.locator('#view-releases button:not([data-testid="ops-refresh"]), #view-releases form, #view-releases input').count(), 0);
    assert.deepEqual(await cspViolations(page), []);
  });

  test('a clinician token is not offered the pages, and they say which token they need', async () => {
    await useToken(clinician);
    const ids = await page.$$eval('nav a', (as) => as.map((a) => a.id));
    assert.ok(!ids.includes('nav-registry') && !ids.includes('nav-releases'), ids.join());
    for (const view of ['registry', 'releases']) {
      await page.goto(`${server.base}/#/${view}`);
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.textContent(`#view-${view} [data-testid="ops-forbidden"]`), say('en', 'ops.forbidden'));
    }
  });
});
