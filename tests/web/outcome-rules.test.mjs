// The outcome form's checks (web/src/outcome-rules.ts) against the ranges of the outcome API:
// final reading one of three classes; 5-minute Apgar a whole number 0-10; umbilical artery pH
// 6.5-7.8; base deficit -5-30 mmol/L; NICU admission yes/no or not given. Limits are inclusive.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadWebModule } from './load.mjs';

let rules;
before(async () => {
  rules = await loadWebModule('outcome-rules.ts');
});

const blank = { final_reading: '', apgar_5min: '', umbilical_ph: '', base_deficit: '', nicu_admission: '' };
const problems = (input) => rules.validateOutcome({ ...blank, ...input }).problems.map((p) => `${p.field}:${p.rule}`);

describe('outcome form checks', () => {
  test('the final reading is required and must be a class name', () => {
    assert.deepEqual(problems({}), ['final_reading:required']);
    assert.deepEqual(problems({ final_reading: 'normal' }), ['final_reading:enum']);
    for (const r of ['Normal', 'Suspect', 'Pathological']) assert.deepEqual(problems({ final_reading: r }), []);
  });

  test('only the final reading: the body has nothing else', () => {
    assert.deepEqual(rules.validateOutcome({ ...blank, final_reading: 'Suspect' }).body, { final_reading: 'Suspect' });
  });

  test('each limit is inclusive, and one step beyond it is refused', () => {
    const cases = [
      ['apgar_5min', ['0', '10'], ['-1', '11']],
      ['umbilical_ph', ['6.5', '7.8', '7,25'], ['6.49', '7.81']],
      ['base_deficit', ['-5', '30', '−5', '0'], ['-5.01', '30.1']],
    ];
    for (const [field, good, bad] of cases) {
      for (const v of good) assert.deepEqual(problems({ final_reading: 'Normal', [field]: v }), [], `${field}=${v}`);
      for (const v of bad) assert.deepEqual(problems({ final_reading: 'Normal', [field]: v }), [`${field}:range`], `${field}=${v}`);
    }
  });

  test('Apgar must be whole; text is not a number', () => {
    assert.deepEqual(problems({ final_reading: 'Normal', apgar_5min: '7.5' }), ['apgar_5min:integer']);
    assert.deepEqual(problems({ final_reading: 'Normal', umbilical_ph: 'seven' }), ['umbilical_ph:number']);
    assert.deepEqual(problems({ final_reading: 'Normal', base_deficit: '1e' }), ['base_deficit:number']);
  });

  test('a full outcome becomes the JSON body of the contract, decimal commas read', () => {
    const { body, problems: p } = rules.validateOutcome({
      final_reading: 'Pathological', apgar_5min: '6', umbilical_ph: '7,05', base_deficit: '12.4', nicu_admission: 'yes',
    });
    assert.deepEqual(p, []);
    assert.deepEqual(body, { final_reading: 'Pathological', apgar_5min: 6, umbilical_ph: 7.05, base_deficit: 12.4, nicu_admission: true });
    assert.equal(rules.validateOutcome({ ...blank, final_reading: 'Normal', nicu_admission: 'no' }).body.nicu_admission, false);
  });

  test('a stored version fills the form back (to correct it) and validates to the same body', () => {
    const stored = { final_reading: 'Suspect', apgar_5min: 9, umbilical_ph: 7.3, nicu_admission: false };
    const input = rules.inputFrom(stored);
    assert.deepEqual(input, { final_reading: 'Suspect', apgar_5min: '9', umbilical_ph: '7.3', base_deficit: '', nicu_admission: 'no' });
    assert.deepEqual(rules.validateOutcome(input).body, stored);
    assert.deepEqual(rules.inputFrom(null), blank);
    // In Portuguese the form shows a decimal comma, and reads it back to the same body.
    const pt = rules.inputFrom(stored, ',');
    assert.equal(pt.umbilical_ph, '7,3');
    assert.deepEqual(rules.validateOutcome(pt).body, stored);
  });

  test("the server's 422 is mapped onto the form's fields by the last part of its path", () => {
    const payload = { error: { code: 'validation_failed', field: 'apgar_5min', message: '2 fields are invalid', details: [
      { field: 'apgar_5min', rule: 'range', message: 'apgar_5min must be 0..10, got 12' },
      { field: 'outcome.umbilical_ph', rule: 'range', message: 'umbilical_ph must be 6.5..7.8' },
      { field: 'final_reading_typo', rule: 'unknown_field', message: 'unknown field' },
    ] } };
    assert.deepEqual(rules.serverProblems(payload), [
      { field: 'apgar_5min', message: 'apgar_5min must be 0..10, got 12' },
      { field: 'umbilical_ph', message: 'umbilical_ph must be 6.5..7.8' },
      { field: null, message: 'unknown field' },
    ]);
    // An error without details names its one field.
    assert.deepEqual(rules.serverProblems({ error: { field: 'final_reading', message: 'must be one of …' } }),
      [{ field: 'final_reading', message: 'must be one of …' }]);
    assert.deepEqual(rules.serverProblems(null), []);
  });
});
