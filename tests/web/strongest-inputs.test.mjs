// The pick of the contributions the exam result and each batch row show (web/src/format.ts,
// strongestInputs): the n model inputs with the largest contributions by magnitude, largest first,
// those that contribute nothing left out.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadWebModule } from './load.mjs';

let format;
before(async () => {
  format = await loadWebModule('format.ts');
});

describe('strongest inputs', () => {
  test('by magnitude, largest first, whatever their sign', () => {
    const values = Float32Array.from([0.1, -0.9, 0.5, -0.3, 0.7]);
    assert.deepEqual(format.strongestInputs(values, 3), [1, 4, 2]);
    assert.deepEqual(format.strongestInputs(values, 5), [1, 4, 2, 3, 0]);
  });

  test('inputs that contribute nothing are left out, even with room to spare', () => {
    assert.deepEqual(format.strongestInputs([0, -0.2, 0, 0.4, -0], 8), [3, 1]);
    assert.deepEqual(format.strongestInputs([0, 0, 0], 3), []);
  });

  test('equal magnitudes keep the inputs in their order', () => {
    assert.deepEqual(format.strongestInputs([0.25, -0.5, -0.25, 0.5], 4), [1, 3, 0, 2]);
  });
});
