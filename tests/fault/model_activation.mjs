// Multi-instance test: a model activated (or rolled back) through one instance is served by every
// instance within the documented bound (fetal-server --model-cache-ms, 1000 ms by default, plus
// one polling interval; docs/scale-out.md). Three instances on one PostgreSQL behind nginx; a
// second model version is trained, signed, uploaded through nginx, activated on instance 1 and
// watched on instances 2 and 3; then rolled back on instance 3 and watched on 1 and 2.
// Run: node tests/fault/model_activation.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BUILD_DIR, CLUSTER, ROOT_DIR, finish, freePortBlock, run, runSync, sleepMs, watchdog,
} from './faultlib.mjs';

const BOUND_MS = 1000 + 2000;  // --model-cache-ms default + margin for a loaded 2-core machine
const dir = mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-model-'));
const work = mkdtempSync(path.join(os.tmpdir(), 'fetal-fault-model-v2-'));
const env = { FETAL_CLUSTER_DIR: dir, FETAL_SERVER_ARGS: '--rate-limit 0 --no-request-log', FETAL_CLUSTER_NO_WEB: '1' };
const stop = () => { runSync(CLUSTER, ['stop'], env); rmSync(work, { recursive: true, force: true }); };
process.on('exit', () => stop());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
watchdog(120, stop);

// Version 2: a quick retrain (fewer rounds, no CV), signed with the key the servers trust.
const cli = path.join(BUILD_DIR, 'bin/fetal-model');
const v2 = path.join(work, 'v2.fhm');
await run(cli, ['train', '--data', path.join(ROOT_DIR, 'model/data/fetal_health.csv'), '--out', v2,
  '--no-cv', '--model-version', '2', '--rounds', '10', '--created', '2026-11-28T00:00:00Z']);
await run(cli, ['sign', '--key', path.join(BUILD_DIR, 'model/signing-key.pem'), v2]);

const base = await freePortBlock(4);
const pgPort = await freePortBlock(0);
const lb = (await run(CLUSTER, ['start', '-n', '3', '--lb-port', String(base), '--base-port', String(base),
  '--pg-port', String(pgPort)], env)).replace(/\/$/, '');
const admin = readFileSync(path.join(dir, 'instance-1/admin-token'), 'utf8').trim();
const instance = (i) => `http://127.0.0.1:${base + i}`;

async function activeVersion(url) {
  const res = await fetch(`${url}/api/v1/models/active`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return Number(res.headers.get('x-model-version'));
}

// Every instance has v1 cached before the switch (the worst case for propagation).
for (const i of [1, 2, 3]) {
  if (await activeVersion(instance(i)) !== 1) throw new Error(`instance ${i} does not serve version 1`);
}
const upload = await fetch(`${lb}/api/v1/models`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/octet-stream',
             'X-Model-Signature': readFileSync(`${v2}.sig`, 'utf8').trim() },
  body: readFileSync(v2),
});
const uploadText = await upload.text();
if (upload.status !== 201 && upload.status !== 200) throw new Error(`upload: ${upload.status} ${uploadText}`);

async function switchAndWatch(version, via, watched) {
  const t0 = Date.now();
  // Neither version was evaluated in shadow: the activation gates pass them only with a reason.
  const r = await fetch(`${instance(via)}/api/v1/models/${version}/activate`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ override_reason: 'fault test: how fast an activation reaches every instance' }),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`activate ${version} on instance ${via}: ${r.status} ${text}`);
  const seen = {};
  while (Object.keys(seen).length < watched.length && Date.now() - t0 < 10000) {
    for (const i of watched) {
      if (!(i in seen) && await activeVersion(instance(i)) === version) seen[i] = Date.now() - t0;
    }
    await sleepMs(25);
  }
  return seen;
}

const forward = await switchAndWatch(2, 1, [1, 2, 3]);
const back = await switchAndWatch(1, 3, [1, 2, 3]);
const worst = Math.max(...Object.values(forward), ...Object.values(back));
console.log(`model_activation: v2 activated on instance 1, served after ms by instance ${JSON.stringify(forward)}; ` +
            `rolled back to v1 on instance 3, served after ms by instance ${JSON.stringify(back)}; ` +
            `worst ${worst} ms (bound ${BOUND_MS} ms)`);
const failures = [];
for (const [what, seen] of [['activation', forward], ['rollback', back]]) {
  for (const i of [1, 2, 3]) {
    if (!(i in seen)) failures.push(`${what}: instance ${i} never served the new version within 10 s`);
    else if (seen[i] > BOUND_MS) failures.push(`${what}: instance ${i} took ${seen[i]} ms (bound ${BOUND_MS} ms)`);
  }
}
process.removeAllListeners('exit');
await finish('model_activation', failures, stop);
