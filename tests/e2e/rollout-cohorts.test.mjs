// The staged rollout on the operations dashboard, in Chromium against the real fetal-server: a
// release set signed by the real `fetal-model release` (the default model stable, a second
// trained version the candidate) is started; browsers of each cohort submit exams classified by
// the version they run (`fetal-model predict` on each bundle), a few canary ones with a result
// the server does not confirm. The dashboard must show the rollout's sequence, state and
// percentage, both cohorts side by side with the figures sent, and each signal with the value,
// threshold and verdict the server computed; in Portuguese too, and again once halted.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cli, dataset, datasetRows, defaultModel, englishOnPage, launchBrowser, missingPrerequisite, modelBin, nativePredict, openApp, shot,
  signingKey, startServer, tearDown, tempDir,
} from './helpers.mjs';
import { appSchema } from './strings.mjs';

const skip = missingPrerequisite();
const CLASSES = ['Normal', 'Suspect', 'Pathological'];
const STABLE_EXAMS = 60;
const CANARY_EXAMS = 50;
const CANARY_DISAGREEING = 5;  // canary exams whose browser shows another class than the server

describe('staged rollout cohorts on the dashboard', { skip: skip ?? false }, () => {
  let server, context, page, dir, auditor, sent, api;

  // The exams of one cohort: dataset rows from `first`, classified by `model` as its browsers
  // would, `disagreeing` of them showing the next class instead. Returns the request bodies and
  // the server classes the test expects.
  async function cohortExams(model, version, first, count, disagreeing) {
    const { header, lines } = datasetRows();
    const rows = lines.slice(first, first + count);
    const predicted = await nativePredict(`${header}\n${rows.join('\n')}\n`, model);
    assert.equal(predicted.length, count);
    const keys = (await appSchema()).map((f) => f.key);
    const classes = [0, 0, 0];
    const bodies = predicted.map((r, i) => {
      const values = rows[Number(r.row)].split(',').slice(0, keys.length).map(Number);
      const cls = CLASSES.indexOf(r.class);
      classes[cls]++;
      return {
        client_exam_id: `cohort-v${version}-${i}`,
        client_time: '2026-12-01T10:00:00Z',
        features: Object.fromEntries(keys.map((k, j) => [k, values[j]])),
        client_result: {
          class: i < disagreeing ? CLASSES[(cls + 1) % 3] : r.class,
          probabilities: [r.p_normal, r.p_suspect, r.p_pathological].map(Number),
          model_version: version,
        },
      };
    });
    return { bodies, classes };
  }

  before(async () => {
    dir = tempDir('cohorts');
    const v2 = join(dir, 'v2.fhm');
    await cli(modelBin, ['train', '--data', dataset, '--out', v2, '--no-cv', '--model-version', '2', '--rounds', '40', '--name', 'fetal-health-canary']);
    await cli(modelBin, ['sign', '--key', signingKey, v2]);
    server = await startServer('cohorts');
    auditor = await server.createToken('auditor', 'e2e-cohorts-audit');
    const wards = { 1: await server.createToken('clinician', 'e2e-stable-ward'), 2: await server.createToken('clinician', 'e2e-canary-ward') };
    // A window far longer than the test: the figures stay those of one running window.
    writeFileSync(join(server.dataDir, 'activation-policy.json'),
      JSON.stringify({ enforce: false, rollout: { window_seconds: 86400, min_exams_per_cohort: 20 } }));
    const upload = await server.api('/api/v1/models', {
      method: 'POST', body: readFileSync(v2),
      headers: { 'Content-Type': 'application/octet-stream', 'X-Model-Signature': readFileSync(`${v2}.sig`, 'utf8').trim() },
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    await cli(modelBin, ['release', '--key', signingKey, '--site', 'hospital-e2e', '--sequence', '7', '--stable', defaultModel,
      '--candidate', v2, '--steps', '10,50,100', '--out-dir', dir]);
    const set = await server.api('/api/v1/releases', {
      method: 'POST', body: readFileSync(join(dir, 'release-7.set.json')), headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(set.status, 201, JSON.stringify(set.body));
    const started = await server.api('/api/v1/releases/7/start', { method: 'POST' });
    assert.equal(started.status, 200, JSON.stringify(started.body));

    sent = {
      1: await cohortExams(defaultModel, 1, 0, STABLE_EXAMS, 0),
      2: await cohortExams(v2, 2, STABLE_EXAMS, CANARY_EXAMS, CANARY_DISAGREEING),
    };
    for (const version of [1, 2]) {
      const r = await server.api('/api/v1/exams:batch', {
        method: 'POST', token: wards[version], headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ exams: sent[version].bodies }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 2000));
      r.body.exams.forEach((stored, i) => assert.equal(stored.agreement.match, version === 1 || i >= CANARY_DISAGREEING));
    }
    api = (await server.api('/api/v1/monitoring/rollout', { token: auditor })).body;

    context = await launchBrowser('cohorts');
    page = await openApp(context, server.base);
    await page.click('#nav-settings');
    await page.fill('#token', auditor);
    await page.click('#save-token');
    await page.waitForSelector('[data-testid="session"]');
  });

  after(async () => {
    try {
      await tearDown(context, server);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  const tableRows = (testid) => page.$$eval(`[data-testid="${testid}"] tbody tr`,
    (trs) => trs.map((tr) => ({ cells: [...tr.children].map((c) => c.textContent), signal: tr.dataset.signal, tripped: tr.dataset.tripped })));

  async function showRollout() {
    await page.click('#nav-monitoring');
    await page.waitForSelector('#dash-apply');
    await page.click('#dash-apply');  // loads again: the rollout may have changed since
    await page.waitForFunction(() => {
      const status = document.querySelector('[data-testid="dash-status"]');
      return status && !status.textContent.endsWith('…') && document.querySelector('[data-testid="rollout-cohorts"]');
    });
  }

  test('the API computes each cohort from the exams its browsers sent', () => {
    assert.equal(api.rollout.sequence, 7);
    assert.equal(api.rollout.state, 'running');
    assert.equal(api.rollout.candidate_percent, 10);
    assert.deepEqual(api.cohorts.map((c) => [c.cohort, c.version, c.exams, c.class_counts]),
      [['stable', 1, STABLE_EXAMS, sent[1].classes], ['canary', 2, CANARY_EXAMS, sent[2].classes]]);
    assert.deepEqual(api.cohorts.map((c) => c.disagreements), [0, CANARY_DISAGREEING]);
    const disagreement = api.signals.find((s) => s.signal === 'disagreement_increase');
    assert.equal(disagreement.measured, CANARY_DISAGREEING / CANARY_EXAMS);
    assert.equal(disagreement.tripped, true);
    assert.equal(api.would_decide, 'halt');
  });

  test('an auditor sees the running rollout: sequence, state, percentage, both cohorts and every signal', async () => {
    await showRollout();
    const state = page.locator('[data-testid="rollout-state"]');
    assert.equal(await state.getAttribute('data-state'), 'running');
    assert.equal(await state.getAttribute('data-percent'), '10');
    assert.match(await state.textContent(), /Release 7 is rolling out: v2 on 10 % of browsers, v1 on the others \(step 1 of 3: 10 % → 50 % → 100 %\)/);
    assert.match(await page.textContent('[data-testid="rollout-window"]'), /86,400 s.*it would be: halt\./);

    const headers = await page.$$eval('[data-testid="rollout-cohorts"] thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(headers.slice(1), ['Stable cohort (v1)', 'Canary cohort (v2)']);
    const rows = (await tableRows('rollout-cohorts')).map((r) => r.cells);
    const row = (name) => rows.find((r) => r[0] === name);
    assert.deepEqual(row('Model version'), ['Model version', 'v1', 'v2']);
    assert.match(row('Exams (received since)')[1], new RegExp(`^${STABLE_EXAMS} \\(`));
    assert.match(row('Exams (received since)')[2], new RegExp(`^${CANARY_EXAMS} \\(`));
    CLASSES.forEach((name, k) => {
      assert.deepEqual(row(name).slice(1).map((cell) => cell.split(' ')[0]), [String(sent[1].classes[k]), String(sent[2].classes[k])], name);
    });
    assert.deepEqual(row('Client/server disagreement rate'), ['Client/server disagreement rate', '0.0% (0)', `10.0% (${CANARY_DISAGREEING})`]);
    const estimated = row('Estimated accuracy');
    api.cohorts.forEach((c, i) => assert.equal(estimated[i + 1], `${(100 * c.estimated_accuracy).toFixed(1)}%`));

    // Every signal as the server judged it: value, threshold, verdict.
    const signals = await tableRows('rollout-signals');
    assert.deepEqual(signals.map((s) => s.signal), api.signals.map((s) => s.signal));
    signals.forEach((s, i) => {
      assert.equal(s.tripped, String(api.signals[i].tripped), s.signal);
      assert.equal(s.cells[3], api.signals[i].tripped ? 'trips' : 'passes', s.signal);
    });
    const disagreement = signals.find((s) => s.signal === 'disagreement_increase');
    assert.deepEqual(disagreement.cells.slice(1), ['+10.0%', '> 2.0%', 'trips']);
    const mix = signals.find((s) => s.signal === 'class_mix_p_value');
    assert.equal(mix.cells[2], '< 0.001');
    await shot(page, 'dashboard-rollout-cohorts');
  });

  test('the same in Portuguese, with no English left', async () => {
    await page.selectOption('#lang', 'pt-BR');
    await page.waitForSelector('text=Lançamento escalonado: os dois grupos lado a lado');
    assert.match(await page.textContent('[data-testid="rollout-state"]'), /O lançamento 7 está em curso: v2 em 10 % dos navegadores/);
    const signals = await tableRows('rollout-signals');
    assert.equal(signals.find((s) => s.signal === 'disagreement_increase').cells[3], 'dispara');
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'dashboard-rollout-cohorts-pt-BR');
    await page.selectOption('#lang', 'en');
  });

  test('once halted, the dashboard says so and keeps the figures of its last window', async () => {
    const halted = await server.api('/api/v1/releases/7/halt', { method: 'POST' });
    assert.equal(halted.status, 200, JSON.stringify(halted.body));
    await showRollout();
    await page.waitForSelector('[data-testid="rollout-state"][data-state="halted"]');
    assert.equal(await page.getAttribute('[data-testid="rollout-state"]', 'data-percent'), '0');
    assert.match(await page.textContent('[data-testid="rollout-state"]'), /Release 7 was halted at .*: every browser is back on v1/);
    const rows = (await tableRows('rollout-cohorts')).map((r) => r.cells);
    assert.match(rows.find((r) => r[0] === 'Exams (received since)')[2], new RegExp(`^${CANARY_EXAMS} \\(`));
  });
});
