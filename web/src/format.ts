// Renders the WASM core's structured output (findings, FIGO flags, units) in the current language
// from machine fields only: rule ids, flag ids, values and bounds. The core's English `message`
// is never shown, so a Portuguese screen stays Portuguese.

import type { FeatureInfo, Finding, FigoFlag } from './fetal.js';
import { featureText, has, num, t } from './i18n.js';

let schema: readonly FeatureInfo[] = [];
export function setSchema(s: readonly FeatureInfo[]): void {
  schema = s;
}
export function getSchema(): readonly FeatureInfo[] {
  return schema;
}

export function isRate(f: FeatureInfo): boolean {
  return f.unit.includes('/s');
}

// Short unit shown beside an input.
export function unitLabel(f: FeatureInfo): string {
  if (f.key === 'histogram_tendency') return '';
  if (isRate(f)) return t('unit.rate');
  switch (f.unit) {
    case 'bpm':
      return t('unit.bpm');
    case '%':
      return t('unit.percent');
    case 'count':
      return t('unit.count');
    case 'bpm²':
    case 'bpm^2':
      return t('unit.bpm2');
    default:
      return f.unit;
  }
}

// Unit as used inside a sentence ("0 to 0.0667 events per second").
export function unitLong(f: FeatureInfo): string {
  if (isRate(f)) return t('unit.rate.long');
  return unitLabel(f);
}

export function featureName(index: number): string {
  const f = schema[index];
  if (!f) return `#${index}`;
  return featureText(f.key, f.name, f.description).name;
}

export function featureHelp(index: number): string {
  const f = schema[index];
  if (!f) return '';
  return featureText(f.key, f.name, f.description).help;
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
  let text: string;
  if (has(`rule.${finding.rule}`)) {
    text = t(`rule.${finding.rule}`, params);
  } else if (finding.expectedMin === null && finding.expectedMax === null) {
    text = t('rule.generic.open', params);
  } else {
    text = t('rule.generic', params);
  }
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
  const key = `figo.flag.${flag.id}`;
  return has(key) ? t(key, params) : t('figo.flag.generic', params);
}

export function className(index: number): string {
  return t(`class.${index}`);
}

export function figoClassName(index: number): string {
  return t(`figo.${index}`);
}

// The CSV reader reports in English sentences; the known ones are rendered from their numbers and
// quoted values in the current language. An unknown sentence is shown as it came.
const CSV_MESSAGES: { re: RegExp; key: string }[] = [
  { re: /^the CSV file is empty/, key: 'csv.empty' },
  { re: /^the header has a quote that is never closed/, key: 'csv.headerQuote' },
  { re: /^the column fetal_health appears twice/, key: 'csv.labelTwice' },
  { re: /^the feature column (".+") appears twice in the header \(columns (\d+) and (\d+)\)/, key: 'csv.columnTwice' },
  { re: /^the header lacks the feature column\(s\) (.+); expected/, key: 'csv.missingColumns' },
  { re: /^the header has no fetal_health column/, key: 'csv.noLabel' },
  { re: /^the file has more than (\d+) exam rows/, key: 'csv.tooManyRows' },
  { re: /^a quoted cell is never closed/, key: 'csv.cellQuote' },
  { re: /^the row has (\d+) cells but the header has (\d+) columns/, key: 'csv.cellCount' },
  { re: /^expected the label 1 \(Normal\), 2 \(Suspect\) or 3 \(Pathological\), got (.+)$/, key: 'csv.badLabel' },
  { re: /^expected a number, got (.+?); use a dot as the decimal separator$/, key: 'csv.decimalComma' },
  { re: /^expected a number, got (.+)$/, key: 'csv.notNumber' },
];

export function csvMessage(message: string): string {
  for (const { re, key } of CSV_MESSAGES) {
    const m = message.match(re);
    if (m) return t(key, { 1: m[1] ?? '', 2: m[2] ?? '', 3: m[3] ?? '' });
  }
  return message;
}
