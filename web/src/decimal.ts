// Numbers as people type them: a decimal point or comma, the typographic minus (Brazilian
// keyboards, copied text). NaN for anything that is not one number.
export function parseDecimal(text: string): number {
  const s = text.trim().replace(/\u2212/g, '-').replace(',', '.');
  if (s === '') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}
