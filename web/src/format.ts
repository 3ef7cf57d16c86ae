// Renders the WASM core's structured output (schema, findings, FIGO flags, CSV errors) in the
// current language from machine fields only: feature keys, units, rule ids, flag ids, values and
// bounds. The core's English `message` is never shown, so a Portuguese screen stays Portuguese.

import type { CsvRowError, FeatureInfo, Finding, FigoFlag, ModelInfo } from './fetal.js';
import { featureText, num, t, tOr } from './i18n.js';

let schema: readonly FeatureInfo[] = [];
export function setSchema(s: readonly FeatureInfo[]): void {
  schema = s;
}
export function getSchema(): readonly FeatureInfo[] {
  return schema;
}

export function isRate(f: FeatureInfo): boolean {
  return f.unit === '1/s';
}

// Short unit shown beside an input ("events/s").
export function unitLabel(f: FeatureInfo): string {
  return f.unit ? tOr(`unit.${f.unit}`, f.unit) : '';
}

// Unit as used inside a sentence ("0 to 0.0667 events per second").
export function unitLong(f: FeatureInfo): string {
  return tOr(`unit.${f.unit}.long`, unitLabel(f));
}

export function featureName(index: number): string {
  const f = schema[index];
  return f ? featureText(f).label : `#${index}`;
}

// The feature model input `index` is taken relative to (ModelInfo.inputDifferences), or -1.
export function inputReference(index: number, info: ModelInfo): number {
  const pair = info.inputDifferences.find(([input]) => input === index);
  return pair ? pair[1] : -1;
}

// The name of model input `index`, whose contribution TreeSHAP reports: the feature, or its
// difference from the feature it is taken relative to.
export function inputName(index: number, info: ModelInfo): string {
  const reference = inputReference(index, info);
  if (reference < 0) return featureName(index);
  return t('result.input.relative', { feature: featureName(index), reference: featureName(reference) });
}

// The `n` model inputs that contribute the most (by magnitude), largest first, leaving out those
// that contribute nothing. `values`: one class's contributions, one per model input (no bias).
export function strongestInputs(values: ArrayLike<number>, n: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]))
    .slice(0, n)
    .filter((i) => values[i] !== 0);
}

// The key of model input `index`, as `fetal-model predict --explain` names its column:
// <feature key>, or <feature key>_minus_<reference key>.
export function inputKey(index: number, info: ModelInfo): string {
  const reference = inputReference(index, info);
  const key = schema[index]?.key ?? `#${index}`;
  return reference < 0 ? key : `${key}_minus_${schema[reference]?.key ?? `#${reference}`}`;
}

export function featureHelp(index: number): string {
  const f = schema[index];
  return f ? featureText(f).description : '';
}

// Title and help of a form group (FeatureInfo.group); a group this app has no text for shows its id.
export function groupTitle(group: string): string {
  return tOr(`group.${group}`, group);
}
export function groupHelp(group: string): string {
  return tOr(`group.${group}.help`, '');
}

export function bound(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '…' : num(x);
}

export function findingText(finding: Finding): string {
  const f = schema[finding.feature];
  const unit = f ? unitLong(f) : '';
  const params = {
    value: num(finding.value),
    min: bound(finding.expectedMin),
    max: bound(finding.expectedMax),
    unit,
    rule: finding.rule,
    mid: '',
    tolerance: '',
  };
  if (finding.expectedMin !== null && finding.expectedMax !== null) {
    params.mid = num((finding.expectedMin + finding.expectedMax) / 2);
    params.tolerance = num((finding.expectedMax - finding.expectedMin) / 2);
  }
  const generic = finding.expectedMin === null && finding.expectedMax === null
    ? t('rule.generic.open', params) : t('rule.generic', params);
  let text = tOr(`rule.${finding.rule}`, generic, params);
  // The commonest entry mistake: a count typed where the dataset has a rate per second.
  if (f && isRate(f) && finding.rule === 'above_max' && finding.value >= 1) {
    text += ' ' + t('rule.hint.count');
  }
  return text.replace(/\s+\./g, '.').replace(/\s{2,}/g, ' ');
}

export function figoFlagText(flag: FigoFlag): string {
  const params = {
    value: num(flag.value, 3),
    limit: num(flag.limit, 3),
    feature: flag.feature >= 0 ? featureName(flag.feature) : '',
  };
  return tOr(`figo.flag.${flag.id}`, t('figo.flag.generic', params), params);
}

export function className(index: number): string {
  return t(`class.${index as 0 | 1 | 2}`);
}

export function figoClassName(index: number): string {
  return t(`figo.${index as 0 | 1 | 2}`);
}

// A CSV problem from its rule id and arguments. Every rule the core can report has a string
// (`csv.${CsvRule}` must be a key, or this does not type-check). `columns` lists the missing
// columns of a missing_column error (headerErrorText gathers them into one sentence).
export function csvErrorText(e: CsvRowError, columns = `"${e.field}"`): string {
  return t(`csv.${e.rule}`, {
    field: e.field,
    value: e.value,
    column: e.column,
    firstColumn: e.firstColumn,
    maxRows: num(e.maxRows),
    cells: e.cells,
    headerCells: e.headerCells,
    columns,
  });
}

// Why a CSV file cannot be used at all: its header errors, the missing columns in one sentence.
export function headerErrorText(errors: readonly CsvRowError[]): string {
  const missing = errors.filter((e) => e.rule === 'missing_column');
  const parts = errors.filter((e) => e.rule !== 'missing_column').map((e) => csvErrorText(e));
  if (missing.length) parts.push(csvErrorText(missing[0], missing.map((e) => `"${e.field}"`).join(', ')));
  return parts.join('; ');
}

// A p-value or a threshold on one: four decimals, or for smaller ones (alert thresholds are
// divided among the window's tests) one digit times a power of ten, never a bare "0".
const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';
export function pText(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (v === 0 || v >= 1e-4) return num(v, 4);
  const [mantissa, exponent] = v.toExponential(1).split('e');
  return `${num(Number(mantissa), 1)}×10⁻${String(-Number(exponent)).split('').map((d) => SUPERSCRIPT[Number(d)]).join('')}`;
}
