// Shared parts of the fault tests: a submission load that retries like a real client, and the
// end-of-test audit of what the database holds. No mocks: real fetal-server processes, real
// nginx, real PostgreSQL / SQLite, HTTP on 127.0.0.1.
//
// The client retries an exam with the SAME client_exam_id and the SAME body until it gets an
// answer that settles it (201 stored, 200 replay of the original), or the retry budget ends.
// An exam is "acknowledged" when a 2xx came back for it; only those count towards "lost".
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLUSTER = path.join(ROOT, 'scripts/cluster.sh');
export const ROOT_DIR = ROOT;
export const BUILD_DIR = path.resolve(ROOT, process.env.FETAL_BUILD_DIR || 'build');

// Dataset rows as exams a clinician's browser would send: the features, and the class and
// probabilities the default model gives them (from `fetal-model predict`, the same evaluator the
// browser runs), so the server's re-evaluation agrees. Rows the validator rejects (the dataset
// has a few inconsistent histograms) are left out: every submission is a valid exam.
let cachedExams = null;
export function loadExams() {
  if (cachedExams) return cachedExams;
  const csv = path.join(ROOT, 'model/data/fetal_health.csv');
  const lines = readFileSync(csv, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',').map((h) => h.trim().replace(/ /g, '_'));
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-pred-')), 'predictions.csv');
  spawnSync(path.join(BUILD_DIR, 'bin/fetal-model'),
    ['predict', '--model', path.join(BUILD_DIR, 'model/default.fhm'), '--input', csv, '--output', out],
    { stdio: 'ignore' });
  const predictions = readFileSync(out, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
  rmSync(path.dirname(out), { recursive: true, force: true });
  cachedExams = predictions.map(([row, cls, pn, ps, pp]) => {
    const cells = lines[Number(row) + 1].split(',').map(Number);
    const features = {};
    header.forEach((key, i) => { if (key !== 'fetal_health') features[key] = cells[i]; });
    return { features, class: cls, probabilities: [Number(pn), Number(ps), Number(pp)] };
  });
  if (cachedExams.length < 1000) throw new Error(`fetal-model predict gave only ${cachedExams.length} rows`);
  return cachedExams;
}

export function examBody(id, exam, modelVersion) {
  return JSON.stringify({
    client_exam_id: id,
    features: exam.features,
    client_result: { class: exam.class, probabilities: exam.probabilities, model_version: modelVersion },
    client_time: new Date().toISOString(),
    note: 'fault test',
  });
}

export async function request(base, token, method, route, body, timeoutMs = 15000) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(base + route, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON: reported by the caller */ }
    return { status: res.status, json, text, upstream: res.headers.get('x-fetal-upstream') };
  } catch (e) {
    return { status: 0, error: e.cause?.code || e.name || String(e) };
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs `workers` concurrent clients submitting exams for `durationMs`; each keeps retrying its
// current exam (same id, same body) on 5xx / network errors for up to `retryForMs` after the
// first attempt. `shouldStop()` ends the run early. Worker w < directFirst.length sends each
// exam's first attempt straight to directFirst[w] (an instance, bypassing nginx) and retries
// through `base`, like a client whose server died under it. Returns the per-exam outcomes and counters.
export async function runLoad({ base, token, prefix, workers = 8, durationMs = 10000, retryForMs = 30000,
                                 modelVersion = 1, onTick, shouldStop, directFirst = [] }) {
  const rows = loadExams();
  // id -> { body, acked, serverId, replayed, attempts, statuses, refusal: the last 5xx or network error }
  const outcomes = new Map();
  const counts = { submitted: 0, acknowledged: 0, created: 0, replayed_on_retry: 0, retries: 0,
                   status: {}, unexpected: [], bad_error_bodies: [] };
  const upstreams = {};
  const deadline = Date.now() + durationMs;
  let next = 0;
  const count = (key) => { counts.status[key] = (counts.status[key] || 0) + 1; };

  async function worker(w) {
    while (Date.now() < deadline && !(shouldStop && shouldStop())) {
      const n = next++;
      const id = `${prefix}-${n}`;
      const body = examBody(id, rows[n % rows.length], modelVersion);
      const o = { body, acked: false, serverId: null, replayed: false, attempts: 0, statuses: [] };
      outcomes.set(id, o);
      counts.submitted++;
      const giveUp = Date.now() + retryForMs;
      for (;;) {
        o.attempts++;
        if (o.attempts > 1) counts.retries++;
        const target = o.attempts === 1 && w < directFirst.length ? directFirst[w] : base;
        const r = await request(target, token, 'POST', '/api/v1/exams', body);
        const key = r.status === 0 ? `network:${r.error}` : String(r.status);
        count(key);
        o.statuses.push(key);
        if (r.upstream) upstreams[r.upstream] = (upstreams[r.upstream] || 0) + 1;
        if (r.status === 201 || r.status === 200) {
          if (!r.json || typeof r.json.id !== 'number') {
            counts.unexpected.push({ id, status: r.status, text: r.text?.slice(0, 200) });
            break;
          }
          o.acked = true;
          o.serverId = r.json.id;
          o.replayed = r.json.replayed === true;
          counts.acknowledged++;
          if (r.status === 201) counts.created++;
          if (o.replayed) counts.replayed_on_retry++;
          break;
        }
        if (r.status >= 500 || r.status === 0) {
          o.refusal = { status: r.status, code: r.json?.error?.code, message: r.json?.error?.message?.slice(0, 160) ?? r.error };
          // A 5xx must still be the API's JSON error shape (nginx's 502/504 pages excepted).
          if (r.status === 503 && !(r.json?.error?.code && r.json?.error?.message)) {
            counts.bad_error_bodies.push({ id, status: r.status, text: r.text?.slice(0, 200) });
          }
          if (Date.now() > giveUp) break;
          await sleep(100 + Math.random() * 150);
          continue;
        }
        counts.unexpected.push({ id, status: r.status, text: r.text?.slice(0, 300) });
        break;
      }
      if (onTick) onTick(o);
    }
  }
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return { outcomes, counts, upstreams };
}

// Every exam of this run in the database (through the API, as an auditor), by client_exam_id.
export async function storedExams(base, auditorToken, prefix) {
  const byId = new Map();
  let cursor = null;
  for (;;) {
    const q = `/api/v1/exams?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await request(base, auditorToken, 'GET', q, undefined, 60000);
    if (r.status !== 200) throw new Error(`GET ${q}: ${r.status} ${r.text || r.error}`);
    for (const e of r.json.exams) {
      if (!e.client_exam_id.startsWith(`${prefix}-`)) continue;
      if (!byId.has(e.client_exam_id)) byId.set(e.client_exam_id, []);
      byId.get(e.client_exam_id).push(e);
    }
    if (!r.json.next_cursor) break;
    cursor = r.json.next_cursor;
  }
  return byId;
}

// Compares what clients were told with what is stored, replays a sample of acknowledged exams,
// verifies the audit chain, prints the counts and returns the list of failures.
export async function auditRun({ name, base, clinicianToken, auditorToken, prefix, load, extra = {} }) {
  const { outcomes, counts } = load;
  const stored = await storedExams(base, auditorToken, prefix);
  let duplicates = 0, lost = 0, changed = 0, storedCount = 0, replayMismatch = 0;
  for (const [, rows] of stored) { storedCount++; duplicates += rows.length - 1; }
  const acked = [...outcomes.entries()].filter(([, o]) => o.acked);
  for (const [id, o] of acked) {
    const rows = stored.get(id);
    if (!rows) { lost++; continue; }
    if (rows[0].id !== o.serverId) changed++;
    const sent = JSON.parse(o.body);
    if (rows[0].features.baseline_value !== sent.features.baseline_value ||
        rows[0].client_result.class !== sent.client_result.class) changed++;
  }
  // Retried clients: a replay of an acknowledged exam returns the original, unchanged.
  const sample = acked.filter(([, o]) => o.attempts > 1).concat(acked.slice(0, 20)).slice(0, 40);
  for (const [id, o] of sample) {
    const r = await request(base, clinicianToken, 'POST', '/api/v1/exams', o.body);
    if (r.status !== 200 || r.json?.replayed !== true || r.json?.id !== o.serverId) {
      replayMismatch++;
      console.error(`  replay of ${id}: ${r.status} ${JSON.stringify(r.json)?.slice(0, 200)} (original id ${o.serverId})`);
    }
  }
  const verify = await request(base, auditorToken, 'GET', '/api/v1/audit/verify', undefined, 120000);
  const chainOk = verify.status === 200 && verify.json?.ok === true;
  const retriedAcked = acked.filter(([, o]) => o.attempts > 1).length;

  const summary = {
    test: name,
    submitted: counts.submitted,
    acknowledged: counts.acknowledged,
    stored: storedCount,
    duplicates,
    lost,
    changed,
    retried_then_acknowledged: retriedAcked,
    replayed_on_retry: counts.replayed_on_retry,
    replay_check: `${sample.length - replayMismatch}/${sample.length} returned the original`,
    chain_ok: chainOk,
    chain_length: verify.json?.length,
    statuses: counts.status,
    ...extra,
  };
  console.log(`${name}: submitted ${summary.submitted}, acknowledged ${summary.acknowledged}, ` +
              `stored ${summary.stored}, duplicates ${duplicates}, lost ${lost}, chain ${chainOk ? 'ok' : 'BROKEN'}`);
  console.log(JSON.stringify(summary, null, 1).replace(/\n\s*/g, ' '));

  const failures = [];
  if (counts.acknowledged === 0) failures.push('no exam was acknowledged at all');
  if (duplicates !== 0) failures.push(`${duplicates} duplicate rows`);
  if (lost !== 0) failures.push(`${lost} acknowledged exams are not stored`);
  if (changed !== 0) failures.push(`${changed} acknowledged exams differ from what was stored`);
  if (replayMismatch !== 0) failures.push(`${replayMismatch} replays did not return the original`);
  if (!chainOk) failures.push(`audit chain does not verify: ${verify.status} ${verify.text?.slice(0, 300)}`);
  if (counts.unexpected.length) {
    failures.push(`${counts.unexpected.length} unexpected answers, first: ${JSON.stringify(counts.unexpected[0])}`);
  }
  if (counts.bad_error_bodies.length) {
    failures.push(`503 without the JSON error shape: ${JSON.stringify(counts.bad_error_bodies[0])}`);
  }
  return failures;
}

// --- processes ------------------------------------------------------------------------------


// Runs a command without blocking the event loop (the load keeps running meanwhile).
export function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => (code === 0 ? resolve(out.trim())
      : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-5).join(' | ')}`))));
  });
}

// Blocking variant, for clean-up on exit; SIGKILLed after `timeoutMs` (scripts/cluster.sh stop
// bounds each of its own steps, this bounds the whole).
export function runSync(cmd, args, env = {}, timeoutMs = 120_000) {
  return spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'],
                               timeout: timeoutMs, killSignal: 'SIGKILL' });
}

// A free TCP port on 127.0.0.1 (the kernel's choice), and a block of `n` consecutive ones.
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePortBlock(n) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let i = 0; i <= n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error('no free block of ports');
}

export const sleepMs = sleep;

// Bounds a test in time: a hung step fails the test instead of hanging the test command.
export function watchdog(seconds, cleanup) {
  const t = setTimeout(() => {
    console.error(`FAIL: still running after ${seconds} s; stopping`);
    try { cleanup(); } finally { process.exit(1); }
  }, seconds * 1000);
  t.unref();
}

// Closes this process's pooled keep-alive connections (fetch's global undici dispatcher), so
// the servers' graceful shutdown does not wait out their keep-alive timeout for idle sockets.
export async function closeHttpConnections() {
  const dispatcher = globalThis[Symbol.for('undici.globalDispatcher.1')];
  if (dispatcher) await dispatcher.destroy().catch(() => {});
}

// Ends a test: closes connections, stops what it started (keeping logs on failure), exits.
export async function finish(name, failures, stopFn, logsHint = '') {
  await closeHttpConnections();
  if (failures.length) {
    console.error(`FAIL ${name}:\n  ${failures.join('\n  ')}${logsHint ? `\n  ${logsHint}` : ''}`);
  }
  stopFn(failures.length > 0);
  console.log(failures.length ? '' : `PASS ${name}`);
  process.exit(failures.length ? 1 : 0);
}
