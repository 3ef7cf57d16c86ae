// The operations dashboard and the audit page in Chromium, in both languages, with screenshots.
// Everything goes to the real fetal-server through a small pass-through proxy that answers only
// GET /api/v1/monitoring itself, with a fixture of known contents (monitoring-fixture.mjs), after
// asking the real server who the token is (auditor and admin only, as the API's roles say). The
// audit page's events, verification and checkpoints are the real server's.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  datasetRows, englishOnPage, freePort, launchBrowser, missingPrerequisite, nativePredict, openApp, shot, startServer, tearDown, webRoot,
} from './helpers.mjs';
import { monitoringFixture, NUDGED_BUILD, DRIFT_FROM } from './monitoring-fixture.mjs';
import { appSchema, languageFiles } from './strings.mjs';

const skip = missingPrerequisite();

// Forwards every request to `target` except GET /api/v1/monitoring, answered with `fixture`.
// `seen` collects the query strings of the monitoring requests.
async function monitoringProxy(target, fixture, seen) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://proxy');
    if (url.pathname === '/api/v1/monitoring') {
      seen.push(url.searchParams);
      const who = await fetch(`${target.base}/api/v1/session`, { headers: { Authorization: req.headers.authorization ?? '' } });
      const role = who.ok ? (await who.json()).role : null;
      const status = !who.ok ? who.status : role === 'auditor' || role === 'admin' ? 200 : 403;
      const body = status === 200
        ? { ...fixture, window: url.searchParams.get('window') ?? 'day' }
        : { error: { code: status === 403 ? 'forbidden' : 'unauthorized', message: `status ${status}` } };
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  server.base = `http://127.0.0.1:${port}`;
  return server;
}

describe('operations dashboard and audit page', { skip: skip ?? false }, () => {
  let server, proxy, context, page, auditor, clinician, fixture, keys, english;
  const seen = [];

  before(async () => {
    keys = (await appSchema()).map((f) => f.key);
    english = Object.fromEntries((await appSchema()).map((f) => [f.key, f.label]));
    fixture = monitoringFixture(keys);
    server = await startServer('dashboard');
    auditor = await server.createToken('auditor', 'e2e-dash-audit');
    clinician = await server.createToken('clinician', 'e2e-dash-ward');
    proxy = await monitoringProxy(server, fixture, seen);
    context = await launchBrowser('dashboard');
    page = await openApp(context, proxy.base);
  });

  after(() => tearDown(context, proxy, server));

  async function useToken(token) {
    await page.click('#nav-settings');
    if (await page.locator('#clear-token').count()) {
      await page.click('#clear-token');
      await page.waitForSelector('text=No token set');
    }
    await page.fill('#token', token);
    await page.click('#save-token');
    await page.waitForSelector(`[data-testid="token-state"]:has-text("…${token.slice(-4)}")`);
    await page.waitForSelector('[data-testid="session"]');
  }

  async function navIds() {
    return page.$$eval('nav a', (as) => as.map((a) => a.id));
  }

  test('a clinician token is not offered the operations views; the dashboard says which token it needs', async () => {
    await useToken(clinician);
    const ids = await navIds();
    assert.ok(!ids.includes('nav-monitoring') && !ids.includes('nav-audit'), ids.join());
    await page.goto(`${proxy.base}/#/monitoring`);
    await page.waitForSelector('[data-testid="dash-forbidden"]');
    assert.match(await page.textContent('[data-testid="dash-forbidden"]'), /auditor or admin token/);
  });

  test('an auditor sees the dashboard rendered from the monitoring answer', async () => {
    await useToken(auditor);
    assert.ok((await navIds()).includes('nav-monitoring'));
    assert.ok((await navIds()).includes('nav-audit'));
    await page.click('#nav-monitoring');
    await page.waitForSelector('[data-testid="tile-exams"]');
    assert.equal(seen.at(-1).get('window'), 'day');

    // At a glance: the last window with exams (day 27) is in drift alert on baseline_value.
    const total = fixture.windows.reduce((s, w) => s + w.exams, 0);
    assert.equal(await page.textContent('[data-testid="tile-exams"] .tile-value'), total.toLocaleString('en'));
    assert.equal(await page.getAttribute('[data-testid="tile-drift"]', 'data-verdict'), 'alert');
    assert.match(await page.textContent('[data-testid="tile-drift"]'), new RegExp(`Alert on: ${english.baseline_value}`));
    assert.equal(await page.textContent('[data-testid="tile-drift"] .tile-value'), `1 of ${keys.length} features in alert`);
    assert.equal(await page.getAttribute('[data-testid="tile-ood"]', 'data-verdict'), 'ok');  // day 27: 2 %
    assert.equal(await page.textContent('[data-testid="tile-disagreement"] .tile-value'), '4');
    assert.match(await page.textContent('[data-testid="tile-accuracy"]'), /2026-11-14/);

    // The heat map: a cell per feature and window plus the prediction row; baseline_value's
    // cells are alerts from day 20, marked "!" (not colour alone), with the numbers in a title.
    const cells = await page.locator('#dash-drift g.cell').count();
    assert.equal(cells, (keys.length + 1) * fixture.windows.length);
    const row = keys.indexOf('baseline_value');
    const cell = (c) => page.locator(`#dash-drift g.cell[data-row="${row}"][data-col="${c}"]`);
    assert.match(await cell(DRIFT_FROM).getAttribute('class'), /verdict-alert/);
    assert.equal(await cell(DRIFT_FROM).locator('text').textContent(), '!');
    assert.match(await cell(DRIFT_FROM).locator('title').textContent(), /PSI 0\.3, JS 0\.1 — Alert/);
    assert.match(await cell(DRIFT_FROM - 2).getAttribute('class'), /verdict-warn/);
    assert.match(await cell(DRIFT_FROM - 3).getAttribute('class'), /verdict-ok/);
    assert.match(await page.locator(`#dash-drift g.cell[data-row="${keys.length}"][data-col="22"]`).getAttribute('class'), /verdict-alert/);
    assert.match(await page.locator('#dash-drift g.cell[data-row="0"][data-col="27"]').getAttribute('class'), /verdict-none/);
    assert.match(await page.textContent('#dash-drift .help'), /warning from 0\.1, alert from 0\.25/);
    // Day 3 has fewer exams than a verdict needs: its cells say so instead of "OK".
    assert.match(await page.locator('#dash-drift g.cell[data-row="0"][data-col="2"]').getAttribute('class'), /verdict-few/);
    assert.match(await page.locator('#dash-drift g.cell[data-row="0"][data-col="2"] title').textContent(),
      /too few exams for a verdict \(60, at least 100 needed\)/);
    // The last day has no exams: no mean OOD distance, no estimate.
    assert.equal((await page.$$eval('[data-testid="ood-table"] tbody tr', (trs) => trs.map((tr) => tr.children[2].textContent)))[27], '—');

    // Every chart is an image with a title and has its numbers as a table.
    for (const id of ['dash-volume', 'dash-drift', 'dash-ood', 'dash-disagreement', 'dash-performance', 'dash-coverage']) {
      const svgTitle = await page.locator(`#${id} svg[role="img"] > title`).textContent();
      assert.ok(svgTitle.length > 5, id);
      assert.equal(await page.locator(`#${id} details table`).count(), 1, id);
    }
    const volumeRows = await page.$$eval('[data-testid="volume-table"] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.equal(volumeRows.length, fixture.windows.length);
    assert.deepEqual(volumeRows[0].slice(0, 5), ['2026-11-01', String(fixture.windows[0].exams), ...fixture.windows[0].class_mix.server.map(String)]);
    const ood = await page.$$eval('[data-testid="ood-table"] tbody tr', (trs) => trs.map((tr) => tr.children[1].textContent));
    assert.equal(ood[23], '15.0%');
    // The OOD chart draws its threshold at 10 %.
    assert.match(await page.textContent('#dash-ood svg .threshold-label'), /10\.0%/);
    // Disagreements by browser build and by model version, summed over the range.
    assert.deepEqual(await page.$$eval('[data-testid="by-build"] tbody tr', (trs) => trs.map((tr) => tr.textContent)), [`${NUDGED_BUILD}4`]);
    assert.deepEqual(await page.$$eval('[data-testid="by-version"] tbody tr', (trs) => trs.map((tr) => tr.textContent)), ['v14']);
    // Real accuracy only where outcomes exist; the estimate everywhere with exams.
    const perf = await page.$$eval('[data-testid="performance-table"] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.equal(perf[0][3], '90.0%');
    assert.equal(perf[20][3], '—');
    assert.equal(perf[20][7], '91.0%');
    assert.equal(perf[27][7], '—');
    assert.equal(await page.locator('#dash-performance svg circle.series-real').count(), 14);
    // The confusion matrix sums the 14 windows with outcomes; recall per class comes from it.
    const confusion = await page.$$eval('[data-testid="confusion"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(confusion, [['1,400', '70', '14'], ['84', '140', '28'], ['14', '14', '112']]);
    const recall = await page.$$eval('[data-testid="recall"] tbody tr', (trs) => trs.map((tr) => tr.children[1].textContent));
    assert.deepEqual(recall, [`${(100 * 1400 / 1484).toFixed(1)}%`, `${(100 * 140 / 252).toFixed(1)}%`, `${(100 * 112 / 140).toFixed(1)}%`]);
    // The estimate over the range: each window's, weighted by its expected count of the class.
    const shown = await page.$$eval('[data-testid="recall"] tbody tr', (trs) => trs.map((tr) => tr.children[2].textContent));
    const expected = [0, 1, 2].map((k) => {
      const ws = fixture.windows.filter((w) => w.estimated);
      const n = ws.reduce((s, w) => s + w.exams * w.mean_probabilities[k], 0);
      return `${(100 * ws.reduce((s, w) => s + w.estimated.recall[k] * w.exams * w.mean_probabilities[k], 0) / n).toFixed(1)}%`;
    });
    assert.deepEqual(shown, expected);
    await shot(page, 'dashboard-en');
  });

  test('the filters go to the server as query parameters', async () => {
    await page.fill('#dash-from', '2026-11-01');
    await page.fill('#dash-to', '2026-11-28');
    await page.selectOption('#dash-window', 'week');
    await page.fill('#dash-model_version', '1');
    await page.click('#dash-apply');
    await page.waitForFunction(() => document.querySelector('[data-testid="dash-status"]')?.textContent.includes('week'));
    const q = seen.at(-1);
    assert.deepEqual([...q.keys()].sort(), ['from', 'model_version', 'to', 'window']);
    assert.equal(q.get('from'), '2026-11-01');
    assert.equal(q.get('window'), 'week');
    assert.equal(q.get('model_version'), '1');
  });

  test('the dashboard in Portuguese has no English left', async () => {
    await page.selectOption('#lang', 'pt-BR');
    await page.waitForSelector('text=Painel de operações');
    await page.waitForSelector('[data-testid="tile-exams"]');
    const { 'pt-BR': pt } = await languageFiles();
    assert.equal(await page.textContent('[data-testid="tile-drift"] .tile-verdict'), pt.strings['dash.verdict.alert']);
    assert.match(await page.locator(`#dash-drift g.cell[data-row="${keys.indexOf('baseline_value')}"][data-col="${DRIFT_FROM}"] title`).textContent(),
      /PSI 0,3, JS 0,1 — Alerta/);
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'dashboard-pt');
    await page.selectOption('#lang', 'en');
  });

  test('the audit page browses the real chain, verifies it and creates a signed checkpoint', async () => {
    await page.click('#nav-audit');
    await page.waitForSelector('[data-testid="audit-events"] tbody tr');
    // The newest events first; the tokens this test created are in the chain.
    const actions = await page.$$eval('[data-testid="audit-events"] tbody tr td:nth-child(4)', (tds) => tds.map((td) => td.textContent));
    assert.ok(actions.includes('token.create'), actions.join());
    const seqs = await page.$$eval('[data-testid="audit-events"] tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.seq)));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));

    await page.click('#audit-verify-run');
    await page.waitForSelector('[data-testid="audit-verify-result"]');
    assert.equal(await page.getAttribute('[data-testid="audit-verify-result"]', 'data-ok'), 'true');
    assert.match(await page.textContent('[data-testid="audit-verify-result"]'), /The chain verifies: \d+ events/);

    await page.click('#audit-checkpoint-create');
    await page.waitForSelector('[data-testid="audit-checkpoint-created"]');
    const created = JSON.parse(await page.textContent('[data-testid="audit-checkpoint-created"] pre'));
    assert.match(created.signature, /^[A-Za-z0-9+/=]+$/);
    assert.equal(await page.locator('[data-testid="audit-checkpoint-table"] tbody tr').count(), 1);
    const stored = await server.api('/api/v1/audit/checkpoints', { token: auditor });
    assert.equal(stored.body.checkpoints[0].hash, created.hash);

    // Verifying again compares the chain with the new checkpoint.
    await page.click('#audit-verify-run');
    await page.waitForFunction(() => /1 checkpoint/.test(document.querySelector('[data-testid="audit-verify-result"]')?.textContent ?? ''));
    await shot(page, 'audit-en');
    await page.selectOption('#lang', 'pt-BR');
    await page.waitForSelector('text=Registro de auditoria');
    assert.deepEqual(await englishOnPage(page), []);
    await shot(page, 'audit-pt');
    await page.selectOption('#lang', 'en');
  });

  test("the dashboard from the server's own GET /monitoring: exams and a disagreement counted by runtime build", async (t) => {
    const probe = await server.api('/api/v1/monitoring', { token: null });
    if (probe.status === 404) return t.skip('pending: this fetal-server has no route GET /api/v1/monitoring yet');
    assert.equal(probe.status, 401);
    // Two exams of today: one as this app's runtime computes it, one from a "browser build" whose
    // probabilities are nudged by 0.005 (the server's re-evaluation disagrees with it).
    const { runtimeBuild } = JSON.parse(readFileSync(join(webRoot, 'build-info.json'), 'utf8'));
    const rows = datasetRows();
    const lines = [rows.lines[10], rows.lines[20]];
    const native = await nativePredict(`${rows.header}\n${lines.join('\n')}\n`);
    const names = rows.header.split(',').slice(0, keys.length);
    assert.equal(names.length, keys.length);
    for (const [i, build] of [[0, runtimeBuild], [1, 'wasm-e2e-nudged']]) {
      const p = [native[i].p_normal, native[i].p_suspect, native[i].p_pathological].map(Number);
      if (i === 1) {
        const top = p.indexOf(Math.max(...p));
        p[top] -= 0.005;
        p[(top + 1) % 3] += 0.005;
      }
      const values = lines[i].split(',').map(Number);
      const r = await server.api('/api/v1/exams', {
        method: 'POST', token: clinician, headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          client_exam_id: `e2e-monitoring-${i}`, client_time: new Date().toISOString(),
          features: Object.fromEntries(keys.map((k, j) => [k, values[j]])),
          client_result: { class: native[i].class, probabilities: p, model_version: 1 }, runtime_build: build,
        }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.agreement.match, i === 0);
    }
    const answer = (await server.api('/api/v1/monitoring', { token: auditor })).body;

    await page.goto(`${server.base}/#/settings`);  // the real server's own origin, not the proxy's
    await page.waitForSelector('body[data-ready="true"]');
    await useToken(auditor);
    await page.click('#nav-monitoring');
    await page.waitForSelector('[data-testid="tile-exams"]');
    assert.equal(await page.textContent('[data-testid="tile-exams"] .tile-value'), '2');
    assert.equal(await page.textContent('[data-testid="tile-disagreement"] .tile-value'), '1');
    assert.deepEqual(await page.$$eval('[data-testid="by-build"] tbody tr', (trs) => trs.map((tr) => tr.textContent)), ['wasm-e2e-nudged1']);
    assert.equal(await page.locator('[data-testid="volume-table"] tbody tr').count(), answer.windows.length);
    assert.equal(await page.locator('[data-testid="dash-no-reference"]').count(), answer.reference.available ? 0 : 1);
    await shot(page, 'dashboard-real-en');
  });

  test('an admin token sees the dashboard but not the audit page (the audit routes are the auditor\'s)', async () => {
    await useToken(server.adminToken);
    const ids = await navIds();
    assert.ok(ids.includes('nav-monitoring'), ids.join());
    assert.ok(!ids.includes('nav-audit'), ids.join());
  });
});
