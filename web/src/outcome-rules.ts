// What an outcome is (POST /api/v1/exams/{id}/outcome): the clinician's final CTG reading and,
// optionally, the neonatal outcome, checked here with the server's ranges so that the form says
// what is wrong before anything is sent; the server's 422 is mapped back onto the same fields.
// No DOM and no strings here: problems are machine fields, rendered by outcome.ts.

import { parseDecimal } from './decimal.js';

export const READINGS = ['Normal', 'Suspect', 'Pathological'] as const;
export type Reading = (typeof READINGS)[number];

export interface OutcomeBody {
  final_reading: Reading;
  apgar_5min?: number;
  umbilical_ph?: number;
  base_deficit?: number;
  nicu_admission?: boolean;
}

// A stored version, as the server answers it.
export interface OutcomeVersion extends OutcomeBody {
  exam_id: number | string;
  version: number;
  recorded_by: string;
  recorded_at: string;
  audit_seq?: number;
  replayed?: boolean;
}

// The form as typed: every field a string ('' = not given).
export interface OutcomeInput {
  final_reading: string;
  apgar_5min: string;
  umbilical_ph: string;
  base_deficit: string;
  nicu_admission: '' | 'yes' | 'no';
}
export type OutcomeField = keyof OutcomeInput;
export const OUTCOME_FIELDS: OutcomeField[] = ['final_reading', 'apgar_5min', 'umbilical_ph', 'base_deficit', 'nicu_admission'];

// Inclusive limits, as the server checks them.
export const LIMITS = {
  apgar_5min: { min: 0, max: 10, integer: true },
  umbilical_ph: { min: 6.5, max: 7.8, integer: false },
  base_deficit: { min: -5, max: 30, integer: false },
} as const;
type NumericField = keyof typeof LIMITS;

export interface OutcomeProblem {
  field: OutcomeField;
  rule: 'required' | 'enum' | 'number' | 'integer' | 'range' | 'server';
  text?: string;    // what was typed (number) or the server's own message (server)
}

export function validateOutcome(input: OutcomeInput): { body: OutcomeBody | null; problems: OutcomeProblem[] } {
  const problems: OutcomeProblem[] = [];
  if (!input.final_reading) problems.push({ field: 'final_reading', rule: 'required' });
  else if (!READINGS.includes(input.final_reading as Reading)) problems.push({ field: 'final_reading', rule: 'enum' });
  const body: Partial<OutcomeBody> = { final_reading: input.final_reading as Reading };
  for (const field of Object.keys(LIMITS) as NumericField[]) {
    const text = input[field].trim();
    if (text === '') continue;
    const value = parseDecimal(text);
    const limit = LIMITS[field];
    if (Number.isNaN(value)) problems.push({ field, rule: 'number', text });
    else if (limit.integer && !Number.isInteger(value)) problems.push({ field, rule: 'integer', text });
    else if (value < limit.min || value > limit.max) problems.push({ field, rule: 'range', text });
    else body[field] = value;
  }
  if (input.nicu_admission) body.nicu_admission = input.nicu_admission === 'yes';
  return { body: problems.length ? null : (body as OutcomeBody), problems };
}

// The form showing a stored version (to correct it), numbers written with the language's decimal
// mark ('.' or ',') as the user would type them.
export function inputFrom(v: OutcomeBody | null, decimalMark: '.' | ',' = '.'): OutcomeInput {
  const text = (x: number | undefined) => (x === undefined || x === null ? '' : String(x).replace('.', decimalMark));
  return {
    final_reading: v?.final_reading ?? '',
    apgar_5min: text(v?.apgar_5min),
    umbilical_ph: text(v?.umbilical_ph),
    base_deficit: text(v?.base_deficit),
    nicu_admission: v?.nicu_admission === undefined || v?.nicu_admission === null ? '' : v.nicu_admission ? 'yes' : 'no',
  };
}

// The failing fields of a server error body ({"error": {field, message, details: [{field, rule,
// message}]}}), on the form's fields; a field path such as "outcome.apgar_5min" counts by its
// last part. Problems with no field of the form are returned with field null.
export function serverProblems(payload: unknown): { field: OutcomeField | null; message: string }[] {
  const err = (payload as { error?: { field?: string; message?: string; details?: { field?: string; message?: string }[] } } | null)?.error;
  if (!err) return [];
  const fieldOf = (path?: string): OutcomeField | null => {
    const last = (path ?? '').split('.').pop() as OutcomeField;
    return OUTCOME_FIELDS.includes(last) ? last : null;
  };
  const details = err.details?.length ? err.details : [{ field: err.field, message: err.message }];
  return details.map((d) => ({ field: fieldOf(d.field), message: d.message ?? err.message ?? '' }));
}
