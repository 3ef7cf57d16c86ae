// Outcome entry from the history against the real server: a clinician records the final CTG
// reading and the neonatal outcome of a submitted exam; the form checks the ranges before
// sending; the server's 422 appears on the field it names; saving the same outcome again changes
// nothing; a correction is a new version, listed with the earlier one. Both languages.
//
// The tests that store an outcome need POST /api/v1/exams/{id}/outcome on the server: they are
// skipped, saying so, while the server has no such route (it answers 404 there instead of 401
// without a token). The form's own checks are tested either way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  englishOnPage, fillExamRow, historyEntries, launchBrowser, missingPrerequisite, openApp, shot, startServer, tearDown,
} from './helpers.mjs';

const skip = missingPrerequisite();
const PENDING = 'pending: this fetal-server has no route POST /api/v1/exams/{id}/outcome yet';

describe('outcome entry from the history', { skip: skip ?? false }, () => {
  let server, context, page, clinician, entry, routeMissing;
  const outcomeRequests = [];

  before(async () => {
    server = await startServer('outcome');
    const probe = await server.api('/api/v1/exams/1/outcome', { method: 'POST', token: null, headers: { 'Content-Type': 'application/json' }, body: '{}' });
    routeMissing = probe.status === 404;
    clinician = await server.createToken('clinician', 'e2e-outcome-ward');
    context = await launchBrowser('outcome');
    page = await openApp(context, server.base);
    page.on('request', (r) => {
      if (r.url().endsWith('/outcome')) outcomeRequests.push(r.postData());
    });
    await page.click('#nav-settings');
    await page.fill('#token', clinician);
    await page.click('#save-token');
    await page.waitForSelector('[data-testid="session"]');
    await fillExamRow(page, 70);
    await page.click('#classify');
    await page.waitForFunction(() => document.querySelector('.saved-note')?.textContent.trim());
    [entry] = await historyEntries(page);
    await page.click('#nav-history');
    await page.waitForSelector(`tr[data-exam-id="${entry.id}"] [data-status="submitted"]`, { timeout: 15_000 });
    [entry] = await historyEntries(page);
  });

  after(() => tearDown(context, server));

  const row = () => page.locator(`tr[data-exam-id="${entry.id}"]`);
  const form = () => page.locator('[data-testid="outcome-form"]');
  const field = (name) => form().locator(`[name="${name}"]`);
  const message = (name) => form().locator(`[id$="-${name}-msg"]`);
  async function serverOutcome() {
    const r = await server.api(`/api/v1/exams/${entry.serverExamId}`, { token: clinician });
    assert.equal(r.status, 200);
    return r.body.outcome;
  }

  test('the form checks the ranges as the user types and sends nothing invalid', async () => {
    await row().locator('.outcome-toggle').click();
    await form().waitFor();
    await form().locator('[data-testid="outcome-save"]').click();
    assert.match(await form().locator('.error-summary').textContent(), /Final CTG reading: Choose Normal, Suspect or Pathological/);
    await field('apgar_5min').fill('11');
    assert.equal(await message('apgar_5min').textContent(), 'Expected a whole number from 0 to 10.');
    assert.equal(await field('apgar_5min').getAttribute('aria-invalid'), 'true');
    await field('umbilical_ph').fill('6.4');
    assert.equal(await message('umbilical_ph').textContent(), 'Expected a pH from 6.5 to 7.8.');
    await field('base_deficit').fill('31');
    assert.equal(await message('base_deficit').textContent(), 'Expected -5 to 30 mmol/L.');
    await form().locator('[data-testid="outcome-save"]').click();
    await shot(page, 'outcome-errors-en');
    assert.deepEqual(outcomeRequests, []);
    if (!routeMissing) assert.equal(await serverOutcome(), null);
  });

  test('a valid outcome is stored as version 1; the same again changes nothing', async (t) => {
    if (routeMissing) return t.skip(PENDING);
    await form().locator('input[name="final_reading"][value="Normal"]').check();
    await field('apgar_5min').fill('9');
    await field('umbilical_ph').fill('7,21');
    await field('base_deficit').fill('4.5');
    await form().locator('input[name="nicu_admission"][value="no"]').check();
    await form().locator('[data-testid="outcome-save"]').click();
    await page.waitForSelector('text=Outcome saved as version 1.');
    const stored = await serverOutcome();
    assert.equal(stored.version, 1);
    assert.deepEqual([stored.final_reading, stored.apgar_5min, stored.umbilical_ph, stored.base_deficit, stored.nicu_admission],
      ['Normal', 9, 7.21, 4.5, false]);
    assert.match(await row().locator('[data-testid="outcome-latest"]').textContent(), /Normal \(version 1\)/);

    await form().locator('[data-testid="outcome-save"]').click();
    await page.waitForSelector('text=Already saved as version 1: nothing changed.');
    assert.equal((await serverOutcome()).version, 1);
  });

  test('a correction is a new version and both are listed', async (t) => {
    if (routeMissing) return t.skip(PENDING);
    await form().locator('input[name="final_reading"][value="Suspect"]').check();
    await form().locator('[data-testid="outcome-save"]').click();
    await page.waitForSelector('text=Outcome saved as version 2.');
    assert.equal((await serverOutcome()).version, 2);
    const versions = await form().locator('[data-testid="outcome-versions"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.version));
    assert.deepEqual(versions, ['2', '1']);
    await shot(page, 'outcome-versions-en');
  });

  test("the server's 422 is shown on the field it names", async (t) => {
    if (routeMissing) return t.skip(PENDING);
    // The form never sends an out-of-range value, so the request is altered on its way out; the
    // answer is the real server's.
    await page.route('**/outcome', (route) => route.continue({ postData: JSON.stringify({ ...JSON.parse(route.request().postData()), apgar_5min: 12 }) }));
    await field('apgar_5min').fill('8');
    await form().locator('[data-testid="outcome-save"]').click();
    await page.waitForFunction(() => document.querySelector('[id$="-apgar_5min-msg"]')?.textContent.includes('The server refused it'));
    await page.unroute('**/outcome');
    assert.equal(await field('apgar_5min').getAttribute('aria-invalid'), 'true');
    assert.equal((await serverOutcome()).version, 2);
  });

  test('with the server stopped the outcome is kept on the device and sent when the server is back', async (t) => {
    if (routeMissing) return t.skip(PENDING);
    await server.stop();
    await form().locator('input[name="final_reading"][value="Pathological"]').check();
    await form().locator('[data-testid="outcome-save"]').click();
    await page.waitForSelector('text=the outcome is kept on this device and sent when the server is back');
    assert.equal(await row().locator('[data-testid="outcome-pending"]').textContent(), 'Waiting to be sent: Pathological');
    await server.start();
    await page.evaluate(() => window.dispatchEvent(new Event('online')));  // what a reconnect does
    await page.waitForFunction((id) => /Pathological \(version 3\)/.test(
      document.querySelector(`tr[data-exam-id="${id}"] [data-testid="outcome-latest"]`)?.textContent ?? ''), entry.id, { timeout: 15_000 });
    const stored = await serverOutcome();
    assert.deepEqual([stored.version, stored.final_reading, stored.apgar_5min], [3, 'Pathological', 8]);
    assert.equal(await row().locator('[data-testid="outcome-pending"]').count(), 0);
  });

  test('the outcome form in Portuguese has no English left', async () => {
    await page.selectOption('#lang', 'pt-BR');
    await page.click('#nav-history');
    if (!(await form().count())) await row().locator('.outcome-toggle').click();
    await form().waitFor();
    await field('umbilical_ph').fill('8');
    assert.equal(await message('umbilical_ph').textContent(), 'Esperado um pH de 6,5 a 7,8.');
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'outcome-pt');
    await page.selectOption('#lang', 'en');
  });
});
