// The language runtime: the current language, t() over the strings of web/src/i18n/<lang>.ts,
// and number and date formatting. Every user-visible string goes through here; the validator's
// findings, FIGO flags and CSV errors are rendered from their machine fields (rule, id, value,
// bounds) so no English sentence from the WebAssembly core reaches a Portuguese screen.

import type { FeatureInfo } from './fetal.js';
import { en, type Dictionary, type FeatureText, type StringKey } from './i18n/en.js';
import { ptBR } from './i18n/pt-BR.js';

export type { StringKey } from './i18n/en.js';
export type Lang = 'en' | 'pt-BR';
export const LANGS: Lang[] = ['en', 'pt-BR'];
type Params = Record<string, string | number>;

const dicts: Record<Lang, Dictionary> = { en, 'pt-BR': ptBR };

let current: Lang = 'en';
const listeners: Array<() => void> = [];

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem('fetal.lang', next);
  } catch {
    /* private mode: language just is not remembered */
  }
  for (const fn of listeners) fn();
}

export function onLangChange(fn: () => void): void {
  listeners.push(fn);
}

export function initialLang(): Lang {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem('fetal.lang');
  } catch {
    saved = null;
  }
  if (saved === 'en' || saved === 'pt-BR') return saved;
  return (navigator.language || '').toLowerCase().startsWith('pt') ? 'pt-BR' : 'en';
}

function isKey(key: string): key is StringKey {
  return Object.hasOwn(en.strings, key);
}

export function t(key: StringKey, params: Params = {}): string {
  return fill(dicts[current].strings[key], params);
}

// For ids that come from the WebAssembly core at run time (rule ids, FIGO flag ids, schema groups
// and units): `fallback` when no string of this language is keyed by `key`.
export function tOr(key: string, fallback: string, params: Params = {}): string {
  return isKey(key) ? t(key, params) : fallback;
}

function fill(template: string, params: Params): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) =>
    name in params ? String(params[name]) : `{${name}}`,
  );
}

// A feature's name and help text: the translation by schema key, else the schema's English.
export function featureText(f: FeatureInfo): FeatureText {
  return dicts[current].features[f.key] ?? f;
}

// Intl formatters are costly to build (tens of microseconds each: the start-up form formats a
// few hundred numbers), so each language-and-options pair is built once.
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function formatter<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  const full = `${current}|${key}`;
  let f = formatters.get(full) as T | undefined;
  if (!f) {
    f = make();
    formatters.set(full, f);
  }
  return f;
}

// Numbers below 1000 in size (every limit and unit on the exam form), written as
// Intl.NumberFormat(lang, { maximumFractionDigits }) writes them: the shortest decimal form
// rounded half up to at most that many decimals, no trailing zeros, no grouping. A cold page's
// first Intl.NumberFormat costs 20-30 ms, as long as the rest of the form takes to render.
// null: Intl decides (1000 or more, or a number String() writes with an exponent).
function smallNumber(value: number, maxFractionDigits: number): string | null {
  const abs = Math.abs(value);
  const shortest = String(abs);
  if (!(abs < 1000) || shortest.includes('e')) return null;
  let [whole, fraction = ''] = shortest.split('.');
  if (fraction.length > maxFractionDigits) {
    const digits = (whole + fraction.slice(0, maxFractionDigits)).split('');
    if (fraction.charCodeAt(maxFractionDigits) >= 53) {  // '5' or more: round up, carrying
      let i = digits.length - 1;
      for (; i >= 0 && digits[i] === '9'; --i) digits[i] = '0';
      if (i < 0) digits.unshift('1');
      else digits[i] = String(Number(digits[i]) + 1);
    }
    whole = digits.slice(0, digits.length - maxFractionDigits).join('');
    fraction = digits.slice(digits.length - maxFractionDigits).join('').replace(/0+$/, '');
    if (whole.length > 3) return null;
  }
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  return sign + whole + (fraction ? (current === 'en' ? '.' : ',') + fraction : '');
}

// Formats a number for display in the current language (decimal comma in pt-BR).
export function num(value: number, maxFractionDigits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  return smallNumber(value, maxFractionDigits) ??
    formatter(`num${maxFractionDigits}`, () =>
      new Intl.NumberFormat(current, { maximumFractionDigits: maxFractionDigits })).format(value);
}

// Fixed number of decimals, for columns of probabilities.
export function fixed(value: number, digits: number): string {
  return formatter(`fixed${digits}`, () =>
    new Intl.NumberFormat(current, { minimumFractionDigits: digits, maximumFractionDigits: digits })).format(value);
}

export function pct(p: number, digits = 1): string {
  return formatter(`pct${digits}`, () => new Intl.NumberFormat(current, {
    style: 'percent',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })).format(p);
}

export function dateTime(ms: number): string {
  return formatter('dateTime', () =>
    new Intl.DateTimeFormat(current, { dateStyle: 'short', timeStyle: 'medium' })).format(new Date(ms));
}
