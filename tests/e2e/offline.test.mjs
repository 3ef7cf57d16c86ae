// Offline-first and the submission queue against the real server: exams submit when the server
// is up; with the server stopped the app still reloads (service worker) and classifies, the exam
// waits in the IndexedDB queue, and after the server restarts it lands exactly once (a replay of
// the same client_exam_id is answered with the original). A 4xx rejection shows the server's
// reason and is not retried. A later visit with the worker stopped reads the app's files straight
// from its cache (static routes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fillExamRow, historyEntries, launchBrowser, missingPrerequisite, openApp, shot, startServer, tearDown } from './helpers.mjs';

const skip = missingPrerequisite();

describe('offline and submission queue', { skip: skip ?? false }, () => {
  let server, context, page, clinician, auditor;

  before(async () => {
    server = await startServer('offline');
    clinician = await server.createToken('clinician', 'e2e-ward');
    auditor = await server.createToken('auditor', 'e2e-audit');
    context = await launchBrowser('offline');
    page = await openApp(context, server.base);
    // Wait until the service worker controls the page: from then on the app survives the server.
    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 15_000 });
  });

  after(() => tearDown(context, server));

  async function serverExams(clientExamId) {
    const r = await server.api('/api/v1/exams?limit=1000', { token: auditor });
    assert.equal(r.status, 200);
    return r.body.exams.filter((e) => e.client_exam_id === clientExamId);
  }

  // Types dataset row `index` and classifies it (samples are never submitted); returns the class shown.
  async function classifyRow(index) {
    await fillExamRow(page, index);
    await page.click('#classify');
    await page.waitForSelector('[data-testid="result-class"]');
    await savedToHistory();
    return page.textContent('[data-testid="result-class"]');
  }

  // The result shows first; the note under it appears once the exam is stored.
  function savedToHistory() {
    return page.waitForFunction(() => document.querySelector('.saved-note')?.textContent.trim());
  }

  // The newest history entry, read from the app's own IndexedDB.
  async function newestEntry() {
    return (await historyEntries(page))[0] ?? null;
  }

  async function waitForStatus(id, status) {
    await page.click('#nav-history');
    await page.waitForSelector(`tr[data-exam-id="${id}"] [data-status="${status}"]`, { timeout: 15_000 });
  }

  test('the token is entered once in settings and an exam submits', async () => {
    await page.click('#nav-settings');
    await page.fill('#token', clinician);
    await page.click('#save-token');
    await page.waitForSelector(`text=…${clinician.slice(-4)}`);
    assert.match(await page.textContent('[data-testid="session"]'), /e2e-ward \(clinician\)/);
    await shot(page, 'settings-en');
    const shown = await classifyRow(10);
    const entry = await newestEntry();
    await waitForStatus(entry.id, 'submitted');
    const stored = await serverExams(entry.id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].client_result.class, shown);
    assert.equal(stored[0].client_result.model_version, 1);
    assert.equal(stored[0].agreement.match, true); // the server re-evaluated natively and agrees
  });

  test('with the server stopped the app reloads, classifies, and queues; after restart the exam lands once', async () => {
    await server.stop();
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    const shown = await classifyRow(20);
    const entry = await newestEntry();
    await waitForStatus(entry.id, 'queued');
    await page.waitForSelector('#net-status[data-state="unreachable"]');
    assert.match(await page.textContent('[data-testid="queue-count"]'), /1 submission/);
    await shot(page, 'history-queued-en');

    await server.start(); // same port, same data directory
    await page.click('#retry-queue');
    await waitForStatus(entry.id, 'submitted');
    const stored = await serverExams(entry.id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].client_result.class, shown);

    // A retry whose response was lost sends the same body again (the body as last sent: a server
    // that does not know runtime_build got it without): the server answers with the original
    // exam and stores nothing new.
    const sent = (await historyEntries(page)).find((e) => e.id === entry.id);
    const replay = await page.evaluate(async ({ body, token }) => {
      const r = await fetch('api/v1/exams', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body });
      return { status: r.status, exam: await r.json() };
    }, { body: sent.body, token: clinician });
    assert.equal(replay.status, 200);
    assert.equal(replay.exam.id, stored[0].id);
    assert.equal((await serverExams(entry.id)).length, 1);
  });

  test('a later visit reads every file of the app from the cache without starting the service worker, and loads the runtime and the model once', async () => {
    await server.stop();
    try {
      // What the browser does 30 s after the worker's last event; the next visit then starts it
      // unless its static routes answer first.
      const cdp = await context.newCDPSession(page);
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await cdp.detach();
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      const entries = await page.evaluate(() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .map((e) => ({ file: e.entryType === 'navigation' ? 'the page' : new URL(e.name).pathname.split('/').pop(), source: e.workerMatchedSourceType })));
      const sources = Object.fromEntries(entries.map((e) => [e.file, e.source]));
      for (const file of ['the page', 'boot.js', 'app.js', 'fetal.js', 'fetal-core.js', 'fetal-core.wasm', 'default.fhm', 'styles.css']) {
        assert.equal(sources[file], 'cache', `${file} came from ${sources[file]}, not the cache by a static route`);
      }
      // boot.js runs before app.js, which uses what it started: one download of each.
      assert.equal(entries.filter((e) => e.file === 'fetal-core.wasm').length, 1);
      assert.equal(entries.filter((e) => e.file === 'default.fhm').length, 1);
      assert.equal(await page.evaluate(() => performance.getEntriesByName('fetal:model').length), 1);
    } finally {
      await server.start();
    }
  });

  test('a rejected exam shows the server reason and is not retried', async () => {
    await fillExamRow(page, 30);
    await page.fill('#f-note', 'x'.repeat(4100)); // the server allows 4000 bytes
    await page.click('#classify');
    await page.waitForSelector('[data-testid="result-class"]');
    await savedToHistory();
    const entry = await newestEntry();
    await waitForStatus(entry.id, 'rejected');
    const reason = await page.textContent(`tr[data-exam-id="${entry.id}"] .reason`);
    assert.match(reason, /note/);
    assert.match(reason, /4000/);
    // Nothing is left to retry: the rejected exam is not in the queue.
    assert.equal(await page.$eval('#retry-queue', (b) => b.disabled), true);
    await page.evaluate(() => window.dispatchEvent(new Event('online'))); // what a reconnect does
    await page.waitForTimeout(300);
    assert.equal((await newestEntry()).status, 'rejected');
    assert.equal((await serverExams(entry.id)).length, 0);
    await shot(page, 'history-en');
  });
});
