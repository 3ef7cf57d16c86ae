// Every validator rule returns, through the wasm API, exactly the findings the native library
// returns (same feature, rule, severity, value, message, expected form and bounds).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DATASET, defaultModelPath, loadRuntime, num, reference } from './support.mjs';

// The rule ids the validator documents (model/include/fetal/validator.h, docs/features.md).
const RULES = [
  'not_finite', 'below_min', 'above_max', 'not_integer', 'tendency_set', 'min_at_most_max',
  'width_is_max_minus_min', 'mode_within_min_max', 'median_within_min_max',
  'variance_within_width', 'outside_training_range',
];

const runtime = await loadRuntime();
const schema = runtime.schema();
const index = Object.fromEntries(schema.map((f) => [f.key, f.index]));
const table = runtime.parseCsv(readFileSync(DATASET, 'utf8'));
const base = Array.from(table.features.subarray(21, 42));  // dataset line 3, a valid exam

function withValues(changes) {
  const exam = base.slice();
  for (const [key, value] of Object.entries(changes)) exam[index[key]] = value;
  return exam;
}

// Cases: [description, exam, the rule that must fire, the feature it must name].
function buildCases(trainingRange) {
  const cases = [];
  for (const f of schema) {
    cases.push([`${f.key} NaN`, withValues({ [f.key]: NaN }), 'not_finite', f.index]);
    cases.push([`${f.key} +inf`, withValues({ [f.key]: Infinity }), 'not_finite', f.index]);
    cases.push([`${f.key} -inf`, withValues({ [f.key]: -Infinity }), 'not_finite', f.index]);
    if (f.key === 'histogram_tendency') continue;  // its own rule below
    if (f.hardMin !== null) {
      const below = f.hardMin - Math.max(1, Math.abs(f.hardMin) * 0.5);
      cases.push([`${f.key} below hard min`, withValues({ [f.key]: below }), 'below_min', f.index]);
    }
    if (f.hardMax !== null) {
      const above = f.hardMax + Math.max(1, Math.abs(f.hardMax) * 0.5);
      cases.push([`${f.key} above hard max`, withValues({ [f.key]: above }), 'above_max', f.index]);
    }
    if (f.integer) {
      cases.push([`${f.key} fractional`, withValues({ [f.key]: base[f.index] + 0.5 }), 'not_integer', f.index]);
    }
    // Inside the hard limits, outside what the model was trained on: a warning, not an error.
    const tmax = trainingRange.max[f.index];
    const step = f.integer ? 1 : Math.max(1e-3, Math.abs(tmax) * 0.01);
    if (f.hardMax === null || tmax + step <= f.hardMax) {
      const exam = withValues({ [f.key]: tmax + step });
      cases.push([`${f.key} above training max`, exam, 'outside_training_range', f.index]);
    }
  }
  const min = base[index.histogram_min];
  const max = base[index.histogram_max];
  const width = base[index.histogram_width];
  cases.push(['event rate entered as a count', withValues({ accelerations: 5 }), 'above_max', index.accelerations]);
  cases.push(['event rate above 1/15 per second', withValues({ uterine_contractions: 0.1 }), 'above_max', index.uterine_contractions]);
  cases.push(['prolonged decelerations above 1/120 per second', withValues({ prolongued_decelerations: 0.01 }), 'above_max', index.prolongued_decelerations]);
  cases.push(['tendency 0.5', withValues({ histogram_tendency: 0.5 }), 'tendency_set', index.histogram_tendency]);
  cases.push(['tendency 2', withValues({ histogram_tendency: 2 }), 'tendency_set', index.histogram_tendency]);
  cases.push(['width is not max - min', withValues({ histogram_width: width + 10 }), 'width_is_max_minus_min', index.histogram_width]);
  cases.push(['min above max', withValues({ histogram_min: max + 5, histogram_max: min, histogram_width: min - max - 5 }), 'min_at_most_max', index.histogram_min]);
  cases.push(['mode above max', withValues({ histogram_mode: max + 5 }), 'mode_within_min_max', index.histogram_mode]);
  cases.push(['median below min', withValues({ histogram_median: min - 5 }), 'median_within_min_max', index.histogram_median]);
  cases.push(['variance too large for the width', withValues({ histogram_variance: (width / 2) ** 2 + 50 }), 'variance_within_width', index.histogram_variance]);
  cases.push(['a valid exam', base.slice(), null, -1]);
  return cases;
}

describe('validator parity with native', () => {
  let model;
  let cases;
  let native;
  let dir;
  before(() => {
    const loaded = runtime.loadModel(readFileSync(defaultModelPath()));
    assert.ok(loaded.ok, JSON.stringify(loaded.error));
    model = loaded.model;
    cases = buildCases(model.info().trainingRange);
    dir = mkdtempSync(path.join(tmpdir(), 'fetal-wasm-validate-'));
    const file = path.join(dir, 'exams.txt');
    // strtod syntax: String() of NaN / Infinity is what strtod reads.
    writeFileSync(file, cases.map(([, exam]) => exam.map(String).join(' ')).join('\n') + '\n');
    native = reference('validate', '--model', defaultModelPath(), '--exams', file);
    assert.equal(native.withModel.length, cases.length);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    model?.dispose();
  });

  test('each case fires its rule on its feature, with the same findings as native', () => {
    cases.forEach(([what, exam, rule, feature], i) => {
      const withModel = runtime.validate(exam, model);
      const withoutModel = runtime.validate(exam);
      for (const [got, expected] of [[withModel, native.withModel[i]], [withoutModel, native.withoutModel[i]]]) {
        assert.equal(got.length, expected.length, `${what}: ${JSON.stringify(got)} vs native ${JSON.stringify(expected)}`);
        got.forEach((g, k) => {
          const e = expected[k];
          assert.equal(g.key, schema[g.feature]?.key ?? '', `${what}: key`);
          const { key, value, ...rest } = g;
          const { value: expectedValue, ...expectedRest } = e;
          assert.deepEqual(rest, expectedRest, `${what}: finding ${k}`);
          assert.ok(Object.is(value, num(expectedValue)), `${what}: value ${value} vs ${expectedValue}`);
        });
      }
      if (rule === null) {
        assert.deepEqual(withModel, [], `${what}: a valid exam has no findings`);
        return;
      }
      const fired = withModel.find((f) => f.rule === rule && f.feature === feature);
      assert.ok(fired, `${what}: expected rule ${rule} on ${schema[feature].key}, got ${JSON.stringify(withModel)}`);
      assert.equal(fired.severity, rule === 'outside_training_range' ? 'warning' : 'error');
      assert.match(fired.message, /\S/, `${what}: message`);
      assert.match(fired.expected, /\S/, `${what}: expected form`);
      if (rule === 'outside_training_range') {
        assert.equal(withoutModel.some((f) => f.rule === rule), false, 'no training-range warnings without a model');
      }
    });
  });

  test('every documented rule is exercised', () => {
    const seen = new Set();
    for (const [, exam] of cases) for (const f of runtime.validate(exam, model)) seen.add(f.rule);
    for (const rule of RULES) assert.ok(seen.has(rule), `rule ${rule} never fired`);
  });

  test('classify() refuses an invalid exam with the same findings, as a value', () => {
    for (const [what, exam, rule] of cases) {
      const findings = runtime.validate(exam, model);
      const outcome = model.classify(exam);
      const hasError = findings.some((f) => f.severity === 'error');
      assert.equal(outcome.ok, !hasError, what);
      if (!outcome.ok) {
        assert.deepEqual(outcome.findings, findings, what);
      } else if (rule === 'outside_training_range') {
        assert.deepEqual(outcome.result.warnings, findings, `${what}: warnings travel with the result`);
        assert.ok(outcome.result.ood.outOfRange.length > 0, `${what}: listed as out of range`);
      }
    }
  });

  test('validateBatch() flags exactly the exams with errors', () => {
    const flat = new Float32Array(cases.length * 21);
    cases.forEach(([, exam], i) => flat.set(exam, i * 21));
    const flags = model.validateBatch(flat, cases.length);
    cases.forEach(([what, exam], i) => {
      const hasError = runtime.validate(exam).some((f) => f.severity === 'error');
      assert.equal(flags[i], hasError ? 1 : 0, what);
    });
  });
});
