// The two languages of the web app stay complete: the same keys, the same placeholders, a
// Portuguese name and help text for every feature of the dataset, and no Portuguese string left
// in English. Runs on the TypeScript source (bundled with esbuild), no browser needed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { dataset, repo } from './helpers.mjs';

describe('translations', () => {
  let D;

  before(async () => {
    const out = await build({ entryPoints: [join(repo, 'web/src/i18n.ts')], bundle: true, format: 'esm', write: false, logLevel: 'silent' });
    const mod = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
    D = mod.DICTIONARIES;
  });

  const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  test('English and Portuguese have the same keys and the same placeholders', () => {
    const en = D.strings.en, pt = D.strings['pt-BR'];
    assert.deepEqual(Object.keys(pt).sort(), Object.keys(en).sort());
    for (const key of Object.keys(en)) assert.deepEqual(placeholders(pt[key]), placeholders(en[key]), key);
  });

  test('every dataset feature has a name and help text in both languages', () => {
    const header = readFileSync(dataset, 'utf8').split(/\r?\n/)[0].split(',').slice(0, 21);
    const keys = header.map((name) => name.replace(/ /g, '_'));
    for (const lang of ['en', 'pt-BR']) {
      for (const key of keys) {
        assert.ok(D.features[lang][key]?.name && D.features[lang][key]?.help, `${lang}: ${key}`);
      }
    }
  });

  test('Portuguese strings are translated (identical only where the word is the same)', () => {
    const same = new Set(['Normal', 'bpm', 'bpm²', '%', '', 'FIGO', 'P(Normal)']);
    const untranslated = Object.entries(D.strings['pt-BR'])
      .filter(([key, v]) => v === D.strings.en[key] && !same.has(v))
      .map(([key]) => key);
    assert.deepEqual(untranslated, []);
  });
});
