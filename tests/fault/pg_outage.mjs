// Fault test: PostgreSQL stops (immediate shutdown, like a crash) for a few seconds under a steady
// submission load through nginx to two instances. While it is down the servers answer 503 with
// the JSON error shape and acknowledge nothing they did not store; when it is back they recover
// by themselves (no restart), and every acknowledged exam is stored exactly once; the chain verifies.
// Run: node tests/fault/pg_outage.mjs
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CLUSTER, auditRun, finish, freePortBlock, request, run, runLoad, runSync, sleepMs, watchdog,
} from './faultlib.mjs';

const DURATION_MS = Number(process.env.FAULT_LOAD_MS || 14000);
const OUTAGE_MS = 4000;
const RECOVERY_LIMIT_MS = 10000;  // documented in docs/scale-out.md
const dir = mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-pg-'));
const env = { FETAL_CLUSTER_DIR: dir, FETAL_SERVER_ARGS: '--rate-limit 0 --no-request-log', FETAL_CLUSTER_NO_WEB: '1' };
const stop = (keep = false) => runSync(CLUSTER, keep ? ['stop', '--keep'] : ['stop'], env);
process.on('exit', () => stop());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
watchdog(150, stop);

const base = await freePortBlock(3);
const pgPort = await freePortBlock(0);
const lb = (await run(CLUSTER, ['start', '-n', '2', '--lb-port', String(base), '--base-port', String(base),
  '--pg-port', String(pgPort)], env)).replace(/\/$/, '');
const clinician = await run(CLUSTER, ['token', 'clinician', 'fault-clinician'], env);
const auditor = await run(CLUSTER, ['token', 'auditor', 'fault-auditor'], env);
const prefix = `pg-${Date.now()}`;

const events = [];
const t0 = Date.now();
let down = false, restartedAt = 0, firstAckAfterRestart = 0;
const healthWhileDown = [];
const chaos = (async () => {
  await sleepMs(DURATION_MS * 0.2);
  await run(CLUSTER, ['pg-stop', '--immediate'], env);
  down = true;
  events.push(`PostgreSQL stopped at ${Date.now() - t0} ms`);
  await sleepMs(OUTAGE_MS / 2);
  for (const port of [base + 1, base + 2]) {
    const r = await request(`http://127.0.0.1:${port}`, clinician, 'GET', '/api/v1/health');
    healthWhileDown.push({ port, status: r.status, storage: r.json?.storage });
  }
  await sleepMs(OUTAGE_MS / 2);
  await run(CLUSTER, ['pg-start'], env);
  down = false;
  restartedAt = Date.now();
  events.push(`PostgreSQL started again at ${restartedAt - t0} ms`);
})();
const load = await runLoad({
  base: lb, token: clinician, prefix, workers: 8, durationMs: DURATION_MS,
  onTick: (o) => {
    if (restartedAt && !firstAckAfterRestart && o.acked && !down) firstAckAfterRestart = Date.now();
  },
});
await chaos;

const recoveryMs = firstAckAfterRestart ? firstAckAfterRestart - restartedAt : null;
const served503 = load.counts.status['503'] || 0;
const failures = await auditRun({
  name: 'pg_outage', base: lb, clinicianToken: clinician, auditorToken: auditor, prefix, load,
  extra: { events, answered_503: served503, recovery_ms: recoveryMs, health_while_down: healthWhileDown },
});
if (served503 === 0) failures.push('no 503 was answered while PostgreSQL was down');
for (const h of healthWhileDown) {
  if (h.status !== 503 || h.storage?.ok !== false) {
    failures.push(`instance on ${h.port}: /health answered ${h.status} ${JSON.stringify(h.storage)} with the database down`);
  }
}
for (const [status, n] of Object.entries(load.counts.status)) {
  if (status.startsWith('50') && status !== '503') failures.push(`${n} answers with status ${status}`);
}
if (recoveryMs === null || recoveryMs > RECOVERY_LIMIT_MS) {
  failures.push(`no exam acknowledged within ${RECOVERY_LIMIT_MS} ms after PostgreSQL came back (${recoveryMs})`);
}
process.removeAllListeners('exit');
await finish('pg_outage', failures, stop, `cluster logs: ${dir}`);
