// Clean data in, against the real server: an exam made from a sample button is marked as a
// sample on the result card and in the history and is never submitted; an exam classified while
// no token was set is sent only after the user confirms it (or kept on the device); each
// submission carries the build id of the WebAssembly runtime that classified it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  englishOnPage, fillExamRow, historyEntries, launchBrowser, missingPrerequisite, openApp, shot, startServer, tearDown, webRoot,
} from './helpers.mjs';

const skip = missingPrerequisite();

describe('clean data in: samples and exams classified before a token', { skip: skip ?? false }, () => {
  let server, context, page, clinician, auditor;

  before(async () => {
    server = await startServer('clean');
    clinician = await server.createToken('clinician', 'e2e-clean-ward');
    auditor = await server.createToken('auditor', 'e2e-clean-audit');
    context = await launchBrowser('clean');
    page = await openApp(context, server.base);
  });

  after(() => tearDown(context, server));

  async function serverExams() {
    const r = await server.api('/api/v1/exams?limit=1000', { token: auditor });
    assert.equal(r.status, 200);
    return r.body.exams;
  }

  // The result shows first; the note under it appears once the exam is stored.
  async function classify() {
    await page.click('#classify');
    await page.waitForSelector('[data-testid="result-class"]');
    await page.waitForFunction(() => document.querySelector('.saved-note')?.textContent.trim());
  }

  async function setToken(token) {
    await page.click('#nav-settings');
    await page.fill('#token', token);
    await page.click('#save-token');
    await page.waitForSelector('[data-testid="session"]');
  }

  async function clearToken() {
    await page.click('#nav-settings');
    await page.click('#clear-token');
    await page.waitForSelector('text=No token set');
  }

  // Gives the queue every chance to send what it would send: a reconnect, then a moment.
  async function letQueueRun() {
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await page.waitForTimeout(1_000);
  }

  async function waitForStatus(id, status) {
    await page.click('#nav-history');
    await page.waitForSelector(`tr[data-exam-id="${id}"] [data-status="${status}"]`, { timeout: 15_000 });
  }

  test('the Pathological sample without a token, then a token and one exam: the server receives exactly that one', async () => {
    await page.click('[data-sample="pathological"]');
    await classify();
    assert.equal(await page.textContent('[data-testid="result-class"]'), 'Pathological');
    const note = await page.textContent('.result-card [data-testid="sample-note"]');
    assert.match(note, /Sample exam \(dataset line 685\)/);
    assert.match(note, /never submitted/);
    assert.match(await page.textContent('.saved-note'), /as a sample; never submitted/);
    await shot(page, 'result-sample-en');
    const [sample] = await historyEntries(page);
    assert.equal(sample.status, 'local');
    assert.equal(sample.sample, 'pathological');
    assert.equal(sample.body, undefined, 'a sample has no submission body');

    await setToken(clinician);
    assert.match(await page.textContent('[data-testid="session"]'), /e2e-clean-ward \(clinician\)/);
    assert.equal(await page.locator('[data-testid="held-prompt"]').count(), 0, 'a sample is not offered for submission');
    await letQueueRun();
    assert.equal((await serverExams()).length, 0);

    await fillExamRow(page, 10);
    await classify();
    assert.equal(await page.locator('[data-testid="sample-note"]').count(), 0);
    const [exam] = await historyEntries(page);
    await waitForStatus(exam.id, 'submitted');
    await letQueueRun();
    const stored = await serverExams();
    assert.equal(stored.length, 1, 'the server received exactly one exam');
    assert.equal(stored[0].client_exam_id, exam.id);
    assert.equal(stored[0].submitted_by, 'e2e-clean-ward');
    assert.equal(stored[0].features.baseline_value, exam.features[0]);

    // The sample stays in the history, marked, and never sent.
    const row = page.locator(`tr[data-exam-id="${sample.id}"]`);
    assert.equal(await row.locator('[data-status="local"]').count(), 1);
    assert.match(await row.locator('[data-testid="sample"]').textContent(), /Sample exam \(dataset line 685\)/);
    assert.equal((await historyEntries(page)).find((e) => e.id === sample.id).attempts, 0);
  });

  test('the submission carries the runtime build id (sent without it to a server that does not know the field)', async () => {
    const { runtimeBuild } = JSON.parse(readFileSync(join(webRoot, 'build-info.json'), 'utf8'));
    assert.match(runtimeBuild, /^wasm-[0-9a-f]{16}$/);
    const [exam] = await historyEntries(page);
    const [stored] = await serverExams();
    assert.equal(stored.client_exam_id, exam.id);
    if ('runtime_build' in stored) {
      assert.equal(stored.runtime_build, runtimeBuild);
      assert.equal(JSON.parse(exam.body).runtime_build, runtimeBuild);
    } else {
      // This server refuses unknown fields: the app resent the exam without the field and keeps
      // that body, so a retry is a byte-identical replay.
      const probe = await server.api('/api/v1/exams', {
        method: 'POST', token: clinician, headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...JSON.parse(exam.body), client_exam_id: 'probe-runtime-build', runtime_build: runtimeBuild }),
      });
      assert.equal(probe.status, 422);
      assert.deepEqual(probe.body.error.details.map((d) => [d.field, d.rule]), [['runtime_build', 'unknown_field']]);
      assert.equal('runtime_build' in JSON.parse(exam.body), false);
      const replay = await server.api('/api/v1/exams', {
        method: 'POST', token: clinician, headers: { 'Content-Type': 'application/json' }, body: exam.body,
      });
      assert.equal(replay.status, 200);
      assert.equal(replay.body.id, stored.id);
    }
  });

  test('an exam classified before a token was set is sent only after the user confirms it', async () => {
    await clearToken();
    await fillExamRow(page, 40);
    await classify();
    assert.match(await page.textContent('.saved-note'), /not sent: no clinician token is set/);
    const [held] = await historyEntries(page);
    assert.equal(held.status, 'held');
    await waitForStatus(held.id, 'held');

    await setToken(clinician);
    const prompt = page.locator('[data-testid="held-prompt"]');
    await prompt.waitFor();
    assert.match(await prompt.textContent(),
      /1 exam was classified on this device while no clinician token was set\. It has not been sent\. Submit it to the server as e2e-clean-ward\?/);
    assert.equal(await page.textContent('#held-submit'), 'Submit 1 exam');
    await shot(page, 'settings-held-en');
    await letQueueRun();
    assert.equal((await serverExams()).length, 1, 'nothing is sent before the user confirms');
    assert.equal((await historyEntries(page)).find((e) => e.id === held.id).attempts, 0);

    // The same question in Portuguese, and on the History page.
    await page.selectOption('#lang', 'pt-BR');
    await page.click('#nav-history');
    await page.locator('[data-testid="held-prompt"]').waitFor();
    assert.match(await page.textContent('[data-testid="held-prompt"]'),
      /1 exame foi classificado neste dispositivo sem um token de profissional clínico definido\..*Enviá-lo ao servidor como e2e-clean-ward\?/);
    assert.equal(await page.textContent('#held-submit'), 'Enviar 1 exame');
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'history-held-pt');
    await page.selectOption('#lang', 'en');

    await page.click('#held-submit');
    await waitForStatus(held.id, 'submitted');
    const stored = await serverExams();
    assert.equal(stored.length, 2);
    assert.equal(stored[1].client_exam_id, held.id);
    assert.equal(await page.locator('[data-testid="held-prompt"]').count(), 0);
  });

  test('declining keeps the held exams on this device, never sent', async () => {
    await clearToken();
    for (const row of [50, 60]) {
      await fillExamRow(page, row);
      await classify();
    }
    await setToken(clinician);
    await page.locator('[data-testid="held-prompt"]').waitFor();
    assert.equal(await page.textContent('#held-submit'), 'Submit 2 exams');
    await page.click('#held-keep');
    await page.waitForSelector('text=Kept on this device');
    const entries = await historyEntries(page);
    assert.deepEqual(entries.slice(0, 2).map((e) => e.status), ['local', 'local']);
    await letQueueRun();
    assert.equal((await serverExams()).length, 2);
    await page.click('#nav-history');
    assert.equal(await page.locator('[data-testid="held-prompt"]').count(), 0);
  });

  test('an exam classified under an auditor token is held too, and sent under the clinician only when confirmed', async () => {
    await clearToken();
    await setToken(auditor);
    assert.match(await page.textContent('[data-testid="session"]'), /e2e-clean-audit, role auditor/);
    await fillExamRow(page, 80);
    await classify();
    const [held] = await historyEntries(page);
    assert.equal(held.status, 'held');
    await clearToken();
    await setToken(clinician);
    await page.locator('[data-testid="held-prompt"]').waitFor();
    assert.equal(await page.textContent('#held-submit'), 'Submit 1 exam');
    await letQueueRun();
    assert.equal((await serverExams()).length, 2);
    await page.click('#held-submit');
    await waitForStatus(held.id, 'submitted');
    const stored = await serverExams();
    assert.equal(stored.length, 3);
    assert.equal(stored[2].client_exam_id, held.id);
    assert.equal(stored[2].submitted_by, 'e2e-clean-ward');
  });
});
