// The exam form against the real server and the native CLI: a dataset row typed in by keyboard
// gives the native result; invalid values show the field's error; the Portuguese UI has no
// English left; screenshots of the form and the result in both languages.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  cspViolations, datasetRows, englishOnPage, launchBrowser, missingPrerequisite, nativePredict, openApp, shot, startServer, tearDown,
} from './helpers.mjs';
import { appSchema } from './strings.mjs';

const skip = missingPrerequisite();

describe('exam form', { skip: skip ?? false }, () => {
  let server, context, page, native, rows;

  before(async () => {
    rows = datasetRows();
    native = await nativePredict(`${rows.header}\n${rows.lines.join('\n')}\n`);
    server = await startServer('exam');
    context = await launchBrowser('exam');
    page = await openApp(context, server.base);
  });

  after(() => tearDown(context, server));

  // The first dataset row the native CLI puts in each class: three rows, three different results.
  function rowPredictedAs(className) {
    const hit = native.find((r) => r.class === className);
    assert.ok(hit, `native CLI predicted no ${className} row`);
    return hit;
  }

  async function typeRow(values) {
    await page.click('#new-exam');
    await page.focus('#f-baseline_value');
    for (let i = 0; i < values.length; i++) {
      await page.keyboard.type(values[i]);
      if (i < values.length - 1) await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter'); // submits the form: keyboard only, no mouse
    await page.waitForSelector('[data-testid="result-class"]');
  }

  const CLASSES = ['Normal', 'Suspect', 'Pathological'];

  test('an exam whose prediction set holds two classes says: refer for senior review', async () => {
    // A dataset row the native CLI gives a two-class set while it is within the training data.
    const wide = native.find((r) => r.set.includes(';') && r.ood_flag === '0' && r.out_of_range === '');
    assert.ok(wide, 'the native CLI gave no in-distribution row a two-class set');
    await typeRow(rows.lines[Number(wide.row)].split(',').slice(0, 21));
    const names = wide.set.split(';');
    assert.equal(await page.textContent('[data-testid="prediction-set"] strong'), 'Prediction set (95%): ');
    assert.match(await page.textContent('[data-testid="prediction-set"]'), new RegExp(`${names.join(' or ')}`));
    const note = await page.textContent('[data-testid="refer-review"]');
    assert.match(note, /Refer for senior review\./);
    assert.match(note, new RegExp(`cannot rule out: ${names.join(' or ')}\\.`));
    assert.doesNotMatch(note, /unlike the training data/);
    await shot(page, 'result-refer-en');
  });

  for (const cls of CLASSES) {
    test(`a dataset row the CLI classifies ${cls} gives the same result in the browser`, async () => {
      const expected = rowPredictedAs(cls);
      const values = rows.lines[Number(expected.row)].split(',').slice(0, 21);
      await typeRow(values);
      const shown = await page.$eval('[data-testid="result-class"]', (el) => el.textContent);
      assert.equal(shown, cls);
      const probabilities = await page.$$eval('.prob-value', (els) => els.map((el) => Number(el.dataset.p)));
      const nativeP = [expected.p_normal, expected.p_suspect, expected.p_pathological].map(Number);
      for (let k = 0; k < 3; k++) {
        assert.ok(Math.abs(probabilities[k] - nativeP[k]) < 2e-5, `p[${k}] ${probabilities[k]} vs native ${nativeP[k]}`);
      }
      const figo = await page.$eval('[data-testid="figo-class"]', (el) => el.textContent);
      assert.equal(figo, expected.figo_class);
      const ood = await page.$eval('[data-testid="ood"]', (el) => el.dataset.flagged);
      const nativeOod = expected.ood_flag === '1' || expected.out_of_range !== '';
      assert.equal(ood, String(nativeOod));
      const flags = await page.$$eval('.figo-flags li', (els) => els.map((el) => el.dataset.flag).join(';'));
      assert.equal(flags, expected.figo_flags);
      // The prediction set and the referral are the native ones.
      const set = await page.$eval('[data-testid="prediction-set"]', (el) => el.dataset.set);
      assert.equal(set, expected.set.split(';').map((name) => CLASSES.indexOf(name)).join(','));
      assert.equal(await page.isVisible('[data-testid="refer-review"]'), expected.refer_for_review === '1');
      assert.match(await page.textContent('[data-testid="model-version"]'), /^Model v1 · [0-9a-f]{12}$/);
      if (cls === 'Pathological') await shot(page, 'result-en');
    });
  }

  test('a result whose inputs were edited afterwards is marked stale until classified again', async () => {
    await page.click('#new-exam');
    await page.click('[data-sample="normal"]');
    await page.click('#classify');
    await page.waitForSelector('[data-testid="result-class"]');
    assert.equal(await page.isVisible('#stale-note'), false);
    await page.fill('#f-baseline_value', '175');
    assert.equal(await page.isVisible('#stale-note'), true);
    await page.click('#classify');
    await page.waitForSelector('#stale-note', { state: 'hidden' });
    assert.equal(await page.textContent('[data-testid="figo-class"]'), 'Suspicious'); // tachycardia now
    assert.match(await page.textContent('.figo-flags'), /above 160 bpm \(tachycardia\)/);
  });

  test('an out-of-range value shows the field error with the expected range and unit', async () => {
    await page.click('#new-exam');
    await shot(page, 'form-en');
    await page.fill('#f-baseline_value', '500');
    const input = page.locator('#f-baseline_value');
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    const message = await page.textContent('#f-baseline_value-msg');
    assert.match(message, /maximum/);
    assert.match(message, /50 to 250 bpm/);
    // The message is announced with the field: it is one of the input's descriptions.
    assert.match(await input.getAttribute('aria-describedby'), /f-baseline_value-msg/);

    await page.fill('#f-baseline_value', '140');
    assert.equal(await input.getAttribute('aria-invalid'), 'false');
    assert.equal((await page.textContent('#f-baseline_value-msg')).trim(), '');
  });

  test('a count typed where the dataset has a rate gets a unit hint', async () => {
    await page.fill('#f-accelerations', '3');
    const message = await page.textContent('#f-accelerations-msg');
    assert.match(message, /events per second/);
    assert.match(message, /Did you enter a count\?/);
  });

  test('a cross-field rule names the rule and the expected value', async () => {
    await page.fill('#f-histogram_min', '60');
    await page.fill('#f-histogram_max', '160');
    await page.fill('#f-histogram_width', '30');
    const message = await page.textContent('#f-histogram_width-msg');
    assert.match(message, /maximum − minimum/);
    assert.match(message, /100 bpm/);
  });

  test('classifying an incomplete exam lists every missing field and shows no result', async () => {
    await page.click('#classify');
    const summary = page.locator('#error-summary');
    assert.equal(await summary.isVisible(), true);
    const items = await summary.locator('li').count();
    assert.ok(items >= 17, `expected at least 17 fields listed, got ${items}`); // 4 entered, 2 invalid
    assert.equal(await page.locator('[data-testid="result-class"]').count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error-summary');
    await shot(page, 'form-errors-en');
  });

  test('the Portuguese UI shows no English strings on any screen', async () => {
    await page.click('#nav-model');
    await page.waitForSelector('.reliability');
    await shot(page, 'model-card-en');
    await page.click('#nav-exam');
    await page.selectOption('#lang', 'pt-BR');
    await page.click('#new-exam');
    await page.click('[data-sample="suspect"]');
    await page.click('#classify');
    await page.waitForSelector('[data-testid="result-class"]');
    // One invalid value too, so a validation message is on screen.
    await page.fill('#f-histogram_variance', '99999');
    await shot(page, 'result-pt');
    for (const view of ['exam', 'batch', 'history', 'model', 'settings']) {
      await page.click(`#nav-${view}`);
      await page.waitForTimeout(150);
      const leaks = await englishOnPage(page);
      assert.deepEqual(leaks, [], `English on the pt-BR ${view} screen`);
      if (view === 'model') await shot(page, 'model-card-pt');
      if (view === 'history') await shot(page, 'history-pt');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt-BR');
    }
    await page.click('#nav-exam');
    await page.click('#new-exam');
    await shot(page, 'form-pt');
    await page.selectOption('#lang', 'en');
  });

  test('the form writes its limits as Intl.NumberFormat does, in both languages', async () => {
    // The form formats numbers without Intl (a cold page's first NumberFormat is slow); the
    // browser's own Intl is the oracle, digit groups (the variance limit) included.
    const schema = (await appSchema()).map((f) => ({ key: f.key, min: f.hardMin, max: f.hardMax }));
    for (const lang of ['pt-BR', 'en']) {
      await page.selectOption('#lang', lang);
      await page.click('#nav-exam');
      const wrong = await page.evaluate(({ fields, lang }) => {
        const intl = new Intl.NumberFormat(lang, { maximumFractionDigits: 4 });
        const out = [];
        for (const f of fields) {
          const text = document.querySelector(`#f-${f.key}-help .range`)?.textContent ?? '';
          for (const v of [f.min, f.max]) {
            if (Number.isFinite(v) && !text.includes(intl.format(v))) out.push(`${f.key}: "${text}" lacks ${intl.format(v)}`);
          }
        }
        return out;
      }, { fields: schema, lang });
      assert.deepEqual(wrong, [], lang);
    }
    assert.ok(schema.some((f) => Math.abs(f.max) >= 1000), 'a limit of 1,000 or more is on the form');
  });

  test('nothing on these screens violates the server\'s Content-Security-Policy', async () => {
    assert.deepEqual(await cspViolations(page), []);
  });
});
