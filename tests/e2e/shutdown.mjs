// Bounded shutdown of what a test or benchmark started: a child process (SIGTERM, then SIGKILL
// after a grace period) and a Chromium launched through playwright-core (close, then SIGKILL of
// its process group). Every wait here is raced against a timer, and the timer is what keeps
// Node's event loop alive meanwhile: a promise that only a child's 'exit' event can settle is
// never awaited on its own, because when that event has already fired (or the child's handles
// are gone) nothing is left in the loop and `node --test` cancels the hook with "Promise
// resolution is still pending but the event loop has already resolved".
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// True when `promise` settled within `ms`; false when the time ran out first. Never rejects.
export async function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// spawn(), with the child tied to this process: setpriv (util-linux) sets the child's
// parent-death signal to SIGTERM before it execs the command, so a test process killed from
// outside (a runner's timeout, a cancelled CI job) takes the servers it started with it.
export function spawnTied(cmd, args, options) {
  return spawn('setpriv', ['--pdeathsig', 'TERM', '--', cmd, ...args], options);
}

// A child that exited by itself, by a signal or by SIGKILL has exitCode OR signalCode set
// (exitCode alone stays null for a signal death).
export function hasExited(proc) {
  return proc.exitCode !== null || proc.signalCode !== null;
}

// Stops a child process started with child_process.spawn: `signal`, up to `graceMs` for it to
// exit, then SIGKILL and up to `killMs` more. Returns how it ended ('exited' | 'killed');
// throws only if it outlived SIGKILL. Safe to call again, or on a child that already exited.
export async function stopProcess(proc, { signal = 'SIGTERM', graceMs = 10_000, killMs = 5_000 } = {}) {
  if (!proc || hasExited(proc)) return 'exited';
  // Listening before signalling: 'exit' cannot fire between hasExited() above and this line.
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill(signal);
  if (await within(exited, graceMs)) return 'exited';
  proc.kill('SIGKILL');
  if (await within(exited, killMs)) return 'killed';
  throw new Error(`pid ${proc.pid} still running ${killMs} ms after SIGKILL`);
}

// Direct children of this Node process, from /proc (Linux): pid -> argv[0].
function children() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0]);
    } catch {
      // exited while we looked
    }
  }
  return out;
}

// Runs `launch` (a playwright-core chromium.launch / launchPersistentContext call) and records
// the pid of the browser process it started on the result, for closeChromium's last resort.
// playwright-core spawns Chromium as a direct child and leader of its own process group, and
// offers no public handle on it for these two launch calls. Debian's /usr/bin/chromium is a
// script that execs /usr/lib/chromium/chromium, hence the match on the name, not the path.
// Launches must not run concurrently with each other or with other spawns.
export async function launchChromium(launch) {
  const before = children();
  const target = await launch();
  const started = [...children()].filter(([pid, argv0]) => !before.has(pid) && /chrom/i.test(argv0.split('/').pop()));
  target.chromiumPid = started.length === 1 ? started[0][0] : null;
  return target;
}

// Closes a Browser or BrowserContext from launchChromium within `timeoutMs`; past it, SIGKILLs
// the browser's process group (which also ends playwright-core's pending close).
export async function closeChromium(target, { timeoutMs = 15_000 } = {}) {
  if (!target) return 'closed';
  const closing = target.close();
  if (await within(closing, timeoutMs)) return 'closed';
  if (target.chromiumPid) {
    try {
      process.kill(-target.chromiumPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (await within(closing, 5_000)) return 'killed';
  throw new Error(`Chromium (pid ${target.chromiumPid ?? 'unknown'}) did not close within ${timeoutMs} ms nor after SIGKILL`);
}

// Closes a node:http server and every connection it still holds, within `timeoutMs`.
export async function closeHttpServer(server, { timeoutMs = 5_000 } = {}) {
  if (!server) return;
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await within(closed, timeoutMs);
}
