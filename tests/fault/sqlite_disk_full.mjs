// Fault test: the single-instance SQLite server with its data directory on a nearly full
// filesystem (a small tmpfs when run as root; otherwise the server's file-size limit is lowered
// with prlimit, an injected write failure). Submissions that cannot be stored get a clear 503/507
// JSON error; once space is back the server recovers by itself; after a clean stop the database
// passes PRAGMA integrity_check, every acknowledged exam is there exactly once, and the audit
// chain verifies after a restart.
// Run: node tests/fault/sqlite_disk_full.mjs
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BUILD_DIR, auditRun, closeHttpConnections, finish, freePort, request, run, runLoad, runSync, sleepMs, watchdog,
} from './faultlib.mjs';
import { hasExited, spawnTied, stopProcess } from '../e2e/shutdown.mjs';

const SERVER = path.join(BUILD_DIR, 'bin/fetal-server');
const MODEL = path.join(BUILD_DIR, 'model/default.fhm');
const HEADROOM_BYTES = 768 * 1024;
// FAULT_DISK_METHOD=prlimit forces the non-root variant.
const asRoot = process.getuid() === 0 && process.env.FAULT_DISK_METHOD !== 'prlimit';
const dir = mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-disk-'));
const dataDir = path.join(dir, 'data');
mkdirSync(dataDir);
let server = null;
let mounted = false;

function cleanup() {
  if (server && !hasExited(server)) server.kill('SIGKILL');
  if (mounted) runSync('umount', ['-l', dataDir]);
  mounted = false;
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
watchdog(120, cleanup);

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
async function startServer() {
  // SIGXFSZ ignored (the disposition survives exec): over the file-size limit write() then fails
  // with EFBIG instead of killing the process, which is what the prlimit variant relies on.
  server = spawnTied('/bin/sh', ['-c', 'trap "" XFSZ; exec "$0" "$@"', SERVER, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir,
    '--default-model', MODEL, '--rate-limit', '0', '--no-request-log'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  server.log = '';
  server.stdout.on('data', (d) => { server.log += d; });
  server.stderr.on('data', (d) => { server.log += d; });
  for (let i = 0; i < 200; i++) {
    const r = await request(base, '', 'GET', '/api/v1/health', undefined, 1000);
    if (r.status === 200) return;
    if (hasExited(server)) throw new Error(`fetal-server exited: ${server.log}`);
    await sleepMs(50);
  }
  throw new Error(`fetal-server not healthy: ${server.log}`);
}
// SIGTERM: the clean shutdown path. A server still running 15 s later is SIGKILLed, and that
// is a failure of the test.
const uncleanStops = [];
async function stopServer() {
  if ((await stopProcess(server, { graceMs: 15_000 })) === 'killed') {
    uncleanStops.push(`fetal-server needed SIGKILL 15 s after SIGTERM; log tail: ${server.log.slice(-500)}`);
  }
}
const usedBytes = async () => Number((await run('du', ['-sb', dataDir])).split(/\s+/)[0]);

let method;
if (asRoot) {
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'fetal-fault-tmpfs', dataDir]);
  mounted = true;
}
await startServer();
const createToken = async (role) => (await run(SERVER, ['token', 'create', '--role', role,
  '--name', `fault-${role}`, '--data-dir', dataDir])).trim();
const clinician = await createToken('clinician');
const auditor = await createToken('auditor');
const used = await usedBytes();
if (asRoot) {
  const limit = Math.ceil((used + HEADROOM_BYTES) / 4096) * 4096;
  await run('mount', ['-o', `remount,size=${limit}`, dataDir]);
  method = `tmpfs of ${limit} bytes (${used} used after start)`;
} else {
  const db = path.join(dataDir, 'fetal.db');
  const limit = statSync(db).size + HEADROOM_BYTES;
  await run('prlimit', [`--pid=${server.pid}`, `--fsize=${limit}:unlimited`]);
  method = `file size limit of ${limit} bytes (prlimit)`;
}
const prefix = `disk-${Date.now()}`;

// Phase 1: fill the disk until submissions are refused; keep each refused exam for phase 2.
let refusedCount = 0;
const load = await runLoad({
  base, token: clinician, prefix, workers: 4, durationMs: 25000, retryForMs: 0,
  onTick: (o) => { if (!o.acked) refusedCount++; },
  shouldStop: () => refusedCount >= 20,
});
const refused = [...load.outcomes.values()].filter((o) => !o.acked);
const statuses = { ...load.counts.status };
// Clear errors: each refusal is 503 or 507 with the JSON error shape naming the cause. The
// answers the load got are checked, not new attempts: under a file-size limit SQLite can find
// room again (its WAL restarts after a checkpoint), so a second attempt may be stored.
const errorBodies = refused.slice(0, 5).map((o) => o.refusal);

// Phase 2: space comes back; the same server (no restart) stores what it refused.
if (asRoot) await run('mount', ['-o', 'remount,size=64m', dataDir]);
else await run('prlimit', [`--pid=${server.pid}`, '--fsize=unlimited:unlimited']);
let recovered = 0;
for (const o of refused) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await request(base, clinician, 'POST', '/api/v1/exams', o.body);
    if (r.status === 201 || r.status === 200) {
      o.acked = true; o.serverId = r.json.id; o.attempts++; load.counts.acknowledged++; recovered++;
      break;
    }
    await sleepMs(100);
  }
}

// Phase 3: clean stop, integrity check of the file itself, restart on the same data, audit.
await stopServer();
const integrity = (await run('sqlite3', [path.join(dataDir, 'fetal.db'), 'PRAGMA integrity_check'])).trim();
await startServer();
const failures = await auditRun({
  name: 'sqlite_disk_full', base, clinicianToken: clinician, auditorToken: auditor, prefix, load,
  extra: { method, refused: refused.length, recovered_without_restart: recovered, integrity_check: integrity,
           statuses_while_full: statuses, error_bodies: errorBodies },
});
if (refused.length === 0) failures.push('the disk never filled up: no submission was refused');
for (const e of errorBodies) {
  if (!(e.status === 503 || e.status === 507) || !e.code || !e.message) {
    failures.push(`a refusal on a full disk was not a clear 503/507 JSON error: ${JSON.stringify(e)}`);
  }
}
if (errorBodies.length === 0 && refused.length) failures.push('no error body could be checked');
if (recovered !== refused.length) failures.push(`${refused.length - recovered} refused exams could not be stored after space came back`);
if (integrity !== 'ok') failures.push(`PRAGMA integrity_check: ${integrity}`);
for (const [status, n] of Object.entries(statuses)) {
  if (!['201', '200', '503', '507'].includes(status)) failures.push(`${n} answers with status ${status}`);
}
await closeHttpConnections();
if (failures.length === 0) await stopServer();
failures.push(...uncleanStops);
process.removeAllListeners('exit');
await finish('sqlite_disk_full', failures, cleanup, failures.length ? `server log tail: ${server.log.slice(-1500)}` : '');
