// Fault test: three fetal-server instances on one PostgreSQL behind nginx under a steady
// submission load; instance 2 is SIGKILLed mid-run and restarted. Afterwards every acknowledged
// exam is stored exactly once and unchanged, clients that retried with the same exam id got the
// original, the restarted instance serves again, and /audit/verify is ok.
// Run: node tests/fault/kill_instance.mjs   (needs build/bin/fetal-server; see docs/scale-out.md)
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CLUSTER, auditRun, finish, freePortBlock, request, run, runLoad, runSync, sleepMs, watchdog,
} from './faultlib.mjs';

const DURATION_MS = Number(process.env.FAULT_LOAD_MS || 12000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-kill-'));
const env = { FETAL_CLUSTER_DIR: dir, FETAL_SERVER_ARGS: '--rate-limit 0 --no-request-log', FETAL_CLUSTER_NO_WEB: '1' };
const stop = (keep = false) => runSync(CLUSTER, keep ? ['stop', '--keep'] : ['stop'], env);
process.on('exit', () => stop());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
watchdog(150, stop);

const base = await freePortBlock(4);
const pgPort = await freePortBlock(0);
const url = (await run(CLUSTER, ['start', '-n', '3', '--lb-port', String(base), '--base-port', String(base),
  '--pg-port', String(pgPort)], env)).trim();
const lb = url.replace(/\/$/, '');
const clinician = await run(CLUSTER, ['token', 'clinician', 'fault-clinician'], env);
const auditor = await run(CLUSTER, ['token', 'auditor', 'fault-auditor'], env);
const prefix = `kill-${Date.now()}`;

const events = [];
const t0 = Date.now();
const chaos = (async () => {
  await sleepMs(DURATION_MS * 0.3);
  await run(CLUSTER, ['kill', '2'], env);
  events.push(`instance 2 SIGKILLed at ${Date.now() - t0} ms`);
  await sleepMs(1500);
  await run(CLUSTER, ['start-instance', '2'], env);
  events.push(`instance 2 healthy again at ${Date.now() - t0} ms`);
})();
// Two of the eight clients talk to instance 2 directly: they see its death and retry through nginx.
const instance2 = `http://127.0.0.1:${base + 2}`;
const load = await runLoad({
  base: lb, token: clinician, prefix, workers: 8, durationMs: DURATION_MS, directFirst: [instance2, instance2],
});
await chaos;

// The restarted instance takes traffic again (nginx brings it back after fail_timeout).
await sleepMs(5000);
const served = {};
for (let i = 0; i < 30; i++) {
  const r = await request(lb, clinician, 'GET', '/api/v1/health');
  served[r.upstream] = (served[r.upstream] || 0) + 1;
}
const restartedPort = String(base + 2);
const failures = await auditRun({
  name: 'kill_instance', base: lb, clinicianToken: clinician, auditorToken: auditor, prefix, load,
  extra: { events, health_answers_by_upstream: served },
});
if (load.counts.retries === 0) failures.push('no client had to retry: the kill did not hit the load');
if (!Object.keys(served).some((u) => u && u.endsWith(`:${restartedPort}`))) {
  failures.push(`the restarted instance (port ${restartedPort}) served none of 30 requests`);
}
process.removeAllListeners('exit');
await finish('kill_instance', failures, stop, `cluster logs: ${dir}`);
