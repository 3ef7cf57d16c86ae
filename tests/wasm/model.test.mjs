// Loading bundles through the wasm API: bad bytes come back as {ok:false} (never an abort), and
// a loaded model's metadata, outputs and lifetime behave as fetal.d.ts promises.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import { DATASET, defaultModelPath, loadRuntime, modelPaths } from './support.mjs';

const runtime = await loadRuntime();
const table = runtime.parseCsv(readFileSync(DATASET, 'utf8'));
const exam = (r) => table.features.slice(r * 21, (r + 1) * 21);

describe('loadModel() with bad bytes', () => {
  let good;
  before(() => {
    good = new Uint8Array(readFileSync(defaultModelPath()));
  });

  function expectRefused(bytes, code, messagePattern) {
    const outcome = runtime.loadModel(bytes);
    assert.equal(outcome.ok, false, 'refused');
    assert.equal(outcome.error.code, code, outcome.error.message);
    assert.match(outcome.error.message, messagePattern);
    return outcome;
  }

  test('empty input', () => {
    expectRefused(new Uint8Array(0), 'invalid_argument', /empty/);
  });

  test('not a bundle at all', () => {
    expectRefused(new TextEncoder().encode('{"learner": {}}'), 'corruption', /FHMB|bundle/);
    const random = new Uint8Array(4096);
    for (let i = 0; i < random.length; ++i) random[i] = (i * 2654435761) >>> 24;
    expectRefused(random, 'corruption', /./);
  });

  test('truncated anywhere', () => {
    for (const size of [1, 4, 19, 20, 64, Math.floor(good.length / 2), good.length - 33, good.length - 1]) {
      expectRefused(good.slice(0, size), 'corruption', /./);
    }
  });

  test('one flipped byte in the content fails the content hash', () => {
    for (const at of [100, Math.floor(good.length / 2), good.length - 40]) {
      const bad = good.slice();
      bad[at] ^= 0x10;
      expectRefused(bad, 'corruption', /hash|corrupt|invalid/i);
    }
  });

  test('an unsupported format version', () => {
    const bad = good.slice();
    bad[4] = 99;  // the u32 format version after the magic
    expectRefused(bad, 'unsupported', /version/);
  });

  test('random damage anywhere, including huge counts in the prefix, never aborts the module', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 300; ++k) {
      const bad = good.slice();
      const at = k < 40 ? 4 + (k % 16) : Math.floor(random() * bad.length);  // prefix fields first
      bad[at] = k < 40 ? 0xff : (bad[at] + 1 + Math.floor(random() * 255)) & 0xff;
      const outcome = runtime.loadModel(bad);
      assert.equal(outcome.ok, false, `byte ${at} changed`);
      assert.ok(['corruption', 'unsupported', 'invalid_argument'].includes(outcome.error.code), outcome.error.code);
    }
    for (let k = 0; k < 60; ++k) {
      const outcome = runtime.loadModel(good.slice(0, Math.floor(random() * good.length)));
      assert.equal(outcome.ok, false);
    }
    const loaded = runtime.loadModel(good);
    assert.ok(loaded.ok, 'the module still works');
    loaded.model.dispose();
  });

  test('not bytes at all', () => {
    assert.equal(runtime.loadModel('a string').ok, false);
    assert.equal(runtime.loadModel(null).ok, false);
  });

  test('the runtime still works after every refusal', () => {
    const loaded = runtime.loadModel(good);
    assert.ok(loaded.ok);
    assert.equal(loaded.model.classify(exam(0)).ok, true);
    loaded.model.dispose();
  });

  test('an ArrayBuffer is accepted as well as a Uint8Array', () => {
    const loaded = runtime.loadModel(good.slice().buffer);
    assert.ok(loaded.ok);
    loaded.model.dispose();
  });
});

describe('loadModelAsync(): the content hash compared by WebCrypto', () => {
  let good;
  before(() => {
    good = new Uint8Array(readFileSync(defaultModelPath()));
  });

  test('loads the same model as loadModel()', async () => {
    const viaWasm = runtime.loadModel(good);
    const viaCrypto = await runtime.loadModelAsync(good.slice().buffer);
    assert.ok(viaWasm.ok && viaCrypto.ok);
    assert.deepEqual(viaCrypto.model.info(), viaWasm.model.info());
    const out = new Float32Array(3);
    const expected = new Float32Array(3);
    for (let i = 0; i < 50; ++i) {
      viaWasm.model.predict(exam(i), expected);
      viaCrypto.model.predict(exam(i), out);
      assert.deepEqual(out, expected);
    }
    viaWasm.model.dispose();
    viaCrypto.model.dispose();
  });

  test('a changed byte is still refused, with the module\'s hash message', async () => {
    const bad = good.slice();
    bad[bad.length - 100] ^= 0x40;
    const outcome = await runtime.loadModelAsync(bad);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error.code, 'corruption');
    assert.match(outcome.error.message, /content hash mismatch/);
  });

  test('a matching hash does not skip the structural checks', async () => {
    // Corrupt the prefix's leaf count, then re-seal the trailer so the hash matches.
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(20, 0xffff, true);
    const content = bad.subarray(0, bad.length - 32);
    bad.set(new Uint8Array(await crypto.subtle.digest('SHA-256', content)), bad.length - 32);
    const outcome = await runtime.loadModelAsync(bad);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error.code, 'corruption');
    assert.doesNotMatch(outcome.error.message, /hash/);
  });

  test('bad input is a value, not a throw', async () => {
    assert.equal((await runtime.loadModelAsync(new Uint8Array(0))).ok, false);
    assert.equal((await runtime.loadModelAsync('a string')).ok, false);
  });
});

for (const { name, file } of modelPaths()) {
  describe(`a loaded model: ${name}`, () => {
    let bytes;
    let model;
    before(() => {
      bytes = new Uint8Array(readFileSync(file));
      const loaded = runtime.loadModel(bytes);
      assert.ok(loaded.ok);
      model = loaded.model;
    });

    test('info() describes the bundle', () => {
      const info = model.info();
      // The content hash is the SHA-256 the bundle ends with, of everything before it.
      const content = bytes.subarray(0, bytes.length - 32);
      assert.equal(info.hash, createHash('sha256').update(content).digest('hex'));
      assert.equal(info.hash, Buffer.from(bytes.subarray(bytes.length - 32)).toString('hex'));
      assert.deepEqual(info.classNames, ['Normal', 'Suspect', 'Pathological']);
      assert.ok(Number.isInteger(info.version) && info.version >= 1);
      assert.ok(info.numTrees > 0 && info.numTrees % 3 === 0);
      assert.ok(info.temperature > 0);
      assert.match(info.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(info.trainingDataSha256, /^[0-9a-f]{64}$/);
      assert.equal(info.trainingDataSha256, createHash('sha256').update(readFileSync(DATASET)).digest('hex'));
      assert.ok(info.figoRuleset.length > 0);
      assert.equal(info.trainingRange.min.length, 21);
      assert.equal(info.trainingRange.max.length, 21);
      for (let i = 0; i < 21; ++i) assert.ok(info.trainingRange.min[i] <= info.trainingRange.max[i]);
      assert.ok(info.oodThreshold > 0);
      assert.equal(info.metrics.recall.length, 3);
      assert.ok(Object.isFrozen(info), 'info is immutable');
      // The header's numbers as the wasm build read them (its own decimal conversion for short
      // numbers, musl's strtod for the rest) are the doubles V8's JSON.parse reads: bit for bit.
      const header = JSON.parse(Buffer.from(bytes.subarray(28, 28 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true))).toString('utf8'));
      assert.equal(info.temperature, header.temperature);
      assert.deepEqual(info.baseScore, header.base_score.map(Math.fround));
      assert.deepEqual(info.trainingRange.min, header.training_range.min.map(Math.fround));
      assert.deepEqual(info.trainingRange.max, header.training_range.max.map(Math.fround));
      for (const [key, field] of [['accuracy', 'accuracy'], ['macroF1', 'macro_f1'], ['balancedAccuracy', 'balanced_accuracy'],
        ['logLoss', 'log_loss'], ['brier', 'brier'], ['ece', 'ece'], ['recall', 'recall']]) {
        assert.deepEqual(info.metrics[key], header.metrics[field], key);
      }
      assert.equal(info.oodThreshold, header.ood.threshold);
      assert.equal(info.setLevel, header.sections?.conformal?.level ?? 0);
      if (name === 'default') {
        assert.equal(info.source, 'fetal-model train');
        assert.ok(info.metrics.splits > 0 && info.metrics.accuracy > 0.9, JSON.stringify(info.metrics));
      } else {
        assert.equal(info.source, 'xgboost-import');
        assert.equal(info.numTrees, 600);
      }
    });

    test('probabilities are calibrated softmax(margin / temperature) and explanations sum to the margins', () => {
      const t = model.info().temperature;
      for (let r = 0; r < table.rows; r += 53) {
        const outcome = model.classify(exam(r));
        if (!outcome.ok) continue;
        const c = outcome.result;
        const z = c.margins.map((m) => Math.exp(m / t));
        const sum = z.reduce((a, b) => a + b, 0);
        z.forEach((v, k) => assert.ok(Math.abs(v / sum - c.probabilities[k]) < 1e-5, `row ${r} class ${k}`));
        assert.ok(Math.abs(c.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
        assert.equal(c.className, runtime.classNames[c.classIndex]);
        assert.equal(c.classIndex, c.probabilities.indexOf(Math.max(...c.probabilities)));
        assert.ok(c.contributions instanceof Float32Array && c.contributions.length === 66);
        for (let k = 0; k < 3; ++k) {
          let s = 0;
          for (let j = 0; j < 22; ++j) s += c.contributions[k * 22 + j];
          assert.ok(Math.abs(s - c.margins[k]) < 1e-3 * Math.max(1, Math.abs(c.margins[k])), `row ${r}: contributions of class ${k} sum to ${s}, margin ${c.margins[k]}`);
        }
        assert.ok(['Normal', 'Suspicious', 'Pathological'].includes(c.figo.className));
        assert.equal(c.figo.ruleset, model.info().figoRuleset);
        assert.equal(c.ood.threshold, model.info().oodThreshold);
        assert.equal(c.ood.outOfDistribution, c.ood.distance > c.ood.threshold);
      }
    });

    test('classifyBatch() reuses the caller\'s buffer, handles batches larger than one chunk', () => {
      const n = 70000;  // more than the wrapper's 65536-exam chunk
      const features = new Float32Array(n * 21);
      for (let i = 0; i < n; ++i) features.set(table.features.subarray((i % table.rows) * 21, (i % table.rows + 1) * 21), i * 21);
      const out = model.classifyBatch(features, n);
      assert.equal(out.length, n * 3);
      const single = new Float32Array(3);
      for (const i of [0, 1, 65535, 65536, 65537, n - 1]) {
        model.predict(features.subarray(i * 21, (i + 1) * 21), single);
        assert.deepEqual(Array.from(out.subarray(i * 3, i * 3 + 3)), Array.from(single), `exam ${i}`);
      }
      const again = model.classifyBatch(features.subarray(0, 10 * 21), 10, out);
      assert.equal(again, out);
      assert.throws(() => model.classifyBatch(features, n, new Float32Array(5)), TypeError);
      assert.throws(() => model.classifyBatch(features, n + 1), TypeError);
      assert.equal(model.classifyBatch(new Float32Array(0), 0).length, 0);
    });

    test('predict() accepts plain arrays and typed arrays alike', () => {
      const typed = model.predict(exam(5));
      const plain = model.predict(Array.from(exam(5)));
      assert.deepEqual(Array.from(plain), Array.from(typed));
    });
  });
}

describe('model lifetime and API misuse', () => {
  test('a disposed model refuses further calls; the runtime goes on', () => {
    const loaded = runtime.loadModel(readFileSync(defaultModelPath()));
    const model = loaded.model;
    model.dispose();
    assert.equal(model.disposed, true);
    assert.throws(() => model.classify(exam(0)), /disposed/);
    assert.throws(() => model.classifyBatch(table.features), /disposed/);
    assert.throws(() => runtime.validate(exam(0), model), TypeError);
    model.dispose();  // idempotent
    assert.deepEqual(runtime.validate(exam(0)), []);
  });

  test('a wrong number of features is a TypeError, not an abort', () => {
    const { model } = runtime.loadModel(readFileSync(defaultModelPath()));
    assert.throws(() => model.classify([1, 2, 3]), TypeError);
    assert.throws(() => runtime.validate(new Float32Array(22)), TypeError);
    assert.throws(() => model.predict(undefined), TypeError);
    assert.equal(model.classify(exam(0)).ok, true);
    model.dispose();
  });

  test('loading and disposing many models does not grow memory without bound', () => {
    const bytes = readFileSync(defaultModelPath());
    for (let i = 0; i < 5; ++i) runtime.loadModel(bytes).model.dispose();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 40; ++i) {
      const { model } = runtime.loadModel(bytes);
      model.classifyBatch(table.features);
      model.dispose();
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 16 << 20, `wasm memory grew by ${grown} bytes over 40 load/dispose cycles`);
  });
});
