// The result card: model class with calibrated probabilities and the prediction set, "refer for
// senior review" when the set holds several classes or the exam is unlike the training data, the
// contributions behind it, the FIGO cross-check beside it, the out-of-distribution badge, and
// which model scored it.

import type { Classification, ModelInfo } from './fetal.js';
import { h } from './dom.js';
import { className, featureName, figoClassName, figoFlagText, findingText, getSchema, inputName, inputReference, strongestInputs, unitLabel } from './format.js';
import { num, pct, t } from './i18n.js';

const TOP_CONTRIBUTIONS = 8;

function unitSuffix(index: number): string {
  const f = getSchema()[index];
  const unit = f ? unitLabel(f) : '';
  return unit ? (unit === '%' ? '%' : ` ${unit}`) : '';
}

export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

function probabilityBars(result: Classification): HTMLElement {
  return h(
    'ul',
    { class: 'prob-bars' },
    result.probabilities.map((p, k) => {
      const fill = h('span', { class: `bar-fill class-${k}` });
      fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
      return h(
        'li',
        { class: k === result.classIndex ? 'predicted' : '' },
        h('span', { class: 'prob-label' }, className(k)),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
        h('span', { class: 'prob-value', 'data-class': k, 'data-p': p }, pct(p)),
      );
    }),
  );
}

// The conformal prediction set ("Suspect or Pathological") and what its level means. Nothing for a
// model without sets.
function predictionSet(result: Classification, info: ModelInfo): HTMLElement | null {
  if (!result.predictionSet.length || !(info.setLevel > 0)) return null;
  const level = pct(info.setLevel, 0);
  return h(
    'p',
    { class: 'prediction-set', 'data-testid': 'prediction-set', 'data-set': result.predictionSet.join(',') },
    h('strong', {}, `${t('result.set', { level })}: `),
    result.predictionSet.map(className).join(t('result.set.or')),
    h('span', { class: 'help' }, ` ${t('result.set.help', { level })}`),
  );
}

// "Refer for senior review" and why, when the core says so.
function reviewNote(result: Classification): HTMLElement | null {
  if (!result.referForReview) return null;
  const ood = result.ood.outOfDistribution || result.ood.outOfRange.length > 0;
  return h(
    'p',
    { class: 'note review-note', role: 'status', 'data-testid': 'refer-review' },
    h('strong', {}, `⚠ ${t('result.review')}`),
    result.predictionSet.length > 1
      ? ` ${t('result.review.set', { classes: result.predictionSet.map(className).join(t('result.set.or')) })}`
      : null,
    ood ? ` ${t('result.review.ood')}` : null,
  );
}

// The name and the value of model input `index`: the feature, or its difference from another
// feature when the model takes it relative to one (ModelInfo.inputDifferences).
function inputOf(index: number, info: ModelInfo, features: readonly number[]): { name: string; value: string } {
  const reference = inputReference(index, info);
  if (reference < 0) return { name: featureName(index), value: `${num(features[index])}${unitSuffix(index)}` };
  const diff = features[index] - features[reference];
  return {
    name: inputName(index, info),
    value: `${diff > 0 ? '+' : diff < 0 ? '−' : ''}${num(Math.abs(diff))}${unitSuffix(index)}`,
  };
}

function contributionChart(result: Classification, info: ModelInfo, features: readonly number[]): HTMLElement {
  const nFeatures = features.length;
  const c = result.classIndex;
  const stride = nFeatures + 1; // 21 features + bias per class
  const values = result.contributions.subarray(c * stride, c * stride + nFeatures);
  const top = strongestInputs(values, TOP_CONTRIBUTIONS).map((index) => ({ index, value: values[index] }));
  const scale = Math.max(1e-9, ...top.map((x) => Math.abs(x.value)));
  const cls = className(c);
  return h(
    'div',
    { class: 'contrib' },
    h('p', { class: 'help' }, t('result.contributions.help', { class: cls })),
    h(
      'ul',
      { class: 'contrib-list' },
      top.map(({ index, value }) => {
        const input = inputOf(index, info, features);
        const toward = value > 0;
        const bar = h('span', { class: `contrib-bar ${toward ? 'toward' : 'away'}` });
        bar.style.width = `${(Math.abs(value) / scale) * 100}%`;
        const neg = h('span', { class: 'contrib-half neg', 'aria-hidden': 'true' }, toward ? null : bar);
        const pos = h('span', { class: 'contrib-half pos', 'aria-hidden': 'true' }, toward ? bar : null);
        return h(
          'li',
          {},
          h('span', { class: 'contrib-name' }, input.name,
            h('span', { class: 'contrib-input' }, ` = ${input.value}`)),
          neg,
          pos,
          h(
            'span',
            { class: 'contrib-value' },
            `${value > 0 ? '+' : '−'}${num(Math.abs(value), 2)} `,
            h('span', { class: 'sr-only' }, toward ? t('result.toward', { class: cls }) : t('result.away', { class: cls })),
          ),
        );
      }),
    ),
  );
}

// `notice`: said at the top of the card (a sample exam says that it is one).
export function resultCard(result: Classification, info: ModelInfo, features: readonly number[], notice?: string): HTMLElement {
  const agree = result.figo.classIndex === result.classIndex;
  const flags = result.figo.flags;
  const ood = result.ood;
  const flagged = ood.outOfDistribution || ood.outOfRange.length > 0;

  const figo = h(
    'section',
    { class: `figo ${agree ? 'agree' : 'disagree'}`, 'aria-labelledby': 'figo-heading' },
    h('h3', { id: 'figo-heading' }, t('result.figo')),
    h('p', { class: `class-badge figo-badge class-${result.figo.classIndex}`, 'data-testid': 'figo-class' },
      figoClassName(result.figo.classIndex)),
    flags.length
      ? h('ul', { class: 'figo-flags' }, flags.map((f) => h('li', { 'data-flag': f.id }, figoFlagText(f))))
      : h('p', {}, t('result.figo.none')),
    h('p', { class: 'muted' }, t('result.figo.ruleset', { ruleset: result.figo.ruleset })),
  );
  return h(
    'article',
    { class: `result-card class-${result.classIndex}`, 'aria-labelledby': 'result-heading' },
    notice ? h('p', { class: 'banner sample-note', 'data-testid': 'sample-note' }, notice) : null,
    h(
      'div',
      { class: 'result-top' },
      h(
        'section',
        { class: 'result-main' },
        h('h2', { id: 'result-heading', class: 'result-heading' },
          h('span', { class: 'result-kicker' }, t('result.class')),
          h('span', { class: `class-badge class-${result.classIndex}`, 'data-testid': 'result-class', 'data-class-index': result.classIndex },
            className(result.classIndex)),
          h('span', { class: 'result-prob' }, pct(result.probabilities[result.classIndex]))),
        h('h3', {}, t('result.probabilities')),
        probabilityBars(result),
        predictionSet(result, info),
      ),
      figo,
    ),
    reviewNote(result),
    h(
      'p',
      { class: agree ? 'note agree-note' : 'note disagree-note', 'data-testid': 'figo-agreement', 'data-agree': String(agree) },
      agree
        ? `✓ ${t('result.figo.agree')}`
        : `⚠ ${t('result.figo.disagree', { model: className(result.classIndex), figo: figoClassName(result.figo.classIndex) })}`,
    ),
    h(
      'section',
      { class: `ood ${flagged ? 'flagged' : 'ok'}`, 'data-testid': 'ood', 'data-flagged': String(flagged) },
      h('p', { class: 'ood-badge' }, flagged ? `⚠ ${t('result.ood.flag')}` : `✓ ${t('result.ood.ok')}`),
      flagged ? h('p', {}, t('result.ood.explain')) : null,
      h('p', { class: 'muted' }, t('result.ood.detail', { distance: num(ood.distance, 2), threshold: num(ood.threshold, 2) })),
      ood.outOfRange.length
        ? h('p', { 'data-testid': 'ood-features' }, t('result.ood.features', { features: ood.outOfRange.map(featureName).join(', ') }))
        : null,
    ),
    result.warnings.length
      ? h(
          'section',
          { class: 'warnings' },
          h('h3', {}, t('result.warnings')),
          h('ul', {}, result.warnings.map((w) => h('li', {}, `${featureName(w.feature)}: ${findingText(w)}`))),
        )
      : null,
    h('section', { class: 'contrib-section' }, h('h3', {}, t('result.contributions')), contributionChart(result, info, features)),
    h(
      'footer',
      { class: 'result-footer' },
      h('p', { class: 'model-version', 'data-testid': 'model-version' },
        t('result.version', { version: info.version, hash: shortHash(info.hash) })),
      h('p', { class: 'disclaimer' }, t('disclaimer')),
    ),
  );
}
