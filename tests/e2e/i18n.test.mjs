// The two languages of the web app stay complete. The type check already refuses a key one
// language has and the other lacks; this checks what it cannot: the same placeholders, a
// Portuguese name and help text for every feature of the schema, a text for every group and
// unit of the schema, and no Portuguese string left in English. Reads the TypeScript source and
// the built runtime's schema (web/dist/fetal.js) in Node; no browser.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { webRoot } from './helpers.mjs';
import { appSchema, languageFiles } from './strings.mjs';

describe('translations', () => {
  let D, schema;

  before(async () => {
    D = await languageFiles();
  });

  const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  test('English and Portuguese have the same keys and the same placeholders', () => {
    const en = D.en.strings, pt = D['pt-BR'].strings;
    assert.deepEqual(Object.keys(pt).sort(), Object.keys(en).sort());
    for (const key of Object.keys(en)) assert.deepEqual(placeholders(pt[key]), placeholders(en[key]), key);
  });

  test('Portuguese strings are translated (identical only where the word is the same)', () => {
    // Words that are the same in both languages, and formats with no words at all.
    const same = new Set(['Normal', 'bpm', 'bpm²', '%', 'FIGO', 'P(Normal)', 'OK', 'ECE', 'Id', 'Seq', 'Hash', '{n} bytes', 'v{stable} → v{candidate}',
      '{feature} − {reference}']);
    const untranslated = Object.entries(D['pt-BR'].strings)
      .filter(([key, v]) => v === D.en.strings[key] && !same.has(v))
      .map(([key]) => key);
    assert.deepEqual(untranslated, []);
  });

  describe('against the schema', { skip: existsSync(join(webRoot, 'fetal.js')) ? false : 'web/dist not built' }, () => {
    before(async () => {
      schema = await appSchema();
    });

    test('every feature has a Portuguese name and help text, and only the schema\'s features do', () => {
      const pt = D['pt-BR'].features;
      assert.deepEqual(Object.keys(pt).sort(), schema.map((f) => f.key).sort());
      for (const f of schema) {
        assert.ok(f.label && f.description, `the schema's English for ${f.key}`);
        assert.ok(pt[f.key].label && pt[f.key].description, f.key);
        assert.notEqual(pt[f.key].label, f.label, f.key);
        assert.notEqual(pt[f.key].description, f.description, f.key);
      }
      assert.deepEqual(D.en.features, {}, 'English names and help come from the schema');
    });

    test('every group and unit of the schema has a text', () => {
      for (const f of schema) {
        assert.ok(D.en.strings[`group.${f.group}`], `group.${f.group}`);
        assert.ok(D.en.strings[`group.${f.group}.help`], `group.${f.group}.help`);
        if (f.unit) assert.ok(D.en.strings[`unit.${f.unit}`], `unit.${f.unit}`);
      }
    });
  });
});
