// parseCsv() through the wasm API: the dataset reads in full, and bad files give errors that
// name the line, column and field while the readable rows still come back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { DATASET, loadRuntime } from './support.mjs';

const runtime = await loadRuntime();
const datasetText = readFileSync(DATASET, 'utf8');
const datasetLines = datasetText.trimEnd().split('\n');
const header = datasetLines[0];
const body = datasetLines.slice(1, 6);

describe('parseCsv()', () => {
  test('reads all 2126 dataset rows with features, labels and source lines', () => {
    const t = runtime.parseCsv(datasetText);
    assert.equal(t.rows, 2126);
    assert.deepEqual(t.errors, []);
    assert.equal(t.hasLabels, true);
    assert.equal(t.features.length, 2126 * 21);
    for (const r of [0, 1, 1000, 2125]) {
      const cells = datasetLines[r + 1].split(',').map(Number);
      assert.deepEqual(Array.from(t.features.subarray(r * 21, (r + 1) * 21)), Array.from(Float32Array.from(cells.slice(0, 21))));
      assert.equal(t.labels[r], cells[21] - 1, 'labels 1..3 become classes 0..2');
      assert.equal(t.lines[r], r + 2, 'the header is line 1');
    }
  });

  test('UTF-8 bytes, CRLF line ends and a byte-order mark read the same as plain text', () => {
    const plain = runtime.parseCsv([header, ...body].join('\n'));
    const crlf = runtime.parseCsv('\ufeff' + [header, ...body].join('\r\n') + '\r\n');
    const bytes = runtime.parseCsv(new TextEncoder().encode([header, ...body].join('\n')));
    for (const other of [crlf, bytes]) {
      assert.equal(other.rows, 5);
      assert.deepEqual(other.errors, []);
      assert.deepEqual(Array.from(other.features), Array.from(plain.features));
    }
  });

  test('columns in any order, keys instead of names, no label column', () => {
    const names = header.split(',').slice(0, 21);
    const schema = runtime.schema();
    const order = names.map((_, i) => 20 - i);
    const keyed = [order.map((i) => schema[i].key).join(',')];
    for (const line of body) {
      const cells = line.split(',');
      keyed.push(order.map((i) => cells[i]).join(','));
    }
    const t = runtime.parseCsv(keyed.join('\n'));
    assert.equal(t.rows, 5);
    assert.equal(t.hasLabels, false);
    assert.deepEqual(Array.from(t.labels), [-1, -1, -1, -1, -1]);
    const plain = runtime.parseCsv([header, ...body].join('\n'));
    assert.deepEqual(Array.from(t.features), Array.from(plain.features));
  });

  test('a bad cell is reported by line, column and field; the other rows are kept', () => {
    const lines = [header, ...body];
    const cells = lines[3].split(',');
    cells[11] = 'abc';  // histogram_width, line 4
    lines[3] = cells.join(',');
    const t = runtime.parseCsv(lines.join('\n'));
    assert.equal(t.rows, 4);
    assert.equal(t.errors.length, 1);
    const e = t.errors[0];
    assert.equal(e.line, 4);
    assert.equal(e.column, 12);
    assert.equal(e.field, 'histogram_width');
    assert.match(e.message, /abc/);
    assert.deepEqual(Array.from(t.lines), [2, 3, 5, 6]);
  });

  test('a row with the wrong number of cells is an error about the whole row', () => {
    const t = runtime.parseCsv([header, body[0], '1,2,3', body[1]].join('\n'));
    assert.equal(t.rows, 2);
    assert.equal(t.errors.length, 1);
    assert.equal(t.errors[0].line, 3);
    assert.match(t.errors[0].message, /\S/);
  });

  test('empty cells are missing values (NaN), not errors', () => {
    const cells = body[0].split(',');
    cells[2] = '';
    const t = runtime.parseCsv([header, cells.join(',')].join('\n'));
    assert.equal(t.rows, 1);
    assert.deepEqual(t.errors, []);
    assert.ok(Number.isNaN(t.features[2]));
  });

  test('a header without the feature columns: one error on line 1 naming a missing column', () => {
    const t = runtime.parseCsv('baseline value,foo\n120,1\n');
    assert.equal(t.rows, 0);
    assert.equal(t.errors.length, 1);
    assert.equal(t.errors[0].line, 1);
    assert.match(t.errors[0].message, /accelerations/);
    assert.equal(runtime.parseCsv('').rows, 0);
    assert.equal(runtime.parseCsv('').errors.length, 1);
  });

  test('random damage to the bytes never throws or aborts: errors come back as values', () => {
    const good = new TextEncoder().encode([header, ...body].join('\n'));
    const alphabet = [0x22, 0x2c, 0x0a, 0x0d, 0x2d, 0x2e, 0x45, 0x00, 0xff, 0xc3, 0x20, 0x31];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 300; ++k) {
      const bad = good.slice();
      for (let m = 0; m < 1 + (k % 8); ++m) {
        bad[Math.floor(random() * bad.length)] = alphabet[Math.floor(random() * alphabet.length)];
      }
      const t = runtime.parseCsv(bad);
      assert.equal(t.features.length, t.rows * 21);
      assert.ok(t.rows + t.errors.length >= 1, 'every row is either read or reported');
      for (const e of t.errors) assert.ok(e.line >= 1 && typeof e.message === 'string' && e.message.length > 0);
    }
    assert.equal(runtime.parseCsv(good).rows, 5, 'the module still works');
  });

  test('rejects what is neither text nor bytes', () => {
    assert.throws(() => runtime.parseCsv(42), TypeError);
  });
});
