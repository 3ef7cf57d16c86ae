// A monitoring answer (the JSON of GET /api/v1/monitoring, docs/api.md) with known contents, for
// the dashboard's tests while no server in the test computes one: 28 daily windows from
// 2026-11-01; baseline_value drifts from day 20 (warning from day 18); the class mix moves from
// day 22; the out-of-distribution rate jumps over its threshold on day 24; a browser build with a
// nudged threshold disagrees with the server 4 times on days 25-26; outcomes exist for days 1-14;
// day 3 has too few exams for drift verdicts; the last day has no exams.
export const NUDGED_BUILD = 'wasm-0123456789abcdef';
export const DRIFT_FROM = 19;   // window index of day 20

export function monitoringFixture(featureKeys) {
  const windows = [];
  for (let i = 0; i < 28; i++) {
    const day = `2026-11-${String(i + 1).padStart(2, '0')}`;
    if (i === 27) {
      windows.push({
        start: day, end: day, exams: 0, class_mix: { client: [0, 0, 0], server: [0, 0, 0] }, mean_probabilities: [0, 0, 0],
        ood: { rate: 0, checked: 0, mean_distance: null }, out_of_range_share: 0, warning_share: 0, figo_disagreement_rate: 0,
        client_server_disagreement: { count: 0, by_model_version: [], by_runtime_build: [] },
        drift: null, outcomes: { count: 0, share: 0 }, performance: null, estimated: null,
      });
      continue;
    }
    const exams = i === 2 ? 60 : 300 + ((i * 37) % 90);
    const path = i >= 21 ? 40 : 20;
    const suspect = 45;
    const server = [exams - suspect - path, suspect, path];
    const disagree = i === 24 || i === 25 ? 2 : 0;
    const features = featureKeys.map((key, k) => {
      let psi = 0.01 + ((i + k) % 5) * 0.01;
      if (key === 'baseline_value' && i >= DRIFT_FROM - 2) psi = i >= DRIFT_FROM ? 0.3 + (i - DRIFT_FROM) * 0.05 : 0.15;
      const verdict = psi >= 0.25 ? 'alert' : psi >= 0.1 ? 'warn' : 'ok';
      return { key, psi: Number(psi.toFixed(3)), js: Number((psi / 3).toFixed(3)), verdict };
    });
    const prediction = i >= 21 ? { chi2: 25.5, degrees_of_freedom: 2, p_value: 0.00001, verdict: 'alert' }
      : { chi2: 1.5, degrees_of_freedom: 2, p_value: 0.47, verdict: 'ok' };
    const order = { ok: 0, warn: 1, alert: 2 };
    const worst = [...features.map((f) => f.verdict), prediction.verdict].reduce((a, b) => (order[b] > order[a] ? b : a), 'ok');
    const outcomes = i < 14 ? Math.round(exams * 0.4) : 0;
    windows.push({
      start: day, end: day, exams,
      class_mix: { client: [server[0] + (disagree ? 1 : 0), server[1] - (disagree ? 1 : 0), server[2]], server },
      mean_probabilities: i >= 21 ? [0.7, 0.18, 0.12] : [0.78, 0.15, 0.07],
      ood: { rate: i === 23 ? 0.15 : 0.02, checked: exams, mean_distance: i === 23 ? 4.2 : 2.1 },
      out_of_range_share: i === 23 ? 0.08 : 0.01, warning_share: 0.03, figo_disagreement_rate: 0.06,
      client_server_disagreement: {
        count: disagree,
        by_model_version: disagree ? [{ model_version: 1, count: disagree }] : [],
        by_runtime_build: disagree ? [{ runtime_build: NUDGED_BUILD, count: disagree }] : [],
      },
      drift: { exams, enough_data: exams >= 100, features, prediction, verdict: worst },
      outcomes: { count: outcomes, share: outcomes / exams },
      performance: outcomes
        ? { accuracy: 0.9 + (i % 3) * 0.01, accuracy_ci: [0.86, 0.95], macro_f1: 0.84, recall: [0.95, 0.7, 0.85],
            confusion: [[100, 5, 1], [6, 10, 2], [1, 1, 8]], ece: 0.03 }
        : null,
      estimated: { accuracy: i >= 21 ? 0.86 : 0.91, accuracy_ci: i >= 21 ? [0.82, 0.9] : [0.88, 0.94],
        recall: i >= 21 ? [0.93, 0.6, 0.8] : [0.95, 0.72, 0.84] },
    });
  }
  return {
    from: '2026-11-01', to: '2026-11-28', window: 'day',
    filters: { model_version: null, submitted_by: null },
    reference: { model_version: 1, available: true },
    thresholds: { psi_warn: 0.1, psi_alert: 0.25, js_alert: 0.1, chi2_p_alert: 0.001, ood_rate_alert: 0.1, disagreement_alert: 1,
      min_drift_exams: 100 },
    windows,
  };
}
