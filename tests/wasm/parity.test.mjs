// Parity: the WebAssembly build returns what the native model library returns, on every row of
// the dataset (and the same rows with missing values, infinities and -0), for the default model
// and imported XGBoost depth-6 and depth-8, 200-round models. Margins and TreeSHAP
// contributions are the same bits: both builds add the same floats in the same order.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { DATASET, loadRuntime, modelPaths, num, reference, referenceWithEnv } from './support.mjs';

const PROBABILITY_TOLERANCE = 1e-6;   // the promise in wasm/README.md (exp differs by libc)

const scalarReference = (...args) => referenceWithEnv({ FETAL_EVALUATOR_KERNEL: 'scalar' }, ...args);

function assertClose(actual, expected, tolerance, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; ++i) {
    const diff = Math.abs(actual[i] - num(expected[i]));
    assert.ok(diff <= tolerance, `${what}[${i}]: wasm ${actual[i]} vs native ${expected[i]} (diff ${diff})`);
  }
}

// Every dataset row with a few cells replaced (different ones per row, reaching every feature):
// NaN (missing), +Infinity, -Infinity, -0.
function withSpecialValues(features) {
  const special = [NaN, Infinity, -Infinity, -0];
  const x = Float32Array.from(features);
  for (let r = 0; r < x.length / 21; ++r) {
    for (let k = 0; k < 3; ++k) x[r * 21 + ((r * 5 + k * 8) % 21)] = special[(r + k) % 4];
  }
  return x;
}

function stripKey(findings) {
  return findings.map(({ key, ...rest }) => rest);
}

const runtime = await loadRuntime();
const csvText = readFileSync(DATASET, 'utf8');
const table = runtime.parseCsv(csvText);

for (const { name, file } of modelPaths()) {
  describe(`parity with native, ${name} model`, () => {
    let model;
    let native;
    before(() => {
      const loaded = runtime.loadModel(readFileSync(file));
      assert.ok(loaded.ok, `loading ${file}: ${JSON.stringify(loaded.error)}`);
      model = loaded.model;
      // The native side runs its portable scalar code: the wasm SIMD kernels must give its bits.
      native = scalarReference('classify', '--model', file, '--input', DATASET);
    });

    test('the dataset parses to the same 2126 rows natively and in wasm', () => {
      assert.equal(table.rows, 2126);
      assert.equal(table.errors.length, 0);
      assert.equal(native.rows.length, table.rows);
      assert.equal(native.csvErrors, 0);
      native.rows.forEach((row, r) => assert.equal(table.lines[r], row.line));
    });

    test('classify(): identical classes, probabilities within 1e-6, same explanation, OOD, FIGO', () => {
      let classified = 0;
      for (let r = 0; r < table.rows; ++r) {
        const exam = table.features.subarray(r * 21, (r + 1) * 21);
        const expected = native.rows[r];
        const got = model.classify(exam);
        const where = `row ${r} (line ${expected.line})`;
        assert.equal(got.ok, expected.classified, `${where}: classified`);
        if (!got.ok) {
          assert.deepEqual(stripKey(got.findings), expected.findings, `${where}: findings`);
          continue;
        }
        classified++;
        const c = got.result;
        assert.equal(c.classIndex, expected.class, `${where}: class`);
        assertClose(c.probabilities, expected.probabilities, PROBABILITY_TOLERANCE, `${where} probabilities`);
        assertClose(c.rawProbabilities, expected.rawProbabilities, PROBABILITY_TOLERANCE, `${where} raw`);
        assert.deepEqual(c.margins, expected.margins, `${where}: margins`);
        assert.deepEqual(Array.from(c.contributions), expected.contributions, `${where}: contributions`);
        assert.deepEqual(c.predictionSet, expected.predictionSet, `${where}: prediction set`);
        assert.equal(c.referForReview, expected.referForReview, `${where}: refer for review`);
        if (expected.ood) {
          const d = num(expected.ood.distance);
          assert.ok(Math.abs(c.ood.distance - d) <= 1e-9 * Math.max(1, d), `${where}: OOD ${c.ood.distance} vs ${d}`);
          assert.equal(c.ood.outOfDistribution, expected.ood.outOfDistribution, `${where}: OOD flag`);
          assert.deepEqual(c.ood.outOfRange, expected.ood.outOfRange, `${where}: out of range`);
        }
        assert.equal(c.figo.classIndex, expected.figo.classIndex, `${where}: FIGO class`);
        assert.deepEqual(c.figo.flags, expected.figo.flags, `${where}: FIGO flags`);
        assert.deepEqual(stripKey(c.warnings), expected.warnings, `${where}: warnings`);
      }
      // The dataset is what the model was trained on: nearly every row must be classified.
      assert.ok(classified > 2000, `only ${classified} rows classified`);
    });

    test('classifyBatch() and predict(): same probabilities as native PredictBatch', () => {
      const expected = reference('predict-batch', '--model', file, '--input', DATASET).probabilities;
      const out = new Float32Array(table.rows * 3);
      const returned = model.classifyBatch(table.features, table.rows, out);
      assert.equal(returned, out, 'writes into the caller\'s buffer');
      assertClose(out, expected, PROBABILITY_TOLERANCE, 'batch');
      const single = new Float32Array(3);
      for (let r = 0; r < table.rows; r += 7) {
        model.predict(table.features.subarray(r * 21, (r + 1) * 21), single);
        assertClose(single, expected.slice(r * 3, r * 3 + 3), PROBABILITY_TOLERANCE, `predict row ${r}`);
      }
    });

    test('explainBatch(): the same contributions as classify() and native ExplainBatch, bit for bit', () => {
      const per = 3 * 22;
      const got = model.explainBatch(table.features, table.rows);
      assert.equal(got.length, table.rows * per);
      const expected = reference('explain-batch', '--model', file, '--input', DATASET).contributions;
      assert.deepEqual(Array.from(got), expected);
      for (let r = 0; r < table.rows; r += 97) {
        const c = model.classify(table.features.subarray(r * 21, (r + 1) * 21));
        if (c.ok) assert.deepEqual(Array.from(c.result.contributions), Array.from(got.subarray(r * per, (r + 1) * per)), `row ${r}`);
      }
    });

    test('missing values, infinities and -0: predictions and explanations are the native scalar code\'s bits', () => {
      const x = withSpecialValues(table.features);
      const dir = mkdtempSync(path.join(tmpdir(), 'fetal-wasm-special-'));
      try {
        const text = path.join(dir, 'exams.txt');
        const cell = (v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : String(v));
        const lines = [];
        for (let r = 0; r < table.rows; ++r) lines.push(Array.from(x.subarray(r * 21, (r + 1) * 21), cell).join(' '));
        writeFileSync(text, lines.join('\n') + '\n');
        const probabilities = scalarReference('predict-batch', '--model', file, '--exams', text).probabilities;
        const batch = model.classifyBatch(x, table.rows);
        assert.deepEqual(Array.from(batch), probabilities, 'special batch: the native scalar bits');
        const single = new Float32Array(3);
        for (let r = 0; r < table.rows; ++r) {
          model.predict(x.subarray(r * 21, (r + 1) * 21), single);
          assert.deepEqual(Array.from(single), Array.from(batch.subarray(r * 3, r * 3 + 3)), `row ${r}: predict vs batch`);
        }
        const contributions = scalarReference('explain-batch', '--model', file, '--exams', text).contributions;
        assert.deepEqual(Array.from(model.explainBatch(x, table.rows)), contributions);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('classifyBatch() of 1, 2, 3, 17, 64 and 65 exams gives each exam predict()\'s bits', () => {
      // Batches take exams in blocks of 64 and, for models deeper than 5, two at a time: sizes
      // that leave an odd exam, a partial block or a block and one exam over.
      const x = withSpecialValues(table.features);
      const single = new Float32Array(3);
      for (const n of [1, 2, 3, 17, 64, 65]) {
        for (const from of [0, 1001]) {
          const exams = x.subarray(from * 21, (from + n) * 21);
          const batch = model.classifyBatch(exams, n);
          for (let r = 0; r < n; ++r) {
            model.predict(exams.subarray(r * 21, (r + 1) * 21), single);
            assert.deepEqual(Array.from(single), Array.from(batch.subarray(r * 3, r * 3 + 3)), `${n} exams from row ${from}: exam ${r}`);
          }
        }
      }
    });

    test('classifyBatch() and predict() evaluate rows with missing values (NaN) as XGBoost does', () => {
      // Blank out cells (empty CSV cells are NaN) in a pattern that reaches every feature.
      const lines = csvText.trimEnd().split('\n');
      const header = lines[0];
      const rows = lines.slice(1, 400).map((line, r) => {
        const cells = line.split(',');
        cells[r % 21] = '';
        if (r % 3 === 0) cells[(r * 7 + 3) % 21] = '';
        return cells.join(',');
      });
      const dir = mkdtempSync(path.join(tmpdir(), 'fetal-wasm-nan-'));
      try {
        const file2 = path.join(dir, 'nan.csv');
        writeFileSync(file2, [header, ...rows].join('\n') + '\n');
        const parsed = runtime.parseCsv(readFileSync(file2, 'utf8'));
        assert.equal(parsed.rows, rows.length);
        assert.ok(parsed.features.some(Number.isNaN));
        const expected = reference('predict-batch', '--model', file, '--input', file2).probabilities;
        const got = model.classifyBatch(parsed.features);
        assertClose(got, expected, PROBABILITY_TOLERANCE, 'NaN batch');
        for (let i = 0; i < got.length; ++i) assert.ok(Number.isFinite(got[i]));
        // The single-exam kernels (another code path than the batch ones) on the same rows: native
        // probabilities, and bit for bit what the batch gave, since both sum leaves in tree order.
        const single = new Float32Array(3);
        for (let r = 0; r < parsed.rows; ++r) {
          model.predict(parsed.features.subarray(r * 21, (r + 1) * 21), single);
          assertClose(single, expected.slice(r * 3, r * 3 + 3), PROBABILITY_TOLERANCE, `NaN predict row ${r}`);
          assert.deepEqual(Array.from(single), Array.from(got.subarray(r * 3, r * 3 + 3)), `NaN row ${r}: predict vs batch`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
