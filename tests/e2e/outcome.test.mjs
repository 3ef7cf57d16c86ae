// Outcome entry from the history against the real server, in English and in Portuguese: a
// clinician records the final CTG reading and the neonatal outcome of a submitted exam; the form
// checks the ranges before sending; the server's 422 appears on the field it names; saving the
// same outcome again changes nothing; a correction is version 2; the versions listed are the
// server's (GET /exams/{id}/outcomes), including one recorded elsewhere. Screenshots of the form.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  englishOnPage, fillExamRow, historyEntries, launchBrowser, missingPrerequisite, openApp, shot, startServer, tearDown,
} from './helpers.mjs';
import { languageFiles } from './strings.mjs';

const skip = missingPrerequisite();

describe('outcome entry from the history', { skip: skip ?? false }, () => {
  let server, context, page, clinician, texts;
  const outcomeRequests = [];
  const entries = {};  // language -> its exam's history entry

  before(async () => {
    texts = await languageFiles();
    server = await startServer('outcome');
    clinician = await server.createToken('clinician', 'e2e-outcome-ward');
    context = await launchBrowser('outcome');
    page = await openApp(context, server.base);
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/outcome')) outcomeRequests.push(r.postData());
    });
    await page.click('#nav-settings');
    await page.fill('#token', clinician);
    await page.click('#save-token');
    await page.waitForSelector('[data-testid="session"]');
  });

  after(() => tearDown(context, server));

  // The app's text `key` in `lang` with its placeholders filled (numbers given as the app writes them).
  const say = (lang, key, params = {}) => texts[lang].strings[key].replace(/\{(\w+)\}/g, (_, k) => String(params[k]));
  const row = (lang) => page.locator(`tr[data-exam-id="${entries[lang].id}"]`);
  const form = () => page.locator('[data-testid="outcome-form"]');
  const field = (name) => form().locator(`[name="${name}"]`);
  const message = (name) => form().locator(`[id$="-${name}-msg"]`);
  const save = () => form().locator('[data-testid="outcome-save"]').click();
  async function serverOutcome(lang) {
    const r = await server.api(`/api/v1/exams/${entries[lang].serverExamId}`, { token: clinician });
    assert.equal(r.status, 200);
    return r.body.outcome;
  }
  // Opens the entry's form afresh (one form is open at a time; opening reads the server's versions).
  async function openForm(lang) {
    await page.click('#nav-history');
    const toggle = row(lang).locator('.outcome-toggle');
    if ((await toggle.getAttribute('aria-expanded')) === 'true') {
      await toggle.click();
      await page.waitForSelector('[data-testid="outcome-form"]', { state: 'detached' });
    }
    await toggle.click();
    await form().waitFor();
  }

  for (const [lang, examRow] of [['en', 70], ['pt-BR', 71]]) {
    const dec = (v) => (lang === 'en' ? v : v.replace('.', ','));
    const short = lang === 'en' ? 'en' : 'pt';

    test(`${lang}: a typed exam is submitted and offers the outcome form`, async () => {
      await page.selectOption('#lang', lang);
      await fillExamRow(page, examRow);
      await page.click('#classify');
      await page.waitForFunction(() => document.querySelector('.saved-note')?.textContent.trim());
      const [entry] = await historyEntries(page);
      await page.click('#nav-history');
      await page.waitForSelector(`tr[data-exam-id="${entry.id}"] [data-status="submitted"]`, { timeout: 15_000 });
      [entries[lang]] = await historyEntries(page);
      assert.equal(await row(lang).locator('[data-testid="outcome-cell"] p').first().textContent(), say(lang, 'outcome.none'));
    });

    test(`${lang}: the form checks the ranges as the user types and sends nothing invalid`, async () => {
      await openForm(lang);
      const before = outcomeRequests.length;
      await save();
      assert.equal(await message('final_reading').textContent(), say(lang, 'outcome.error.reading'));
      await field('apgar_5min').fill('11');
      assert.equal(await message('apgar_5min').textContent(), say(lang, 'outcome.error.range.apgar_5min', { min: 0, max: 10 }));
      assert.equal(await field('apgar_5min').getAttribute('aria-invalid'), 'true');
      await field('umbilical_ph').fill(dec('6.4'));
      assert.equal(await message('umbilical_ph').textContent(), say(lang, 'outcome.error.range.umbilical_ph', { min: dec('6.5'), max: dec('7.8') }));
      await field('base_deficit').fill('31');
      assert.equal(await message('base_deficit').textContent(), say(lang, 'outcome.error.range.base_deficit', { min: -5, max: 30 }));
      await save();
      assert.match(await form().locator('.error-summary').textContent(), new RegExp(say(lang, 'outcome.errorsTitle', { count: 4 }).replace(/[()]/g, '\\$&')));
      await shot(page, `outcome-errors-${short}`);
      assert.equal(outcomeRequests.length, before);
      assert.equal(await serverOutcome(lang), null);
    });

    test(`${lang}: a valid outcome is stored as version 1; the same again changes nothing`, async () => {
      await form().locator('input[name="final_reading"][value="Normal"]').check();
      await field('apgar_5min').fill('9');
      await field('umbilical_ph').fill('7,21');
      await field('base_deficit').fill('4.5');
      await form().locator('input[name="nicu_admission"][value="no"]').check();
      await save();
      await page.waitForSelector(`text=${say(lang, 'outcome.stored', { version: 1 })}`);
      const stored = await serverOutcome(lang);
      assert.equal(stored.version, 1);
      assert.deepEqual([stored.final_reading, stored.apgar_5min, stored.umbilical_ph, stored.base_deficit, stored.nicu_admission],
        ['Normal', 9, 7.21, 4.5, false]);
      const normal = texts[lang].strings['class.0'];
      assert.equal(await row(lang).locator('[data-testid="outcome-latest"]').textContent(), say(lang, 'outcome.summary', { reading: normal, version: 1 }));

      await save();
      await page.waitForSelector(`text=${say(lang, 'outcome.replayed', { version: 1 })}`);
      assert.equal((await serverOutcome(lang)).version, 1);
    });

    test(`${lang}: the server's 422 is shown on the field it names, in the UI's language`, async () => {
      // The form never sends an out-of-range value, so the request is altered on its way out; the
      // answer is the real server's.
      await page.route('**/outcome', (route) => route.continue({ postData: JSON.stringify({ ...JSON.parse(route.request().postData()), apgar_5min: 12 }) }));
      try {
        await field('apgar_5min').fill('8');
        await save();
        const expected = say(lang, 'outcome.error.server', { message: say(lang, 'outcome.error.range.apgar_5min', { min: 0, max: 10 }) });
        await page.waitForFunction((text) => document.querySelector('[id$="-apgar_5min-msg"]')?.textContent === text, expected);
      } finally {
        await page.unroute('**/outcome');
      }
      assert.equal(await field('apgar_5min').getAttribute('aria-invalid'), 'true');
      assert.equal((await serverOutcome(lang)).version, 1);
    });

    test(`${lang}: a correction is version 2; the versions listed are the server's, one recorded elsewhere included`, async () => {
      await form().locator('input[name="final_reading"][value="Suspect"]').check();
      await save();
      await page.waitForSelector(`text=${say(lang, 'outcome.stored', { version: 2 })}`);
      const stored = await serverOutcome(lang);
      assert.deepEqual([stored.version, stored.final_reading, stored.apgar_5min], [2, 'Suspect', 8]);
      // The form shows the stored version with the language's decimal mark.
      assert.equal(await field('umbilical_ph').inputValue(), lang === 'pt-BR' ? '7,21' : '7.21');
      const versions = () => form().locator('[data-testid="outcome-versions"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.version));
      assert.deepEqual(await versions(), ['2', '1']);
      if (lang === 'pt-BR') assert.deepEqual(await englishOnPage(page), []);
      await shot(page, `outcome-form-${short}`);

      // Version 3 from another device of the same clinician: the form lists it once reopened.
      const r = await server.api(`/api/v1/exams/${entries[lang].serverExamId}/outcome`, {
        method: 'POST', token: clinician, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ final_reading: 'Pathological' }),
      });
      assert.equal(r.status, 201);
      await openForm(lang);
      assert.deepEqual(await versions(), ['3', '2', '1']);
      const pathological = texts[lang].strings['class.2'];
      assert.equal(await row(lang).locator('[data-testid="outcome-latest"]').textContent(), say(lang, 'outcome.summary', { reading: pathological, version: 3 }));
    });
  }

  test('with the server stopped the outcome is kept on the device and sent when the server is back', async () => {
    await page.selectOption('#lang', 'en');
    await openForm('en');
    await server.stop();
    await form().locator('input[name="final_reading"][value="Pathological"]').check();
    await field('apgar_5min').fill('7');
    await save();
    await page.waitForSelector('text=the outcome is kept on this device and sent when the server is back');
    assert.equal(await row('en').locator('[data-testid="outcome-pending"]').textContent(), 'Waiting to be sent: Pathological');
    await server.start();
    await page.evaluate(() => window.dispatchEvent(new Event('online')));  // what a reconnect does
    await page.waitForFunction((id) => /Pathological \(version 4\)/.test(
      document.querySelector(`tr[data-exam-id="${id}"] [data-testid="outcome-latest"]`)?.textContent ?? ''), entries.en.id, { timeout: 15_000 });
    const stored = await serverOutcome('en');
    assert.deepEqual([stored.version, stored.final_reading, stored.apgar_5min], [4, 'Pathological', 7]);
    assert.equal(await row('en').locator('[data-testid="outcome-pending"]').count(), 0);
  });
});
