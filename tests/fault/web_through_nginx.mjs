// The web app through nginx in front of three instances on PostgreSQL, in real Chromium: it
// loads with the servers' headers intact (CSP, application/wasm), classifies, and a submitted
// exam is stored once with the server's re-evaluation agreeing; then the instance that stored it
// is SIGKILLed and the app still loads and submits through the others.
// Needs web/dist built against $FETAL_BUILD_DIR/model/signing-public.pem (scripts/build-web.sh),
// or FETAL_CLUSTER_WEB_ROOT pointing at such a build. Run: node tests/fault/web_through_nginx.mjs
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeBrowser, fillExamRow, launchBrowser, openApp } from '../e2e/helpers.mjs';
import {
  CLUSTER, ROOT_DIR, closeHttpConnections, finish, freePortBlock, request, run, runSync, watchdog,
} from './faultlib.mjs';

const webRoot = process.env.FETAL_CLUSTER_WEB_ROOT || path.join(ROOT_DIR, 'web/dist');
if (!existsSync(path.join(webRoot, 'index.html'))) {
  console.log(`SKIP web_through_nginx: no web build in ${webRoot} (scripts/build-wasm.sh && scripts/build-web.sh)`);
  process.exit(0);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-web-'));
const env = { FETAL_CLUSTER_DIR: dir, FETAL_CLUSTER_WEB_ROOT: webRoot, FETAL_SERVER_ARGS: '--no-request-log' };
let context = null;
const stop = (keep = false) => runSync(CLUSTER, keep ? ['stop', '--keep'] : ['stop'], env);
process.on('exit', () => stop());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
watchdog(150, stop);

const base = await freePortBlock(4);
const pgPort = await freePortBlock(0);
const lb = (await run(CLUSTER, ['start', '-n', '3', '--lb-port', String(base), '--base-port', String(base),
  '--pg-port', String(pgPort)], env)).replace(/\/$/, '');
const clinician = await run(CLUSTER, ['token', 'clinician', 'ward-nginx'], env);
const auditor = await run(CLUSTER, ['token', 'auditor', 'audit-nginx'], env);
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

// Headers the servers set must survive the proxy.
const index = await fetch(`${lb}/`);
check(index.status === 200 && (index.headers.get('content-security-policy') || '').includes("default-src"),
  `GET / through nginx: ${index.status}, CSP ${index.headers.get('content-security-policy')}`);
check(index.headers.get('x-content-type-options') === 'nosniff', 'X-Content-Type-Options lost through nginx');
await index.arrayBuffer();
const wasmName = readdirSync(webRoot).find((f) => f.endsWith('.wasm'));
const wasm = await fetch(`${lb}/${wasmName}`);
check(wasm.status === 200 && wasm.headers.get('content-type') === 'application/wasm',
  `${wasmName} through nginx: ${wasm.status} ${wasm.headers.get('content-type')}`);
await wasm.arrayBuffer();

context = await launchBrowser('nginx');
const page = await openApp(context, lb);
// Types dataset row `row` (the sample buttons' exams are never submitted) and submits it.
async function classifyAndSubmit(row) {
  await fillExamRow(page, row);
  await page.click('#classify');
  await page.waitForSelector('[data-testid="result-class"]');
  await page.waitForFunction(() => document.querySelector('.saved-note')?.textContent.trim());
  const entry = await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('fetal-health');
    req.onsuccess = () => {
      const c = req.result.transaction('history').objectStore('history').index('createdAt').openCursor(null, 'prev');
      c.onsuccess = () => resolve(c.result?.value ?? null);
      c.onerror = () => reject(c.error);
    };
    req.onerror = () => reject(req.error);
  }));
  await page.click('#nav-history');
  await page.waitForSelector(`tr[data-exam-id="${entry.id}"] [data-status="submitted"]`, { timeout: 20000 });
  const listed = await request(lb, auditor, 'GET', '/api/v1/exams?limit=1000');
  return (listed.json?.exams || []).filter((e) => e.client_exam_id === entry.id);
}

await page.click('#nav-settings');
await page.fill('#token', clinician);
await page.click('#save-token');
await page.waitForSelector(`text=…${clinician.slice(-4)}`);
const first = await classifyAndSubmit(10);
check(first.length === 1, `the submitted exam is stored ${first.length} times (expected once)`);
check(first[0]?.agreement?.match === true, `server re-evaluation disagrees: ${JSON.stringify(first[0]?.agreement)}`);

// Kill one instance; the app reloads and submits through the other two.
await run(CLUSTER, ['kill', '2'], env);
await page.reload();
await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
const second = await classifyAndSubmit(20);
check(second.length === 1, `after killing an instance the exam is stored ${second.length} times (expected once)`);
const verify = await request(lb, auditor, 'GET', '/api/v1/audit/verify');
check(verify.json?.ok === true, `audit chain: ${verify.text}`);
console.log(`web_through_nginx: app loaded and submitted through nginx (exam ids ${first[0]?.id}, ${second[0]?.id}), ` +
            `one instance killed in between, chain ${verify.json?.ok ? 'ok' : 'BROKEN'}`);

await closeBrowser(context);
await closeHttpConnections();
process.removeAllListeners('exit');
await finish('web_through_nginx', failures, stop, `cluster logs: ${dir}`);
