// The runtime itself: loading the module in Node, the schema it reports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { DATASET, WASM_DIST, defaultModelPath, loadRuntime } from './support.mjs';

test('loadFetal() works with the .wasm bytes given, and reads them from disk by default in Node', async () => {
  const { loadFetal } = await import(pathToFileURL(path.join(WASM_DIST, 'fetal.js')).href);
  const a = await loadFetal({ wasmBinary: readFileSync(path.join(WASM_DIST, 'fetal-core.wasm')) });
  const b = await loadFetal();
  assert.deepEqual(a.schema(), b.schema());
  await assert.rejects(loadFetal({ wasmBinary: new Uint8Array([0, 1, 2, 3]) }));
});

test('loadFetal() takes a module compiled beforehand (or its promise) and only instantiates it', async () => {
  const { loadFetal } = await import(pathToFileURL(path.join(WASM_DIST, 'fetal.js')).href);
  const bytes = readFileSync(path.join(WASM_DIST, 'fetal-core.wasm'));
  const fromPromise = await loadFetal({ wasmModule: WebAssembly.compile(bytes) });
  const fromModule = await loadFetal({ wasmModule: await WebAssembly.compile(bytes) });
  assert.deepEqual(fromPromise.schema(), fromModule.schema());
  const bundle = readFileSync(defaultModelPath());
  const a = fromPromise.loadModel(bundle);
  const b = (await loadRuntime()).loadModel(bundle);
  assert.ok(a.ok && b.ok);
  const exam = [120, 0, 0, 0, 0, 0, 0, 73, 0.5, 43, 2.4, 64, 62, 126, 2, 0, 120, 137, 121, 73, 1];
  assert.deepEqual(a.model.predict(exam), b.model.predict(exam));
});

test('schema(): the 21 dataset columns in order, with units, groups and hard limits', async () => {
  const runtime = await loadRuntime();
  const schema = runtime.schema();
  const columns = readFileSync(DATASET, 'utf8').split('\n')[0].split(',');
  assert.equal(schema.length, 21);
  schema.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.equal(f.name, columns[i]);
    assert.match(f.key, /^[a-z_]+$/);
    assert.ok(['baseline', 'events', 'decelerations', 'variability', 'histogram'].includes(f.group), f.group);
    assert.ok(f.description.length > 10, f.key);
    assert.ok(f.label.length > 0 && f.label !== f.name, f.key);
    assert.equal(typeof f.unit, 'string');
    assert.equal(typeof f.integer, 'boolean');
    assert.ok(f.hardMin === null || f.hardMax === null || f.hardMin < f.hardMax, f.key);
  });
  assert.ok(Object.isFrozen(schema) && Object.isFrozen(schema[0]));
  assert.equal(runtime.schema(), schema, 'the same array every call');
  assert.deepEqual(runtime.classNames, ['Normal', 'Suspect', 'Pathological']);
  // Event rates are per second: a count such as 5 accelerations is over the hard limit.
  assert.ok(schema.find((f) => f.key === 'accelerations').hardMax < 1);
});
