// The servers a test starts do not outlive it: a test process killed from outside (SIGKILL, as a
// runner's timeout or a cancelled CI job would) takes the children it started with spawnTied.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stopProcess, within } from './shutdown.mjs';

const shutdownModule = join(dirname(fileURLToPath(import.meta.url)), 'shutdown.mjs');

function running(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a child started with spawnTied ends when the process that started it is killed', async () => {
  // A stand-in for a test process: starts a long sleep through spawnTied, prints its pid, waits.
  const parent = spawn(process.execPath, ['--input-type=module', '-e', `
    import { spawnTied } from ${JSON.stringify(shutdownModule)};
    const child = spawnTied('sleep', ['300'], { stdio: 'ignore' });
    console.log(child.pid);
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let childPid = 0;
  try {
    const printed = new Promise((resolve) => parent.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
    assert.ok(await within(printed.then((pid) => { childPid = pid; }), 10_000), 'the stand-in printed no pid');
    assert.ok(childPid > 0 && running(childPid), `child ${childPid} is not running`);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (running(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!running(childPid), `child ${childPid} outlived its parent by 10 s`);
  } finally {
    await stopProcess(parent, { graceMs: 1_000 });
    if (childPid && running(childPid)) process.kill(childPid, 'SIGKILL');
  }
});
