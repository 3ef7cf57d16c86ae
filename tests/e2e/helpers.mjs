// Shared harness of the end-to-end tests: the real fetal-server (started on 127.0.0.1 and a free
// port with a temporary data directory, serving web/dist), the real CLI, and Debian's Chromium
// driven by playwright-core. Nothing here stands in for a product part.
//
// Environment: FETAL_BUILD_DIR (default build) holds bin/fetal-server, bin/fetal-model and
// model/{default.fhm,signing-key.pem,signing-public.pem}; web/dist must have been built against
// the same public key (scripts/build-web.sh). FETAL_CHROMIUM overrides /usr/bin/chromium.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { closeChromium, closeHttpServer, hasExited, launchChromium, spawnTied, stopProcess } from './shutdown.mjs';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const buildDir = resolve(repo, process.env.FETAL_BUILD_DIR ?? 'build');
export const serverBin = join(buildDir, 'bin/fetal-server');
export const modelBin = join(buildDir, 'bin/fetal-model');
export const modelDir = join(buildDir, 'model');
export const defaultModel = join(modelDir, 'default.fhm');
export const signingKey = join(modelDir, 'signing-key.pem');
export const publicKey = join(modelDir, 'signing-public.pem');
export const webRoot = join(repo, 'web/dist');
export const dataset = join(repo, 'model/data/fetal_health.csv');
export const screenshots = join(repo, 'tests/e2e/screenshots');

const run = promisify(execFile);

// Why the suite cannot run, or null. Tests skip with this reason instead of failing obscurely.
export function missingPrerequisite() {
  for (const p of [serverBin, modelBin, defaultModel, signingKey, publicKey, join(webRoot, 'index.html'), join(webRoot, 'fetal.js')]) {
    if (!existsSync(p)) return `missing ${p} (build: scripts/build.sh, scripts/default-model.sh, scripts/build-wasm.sh, scripts/build-web.sh)`;
  }
  return null;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `fetal-e2e-${prefix}-`));
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One fetal-server process on a fixed port and data directory, serving `root` (web/dist unless
// given); start() again after stop() restarts it on the same origin (the browser's service
// worker and IndexedDB are per origin).
// stop() gives the server STOP_GRACE_MS to finish after SIGTERM: its graceful shutdown waits
// for the connections a browser keeps open to reach the keep-alive timeout (5 s by default),
// so it takes about 5 s whenever Chromium is still open.
const STOP_GRACE_MS = 10_000;
export class FetalServer {
  constructor({ port, dataDir, root = webRoot }) {
    this.port = port;
    this.dataDir = dataDir;
    this.root = root;
    this.base = `http://127.0.0.1:${port}`;
    this.proc = null;
    this.log = '';
  }

  async start() {
    this.proc = spawnTied(serverBin, [
      '--listen', `127.0.0.1:${this.port}`,
      '--data-dir', this.dataDir,
      '--web-root', this.root,
      '--default-model', defaultModel,
      '--model-pubkey', publicKey,
      '--threads', '8',
      '--no-request-log',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((_, reject) => this.proc.once('exit', (code, signal) =>
      reject(new Error(`fetal-server exited with ${code ?? signal}:\n${this.log}`))));
    exited.catch(() => {});
    this.proc.stdout.on('data', (d) => (this.log += d));
    this.proc.stderr.on('data', (d) => (this.log += d));
    const deadline = Date.now() + 15_000;
    try {
      for (;;) {
        try {
          const r = await fetch(`${this.base}/api/v1/health`, { signal: AbortSignal.timeout(2_000) });
          if (r.ok) break;
        } catch {
          /* not listening yet */
        }
        if (hasExited(this.proc)) await exited;
        if (Date.now() > deadline) throw new Error(`fetal-server did not become healthy:\n${this.log}`);
        await sleep(50);
      }
    } catch (e) {
      await this.stop(); // a server that never became healthy must not outlive the test
      throw e;
    }
    this.adminToken = readFileSync(join(this.dataDir, 'admin-token'), 'utf8').trim();
    return this;
  }

  // SIGTERM, then SIGKILL after STOP_GRACE_MS; a no-op when the server already stopped.
  async stop() {
    await stopProcess(this.proc, { graceMs: STOP_GRACE_MS });
  }

  // Stops the server and deletes its data directory.
  async dispose() {
    try {
      await this.stop();
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }

  async createToken(role, name) {
    const { stdout } = await run(serverBin, ['token', 'create', '--role', role, '--name', name, '--data-dir', this.dataDir]);
    return stdout.trim().split('\n').pop().trim();
  }

  async api(path, { method = 'GET', token = this.adminToken, body, headers = {} } = {}) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
      body,
    });
    const type = r.headers.get('content-type') ?? '';
    const payload = type.includes('json') ? await r.json() : Buffer.from(await r.arrayBuffer());
    return { status: r.status, headers: r.headers, body: payload };
  }
}

// `root`: the web app to serve (web/dist unless given).
export async function startServer(prefix, { root } = {}) {
  const dataDir = tempDir(prefix);
  const server = new FetalServer({ port: await freePort(), dataDir, root });
  try {
    await server.start();
  } catch (e) {
    await server.dispose();
    throw e;
  }
  return server;
}

export async function launchBrowser(prefix, options = {}) {
  const profile = tempDir(`${prefix}-profile`);
  const context = await launchChromium(() => chromium.launchPersistentContext(profile, {
    executablePath: process.env.FETAL_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 900 },
    ...options,
  }));
  context.profileDir = profile;
  return context;
}

// Closes the browser (killing it if it does not close within 15 s) and deletes its profile.
// Accepts undefined, for after() hooks whose before() failed before launching.
export async function closeBrowser(context) {
  if (!context) return;
  try {
    await closeChromium(context);
  } finally {
    rmSync(context.profileDir, { recursive: true, force: true });
  }
}

// The after() of a suite: closes the browser first (its open connections are what a server's
// graceful stop waits for), then disposes each FetalServer or closes each node:http server. All
// are attempted, each within its bound; the first failure is rethrown. Undefined parts (a
// before() that failed half-way) are skipped.
export async function tearDown(context, ...servers) {
  const errors = [];
  const attempt = async (fn) => { try { await fn(); } catch (e) { errors.push(e); } };
  await attempt(() => closeBrowser(context));
  for (const server of servers.filter(Boolean)) {
    await attempt(() => (server instanceof FetalServer ? server.dispose() : closeHttpServer(server)));
  }
  if (errors.length) throw errors[0];
}

// Opens the app and waits until the classifier is loaded; `lang` sets the UI language first.
export async function openApp(context, base, { lang = 'en', hash = '#/exam' } = {}) {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.addInitScript((l) => localStorage.setItem('fetal.lang', l), lang);
  // Content-Security-Policy violations (the server sends script-src 'self' 'wasm-unsafe-eval',
  // style-src 'self') are collected for cspViolations().
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI} ${e.sourceFile ?? ''}:${e.lineNumber ?? ''}`));
  });
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return page;
}

// Saves a full-page screenshot as tests/e2e/screenshots/<name>.png and fails when it was not
// written or is blank: a page of one colour compresses to a few kilobytes, a rendered screen of
// this app to tens of them. Returns the path.
export const MIN_SCREENSHOT_BYTES = 20_000;
export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  const path = join(screenshots, `${name}.png`);
  rmSync(path, { force: true });
  await page.screenshot({ path, fullPage: true });
  const size = existsSync(path) ? statSync(path).size : 0;
  if (size < MIN_SCREENSHOT_BYTES) throw new Error(`screenshot ${path} is ${size} bytes: not written, or blank`);
  return path;
}

// Runs the native CLI: `fetal-model predict` on a CSV text; returns its parsed output rows.
export async function nativePredict(csvText, model = defaultModel, extraArgs = []) {
  const dir = tempDir('predict');
  try {
    writeFileSync(join(dir, 'in.csv'), csvText);
    try {
      await run(modelBin, ['predict', '--model', model, '--input', join(dir, 'in.csv'), '--output', join(dir, 'out.csv'), ...extraArgs], { maxBuffer: 64 << 20 });
    } catch (e) {
      // Exit status 1 only says that some rows failed validation; the rest are in the output.
      if (e.code !== 1) throw e;
    }
    const [header, ...lines] = readFileSync(join(dir, 'out.csv'), 'utf8').trim().split('\n');
    const names = header.split(',');
    return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Types row `index` of the dataset (0 = the first after the header) into a new exam: an exam as a
// clinician enters one, not one of the sample buttons (those are never submitted). The form's
// fields are in the schema's order, which is the dataset's column order.
export async function fillExamRow(page, index) {
  const { appSchema } = await import('./strings.mjs');
  const schema = await appSchema();
  const values = datasetRows().lines[index].split(',').slice(0, schema.length);
  await page.click('#nav-exam');
  await page.click('#new-exam');
  for (let i = 0; i < schema.length; i++) await page.fill(`#f-${schema[i].key}`, values[i]);
}

// The app's history entries (its own IndexedDB), newest first.
export function historyEntries(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('fetal-health');
    req.onsuccess = () => {
      const get = req.result.transaction('history').objectStore('history').index('createdAt').getAll();
      get.onsuccess = () => resolve(get.result.reverse());
      get.onerror = () => reject(get.error);
    };
    req.onerror = () => reject(req.error);
  }));
}

export async function cli(bin, args) {
  return run(bin, args, { maxBuffer: 64 << 20 });
}

export function datasetRows() {
  const [header, ...lines] = readFileSync(dataset, 'utf8').trim().split(/\r?\n/);
  return { header, lines };
}

// Fails if any English UI string (one the app translates differently into Portuguese, or a
// feature's English name or help text) is on the page: visible text, the title, and
// aria-label/title/placeholder attributes. Templates are matched by their longest literal part,
// as whole words. The strings come from the source and the runtime's schema (strings.mjs).
export async function englishOnPage(page) {
  const { englishOnlyStrings } = await import('./strings.mjs');
  const english = await englishOnlyStrings();
  const patterns = english
    .map((s) => s.split(/\{\w+\}/).map((chunk) => chunk.trim()).sort((a, b) => b.length - a.length)[0])
    .filter((chunk) => chunk && chunk.length >= 4)
    .map((chunk) => new RegExp(`(?<![\\p{L}])${chunk.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}])`, 'u'));
  const text = await page.evaluate(() => {
    const attrs = [...document.querySelectorAll('[aria-label],[title],[placeholder]')]
      .map((el) => ['aria-label', 'title', 'placeholder'].map((a) => el.getAttribute(a) ?? '').join(' '));
    return `${document.title}\n${document.body.innerText}\n${attrs.join('\n')}`;
  });
  return patterns.filter((re) => re.test(text)).map((re) => re.source);
}

// Enters `token` in Settings (removing the one there first) and waits until the server has said
// whose it is. `noneText`: the Settings text for "no token" in the page's language.
export async function useToken(page, token, noneText) {
  await page.click('#nav-settings');
  if (await page.locator('#clear-token').count()) {
    await page.click('#clear-token');
    await page.waitForSelector(`text=${noneText}`);
  }
  await page.fill('#token', token);
  await page.click('#save-token');
  await page.waitForSelector(`[data-testid="token-state"]:has-text("…${token.slice(-4)}")`);
  await page.waitForSelector('[data-testid="session"]');
}

export function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations ?? []);
}
