// The size budget (WASM + glue <= 100 KB gzipped; wasm/README.md) and what the files may not
// contain.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { WASM_DIST } from './support.mjs';

const read = (name) => readFileSync(path.join(WASM_DIST, name));
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;

// 100 KB read the stricter way: 100,000 bytes.
test('fetal-core.wasm + its Emscripten glue stay within 100 KB gzipped', () => {
  const sizes = Object.fromEntries(['fetal-core.wasm', 'fetal-core.js', 'fetal.js'].map((f) => [f, gzip(read(f))]));
  const budgeted = sizes['fetal-core.wasm'] + sizes['fetal-core.js'];
  assert.ok(budgeted <= 100 * 1000, `gzipped sizes ${JSON.stringify(sizes)}: wasm + glue = ${budgeted} bytes`);
  // The hand-written wrapper is small source; the app bundler minifies it further.
  assert.ok(sizes['fetal.js'] <= 8 * 1024, `fetal.js is ${sizes['fetal.js']} bytes gzipped`);
});

test('the glue runs under a strict CSP: no eval or new Function', () => {
  const glue = read('fetal-core.js').toString('utf8') + read('fetal.js').toString('utf8');
  assert.doesNotMatch(glue, /\beval\s*\(/);
  assert.doesNotMatch(glue, /new\s+Function\s*\(/);
});

test('no threads and no shared memory: nothing needs COOP/COEP', () => {
  const glue = read('fetal-core.js').toString('utf8');
  assert.doesNotMatch(glue, /SharedArrayBuffer|new Worker\(/);
  assert.ok(WebAssembly.validate(read('fetal-core.wasm')));
});
