// The dashboard's request and sums (web/src/monitoring-data.ts): only the filters given go into
// the query (the server refuses empty or unknown parameters), and the totals by runtime build and
// by model version add up the windows' counts, a build of null (none sent) included.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadWebModule } from './load.mjs';

let m;
before(async () => {
  m = await loadWebModule('monitoring-data.ts');
});

const window = (count, builds, versions, outcomes = 0) => ({
  exams: 10, outcomes: { count: outcomes, share: outcomes / 10 },
  client_server_disagreement: {
    count,
    by_runtime_build: builds.map(([runtime_build, c]) => ({ runtime_build, count: c })),
    by_model_version: versions.map(([model_version, c]) => ({ model_version, count: c })),
  },
});

describe('monitoring request and totals', () => {
  test('only the filters given are sent, trimmed', () => {
    assert.equal(m.monitoringUrl({}), 'api/v1/monitoring');
    assert.equal(m.monitoringUrl({ from: '', to: ' ', window: 'day', model_version: '', submitted_by: undefined }),
      'api/v1/monitoring?window=day');
    assert.equal(m.monitoringUrl({ from: '2026-11-01', to: '2026-11-30', window: 'week', model_version: ' 3 ', submitted_by: 'ward 3' }),
      'api/v1/monitoring?from=2026-11-01&to=2026-11-30&window=week&model_version=3&submitted_by=ward+3');
  });

  test('totals add up the windows, by build and by model version', () => {
    const t = m.totals({ windows: [
      window(2, [['wasm-a', 1], [null, 1]], [[1, 2]], 3),
      window(0, [], []),
      window(3, [['wasm-a', 2], ['wasm-b', 1]], [[1, 1], [2, 2]], 4),
    ] });
    assert.equal(t.exams, 30);
    assert.equal(t.outcomes, 7);
    assert.equal(t.disagreements, 5);
    assert.deepEqual([...t.byBuild], [['wasm-a', 3], [null, 1], ['wasm-b', 1]]);
    assert.deepEqual([...t.byVersion], [[1, 3], [2, 2]]);
  });
});
