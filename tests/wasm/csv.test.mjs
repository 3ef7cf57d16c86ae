// parseCsv() through the wasm API: the dataset reads in full, and bad files give errors that
// name the line, column, field and rule id (with its arguments) while the readable rows still
// come back.
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
    assert.equal(t.headerOk, true);
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
    assert.equal(e.rule, 'not_a_number');
    assert.equal(e.value, 'abc');
    assert.equal(e.message, 'expected a number, got "abc"');
    assert.deepEqual(Array.from(t.lines), [2, 3, 5, 6]);
  });

  test('a row with the wrong number of cells is an error about the whole row', () => {
    const t = runtime.parseCsv([header, body[0], '1,2,3', body[1]].join('\n'));
    assert.equal(t.rows, 2);
    assert.equal(t.errors.length, 1);
    assert.equal(t.errors[0].line, 3);
    assert.equal(t.errors[0].column, 0);
    assert.equal(t.errors[0].rule, 'wrong_cell_count');
    assert.equal(t.errors[0].cells, 3);
    assert.equal(t.errors[0].headerCells, 22);
    assert.match(t.errors[0].message, /3 cells but the header has 22 columns/);
  });

  test('a decimal comma and a bad label have rules of their own; long cells are cut', () => {
    const cells = body[0].split(',');
    cells[1] = '"0,006"';
    const comma = cells.join(',');
    const label = [...body[1].split(',').slice(0, 21), '7'].join(',');
    const long = body[2].replace(/^[^,]*/, 'é'.repeat(30));
    const t = runtime.parseCsv([header, comma, label, long].join('\n'));
    assert.equal(t.rows, 0);
    assert.deepEqual(t.errors.map((e) => [e.line, e.rule, e.value]), [
      [2, 'decimal_comma', '0,006'],
      [3, 'bad_label', '7'],
      [4, 'not_a_number', `${'é'.repeat(20)}...`],  // 40 bytes, never half a character
    ]);
    assert.equal(t.errors[1].field, 'fetal_health');
  });

  test('empty cells are missing values (NaN), not errors', () => {
    const cells = body[0].split(',');
    cells[2] = '';
    const t = runtime.parseCsv([header, cells.join(',')].join('\n'));
    assert.equal(t.rows, 1);
    assert.deepEqual(t.errors, []);
    assert.ok(Number.isNaN(t.features[2]));
  });

  test('a header without feature columns: one missing_column error per absent feature, no rows', () => {
    const t = runtime.parseCsv('baseline value,foo\n120,1\n');
    assert.equal(t.rows, 0);
    assert.equal(t.headerOk, false);
    const names = runtime.schema().map((f) => f.name);
    assert.deepEqual(t.errors.map((e) => e.field), names.slice(1));
    for (const e of t.errors) {
      assert.equal(e.line, 1);
      assert.equal(e.rule, 'missing_column');
      assert.equal(e.message, `the header lacks the feature column "${e.field}"`);
    }
    const empty = runtime.parseCsv('');
    assert.equal(empty.rows, 0);
    assert.equal(empty.headerOk, false);
    assert.deepEqual(empty.errors.map((e) => [e.line, e.rule]), [[1, 'empty_file']]);
  });

  test('a column named twice: duplicate_column with both columns', () => {
    const t = runtime.parseCsv(`${header},Accelerations\n`);
    assert.equal(t.headerOk, false);
    assert.equal(t.errors.length, 1);
    const e = t.errors[0];
    assert.deepEqual([e.rule, e.field, e.column, e.firstColumn], ['duplicate_column', 'Accelerations', 23, 2]);
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
      for (const e of t.errors) {
        assert.ok(e.line >= 1 && typeof e.message === 'string' && e.message.length > 0);
        assert.match(e.rule, /^[a-z_]+$/);
      }
    }
    assert.equal(runtime.parseCsv(good).rows, 5, 'the module still works');
  });

  test('rejects what is neither text nor bytes', () => {
    assert.throws(() => runtime.parseCsv(42), TypeError);
  });
});
