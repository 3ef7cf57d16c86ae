// Batch mode against the native CLI: the whole 2126-row dataset, picked as a file, gives the same
// class counts as `fetal-model predict`, the same rows refused (listed by line and reason), each
// row's strongest TreeSHAP contributions, and an export with one line per input row carrying the
// contributions `fetal-model predict --explain` writes. Screenshots in both languages.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cli, cspViolations, dataset, datasetRows, defaultModel, englishOnPage, launchBrowser, missingPrerequisite, modelBin, nativePredict,
  openApp, shot, startServer, tearDown,
} from './helpers.mjs';

const skip = missingPrerequisite();

describe('batch CSV', { skip: skip ?? false }, () => {
  let server, context, page;

  before(async () => {
    server = await startServer('batch');
    context = await launchBrowser('batch', { acceptDownloads: true });
    page = await openApp(context, server.base, { hash: '#/batch' });
  });

  after(() => tearDown(context, server));

  test('the 2126-row dataset gives the class counts of `fetal-model predict`', async () => {
    const rows = datasetRows();
    assert.equal(rows.lines.length, 2126);
    const native = await nativePredict(readFileSync(dataset, 'utf8'), undefined, ['--explain']);
    const nativeCounts = ['Normal', 'Suspect', 'Pathological'].map((c) => native.filter((r) => r.class === c).length);
    // The CLI's own summary of the refused rows, to compare with the browser's list.
    // Not --output /dev/null: the CLI writes via temp file + rename, which (as root) replaced the
    // machine's /dev/null with a regular file.
    let refusedLines = [];
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'fetal-e2e-predict-'));
    try {
      await cli(modelBin, ['predict', '--model', defaultModel, '--input', dataset, '--output', path.join(scratch, 'out.csv')]);
    } catch (e) {
      refusedLines = [...new Set([...e.stderr.matchAll(/line (\d+),/g)].map((m) => Number(m[1])))];
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }

    await page.setInputFiles('#batch-file', dataset);
    await page.waitForSelector('[data-testid="batch-done"]', { timeout: 30_000 });
    const counts = await page.$$eval('[data-testid="count-chart"] g', (gs) => gs.map((g) => Number(g.dataset.count)));
    assert.deepEqual(counts, nativeCounts);
    assert.equal(counts.reduce((a, b) => a + b, 0) + refusedLines.length, 2126);

    const invalidLines = await page.$$eval('[data-testid="invalid-table"] tbody tr td:first-child', (tds) =>
      [...new Set(tds.map((td) => Number(td.textContent)))]);
    assert.deepEqual(invalidLines, refusedLines);
    const firstReason = await page.textContent('[data-testid="invalid-table"] tbody tr td:last-child');
    assert.match(firstReason, /Histogram median/);

    // Paged table: 50 rows a page, next page continues the lines. Each row names its strongest
    // contributions (three, largest first, each with its sign).
    assert.equal(await page.locator('[data-testid="batch-table"] tbody tr').count(), 50);
    const why = await page.$$eval('[data-testid="batch-table"] tbody tr td.why', (tds) =>
      tds.map((td) => [...td.querySelectorAll('li')].map((li) => li.firstChild.textContent)));
    assert.equal(why.length, 50);
    for (const reasons of why) {
      assert.equal(reasons.length, 3);
      const sizes = reasons.map((text) => Number(text.match(/([+−])(\d+\.\d+)$/)[2]));
      assert.deepEqual(sizes, sizes.slice().sort((a, b) => b - a));
    }
    await page.click('#batch-next');
    const firstOnPage2 = await page.textContent('[data-testid="batch-table"] tbody tr td');
    assert.equal(Number(firstOnPage2), 52); // data lines start at 2; page 2 starts at the 51st row
    await page.click('#batch-prev');
    await shot(page, 'batch-en');

    // Filtering to the rows that disagree with the file's labels: every row shown differs.
    await page.selectOption('#batch-filter', 'differs');
    const pairs = await page.$$eval('[data-testid="batch-table"] tbody tr', (trs) =>
      trs.map((tr) => [tr.children[1].textContent.trim(), tr.children[5].textContent.replace('≠', '').trim().split(' ')[0]]));
    assert.ok(pairs.length > 0);
    for (const [predicted, label] of pairs) assert.notEqual(predicted, label);
    const nativeDiffers = native.filter((r) => {
      const label = ['Normal', 'Suspect', 'Pathological'][Number(rows.lines[Number(r.row)].split(',')[21]) - 1];
      return r.class !== label;
    }).length;
    assert.match(await page.textContent('[data-testid="batch-shown"]'), new RegExp(`^${nativeDiffers.toLocaleString('en-US')} rows$`));
    await page.selectOption('#batch-filter', 'all');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#batch-export')]);
    const exported = readFileSync(await download.path(), 'utf8').trim().split('\n');
    const contributionColumns = Object.keys(native[0]).filter((k) => k.startsWith('contrib_'));
    assert.equal(contributionColumns.length, 22);
    assert.equal(exported[0], ['line', 'class', 'p_normal', 'p_suspect', 'p_pathological', 'label',
      ...contributionColumns, 'model_version', 'error'].join(','));
    assert.equal(exported.length, 1 + 2126);
    const exportedCounts = ['Normal', 'Suspect', 'Pathological'].map((c) => exported.filter((l) => l.split(',')[1] === c).length);
    assert.deepEqual(exportedCounts, nativeCounts);
    // The contributions are the CLI's (the same explainer code natively and in WebAssembly), row
    // by row: CLI rows are 0-based data rows, the export's lines are file lines (row + 2).
    const names = exported[0].split(',');
    const byLine = new Map(exported.slice(1).map((l) => [Number(l.split(',')[0]), l.split(',')]));
    for (const r of native) {
      const cells = byLine.get(Number(r.row) + 2);
      assert.equal(cells[1], r.class, `line ${Number(r.row) + 2}: class`);
      for (const column of contributionColumns) {
        const diff = Math.abs(Number(cells[names.indexOf(column)]) - Number(r[column]));
        assert.ok(diff <= 2e-6, `line ${Number(r.row) + 2} ${column}: ${cells[names.indexOf(column)]} vs ${r[column]}`);
      }
    }
    assert.deepEqual(await cspViolations(page), []);
  });

  test('the batch screen in Portuguese', async () => {
    await page.selectOption('#lang', 'pt-BR');
    assert.match(await page.textContent('h1'), /Classificação em lote/);
    // The refused rows' reasons follow the language too (they come from the validator's ids).
    assert.match(await page.textContent('[data-testid="invalid-table"] tbody tr td:last-child'), /A mediana deve ficar/);
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'batch-pt');
    await page.selectOption('#lang', 'en');
  });

  test('a dropped file with unreadable rows lists them by line and reason and classifies the rest', async () => {
    const { header, lines } = datasetRows();
    const bad = lines[1].split(',');
    bad[3] = 'abc';
    const text = [header, lines[0], bad.join(','), lines[2].split(',').slice(0, 10).join(','), lines[3]].join('\n');
    const transfer = await page.evaluateHandle((csv) => {
      const dt = new DataTransfer();
      dt.items.add(new File([csv], 'dropped.csv', { type: 'text/csv' }));
      return dt;
    }, text);
    await page.dispatchEvent('[data-testid="dropzone"]', 'drop', { dataTransfer: transfer });
    await page.waitForSelector('[data-testid="batch-done"]:has-text("dropped.csv")');
    const counts = await page.$$eval('[data-testid="count-chart"] g', (gs) => gs.map((g) => Number(g.dataset.count)));
    assert.equal(counts.reduce((a, b) => a + b, 0), 2);
    const rows = await page.$$eval('[data-testid="invalid-table"] tbody tr', (trs) => trs.map((tr) => tr.innerText));
    assert.equal(rows.length, 2);
    assert.match(rows[0], /^3\s+uterine_contractions\s+expected a number, got "abc"/);
    assert.match(rows[1], /^4\s+the row has 10 cells but the header has 22 columns/);
    await page.selectOption('#lang', 'pt-BR');
    assert.match(await page.textContent('[data-testid="invalid-table"] tbody tr:first-child td:last-child'), /esperado um número, recebido "abc"/);
    assert.deepEqual(await englishOnPage(page), []);
    await page.selectOption('#lang', 'en');
  });

  test('a file whose header lacks columns says which, in the current language, and reads nothing', async () => {
    const transfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['baseline value,accelerations,note\n120,0,x\n'], 'short.csv', { type: 'text/csv' }));
      return dt;
    });
    await page.dispatchEvent('[data-testid="dropzone"]', 'drop', { dataTransfer: transfer });
    const alert = page.locator('.error-summary[role="alert"]');
    await alert.waitFor();
    const text = await alert.textContent();
    assert.match(text, /^The file cannot be used: the header lacks the feature column\(s\) "fetal_movement", "uterine_contractions", /);
    assert.match(text, /"histogram_tendency"; expected all 21 dataset column names/);
    assert.equal(await page.locator('[data-testid="batch-done"]').count(), 0);
    await page.selectOption('#lang', 'pt-BR');
    assert.match(await alert.textContent(), /^O arquivo não pode ser usado: faltam no cabeçalho as colunas "fetal_movement", /);
    assert.deepEqual(await englishOnPage(page), []);
    await page.selectOption('#lang', 'en');
  });
});
