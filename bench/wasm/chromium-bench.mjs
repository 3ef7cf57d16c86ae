// WebAssembly benchmark in headless Chromium (Debian's, via playwright-core): cold start
// (navigation to the first possible classification: class and calibrated probabilities from
// predict(); then to the first full result, classify() with TreeSHAP, OOD and FIGO; empty
// caches, in a running browser and in a just-started one, see withBrowser), single-exam
// latency, batch throughput and
// bytes shipped, on the default model and an imported XGBoost depth-6, 200-round model, next to
// the native library's figures measured in the same run.
//
// Usage: node bench/wasm/chromium-bench.mjs [--json OUT.json] [--models NAME,...]
//                                          [--previous DIST] [--cold-only | --start-only | --model-load | --code-cache]
//                                          [--previous-app WEB_DIST] [--runs N]
//   --models: only these models (default, xgboost-d6-r200, xgboost-d8-r200).
//   --previous DIST: also measures another build of the runtime (fetal.js, fetal-core.js,
//   fetal-core.wasm; e.g. bench/wasm/build-previous.sh main), in the same run, beside this one.
//   --start-only: only the start-up figures: the whole app cold, next to the runtime's own cold
//   start on the default model, and on a second visit (service worker, a real profile), next to
//   the same visit of a one-script page (the platform's floor), in the same run.
//   --model-load: only the model load of a cold page (loadModelAsync on the default model, its
//   first call in the page), this build and --previous's alternating page by page, each page in
//   a new browser context.
//   --code-cache: only whether Chromium keeps the wasm's compiled code between visits of the app
//   (codeCacheCheck: one traced first visit, one second visit; prints what the trace shows).
//   --previous-app WEB_DIST: also the whole app's cold start of another build of the web app (e.g.
//   web/dist built at an earlier commit), alternating with this one's run by run, each run
//   paired with its own run of the runtime's cold page.
//   --runs N: cold starts and second visits per figure (default 7; each figure is their median).
// FETAL_WEB_DIST=DIR measures another build of the web app (default web/dist);
// FETAL_CHROMIUM_JS_FLAGS='--flag ...' starts Chromium with those V8 flags (diagnosis only).
// Serves the wasm build from a throwaway HTTP server on 127.0.0.1 (random port). The bench page
// is cross-origin isolated (COOP/COEP) only so performance.now() resolves to 5 us instead of
// 100 us; the runtime itself needs no isolation (see the cold-start page, which has none).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { closeChromium, closeHttpServer, launchChromium } from '../../tests/e2e/shutdown.mjs';
import { DATASET, WASM_DIST, WEB_DIST, median, modelPaths, nativeFigures, printReport, shippedBytes } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const previousAt = process.argv.indexOf('--previous');
const PREVIOUS_DIST = previousAt > 0 ? path.resolve(process.argv[previousAt + 1]) : null;
const previousAppAt = process.argv.indexOf('--previous-app');
const PREVIOUS_APP = previousAppAt > 0 ? path.resolve(process.argv[previousAppAt + 1]) : null;
const EXAMS = 100000;
const runsAt = process.argv.indexOf('--runs');
const COLD_RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 7;
const CHROMIUM = process.env.FETAL_CHROMIUM ?? '/usr/bin/chromium';
// FETAL_CHROMIUM_JS_FLAGS: V8 flags for the bench's Chromium (a diagnosis, e.g. of --code-cache).
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ...(process.env.FETAL_CHROMIUM_JS_FLAGS ? [`--js-flags=${process.env.FETAL_CHROMIUM_JS_FLAGS}`] : [])];

const MIME = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8', '.csv': 'text/csv', '.fhm': 'application/octet-stream' };

// The page a deployment would write: preload hints for the module, its glue, the wasm and the
// bundle (as web/index.html has), so the four downloads run in parallel, and the wasm compiled
// while it streams in, before fetal.js has loaded (loadFetal's wasmModule option).
const COLD_PAGE = (model, dist = 'dist') => `<!doctype html><meta charset="utf-8"><title>cold start</title>
<link rel="modulepreload" href="/${dist}/fetal.js">
<link rel="modulepreload" href="/${dist}/fetal-core.js">
<link rel="preload" href="/${dist}/fetal-core.wasm" as="fetch" type="application/wasm" crossorigin>
<link rel="preload" href="/model/${model}.fhm" as="fetch" crossorigin>
<script type="module">
  const marks = {};
  const exam = [120,0,0,0,0,0,0,73,0.5,43,2.4,64,62,126,2,0,120,137,121,73,1];
  const bundle = fetch('/model/${model}.fhm').then((r) => r.arrayBuffer())
    .then((b) => { marks.bundleMs = performance.now(); return b; });
  const wasmModule = WebAssembly.compileStreaming(fetch('/${dist}/fetal-core.wasm'));
  const { loadFetal } = await import('/${dist}/fetal.js');
  marks.importMs = performance.now();
  const runtime = await loadFetal({ wasmModule });
  marks.runtimeMs = performance.now();
  const bytes = await bundle;
  marks.loadStartMs = performance.now();
  const loaded = await runtime.loadModelAsync(bytes);
  marks.modelMs = performance.now();
  // The first classification: class and calibrated probabilities (predict), then the full
  // result the app shows (classify: + TreeSHAP, OOD, FIGO).
  const probabilities = loaded.model.predict(exam);
  marks.ms = performance.now();
  const outcome = loaded.model.classify(exam);
  marks.fullMs = performance.now();
  marks.ok = outcome.ok && Math.abs(probabilities[0] - outcome.result.probabilities[0]) < 1e-6;
  window.__cold = marks;
</script>`;

const BENCH_PAGE = (dist) => `<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
  import { loadFetal } from '/${dist}/fetal.js';
  import { measureModel } from '/bench/measure.mjs';
  window.__bench = async (model, exams) => {
    const runtime = await loadFetal();
    const bytes = new Uint8Array(await (await fetch('/model/' + model + '.fhm')).arrayBuffer());
    const csv = runtime.parseCsv(await (await fetch('/dataset.csv')).text());
    const loaded = runtime.loadModel(bytes);
    // 5 us timer when cross-origin isolated: blocks of 25 calls; 100 us otherwise: blocks of 500.
    const blockSize = crossOriginIsolated ? 25 : 500;
    const result = measureModel(loaded.model, csv.features, { exams, blockSize });
    loaded.model.dispose();
    return { ...result, crossOriginIsolated, userAgent: navigator.userAgent };
  };
  window.__ready = true;
</script>`;

// The built web app (web/dist), as a static host would serve it; no API behind it, so the app
// runs on its built-in default model, as it does offline.
function serveApp(root, relative, res) {
  const file = path.resolve(root, relative || 'index.html');
  if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  const type = MIME[path.extname(file)] ?? (file.endsWith('.json') || file.endsWith('.webmanifest')
    ? 'application/json' : file.endsWith('.css') ? 'text/css' : file.endsWith('.svg') ? 'image/svg+xml'
    : 'application/octet-stream');
  res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' }).end(readFileSync(file));
}

// Marks the moment the app says it is ready (body[data-ready], set once the runtime, the model
// and the exam form are up) as window.__appReady, and the first paint of the exam form (its title,
// elementtiming="exam-form": Element Timing's renderTime, when the frame that shows it was
// presented) as window.__formPainted, in every page of the context. The two differ by the form's
// style, layout and paint, which run after the app's last script of start-up.
async function watchAppReady(context) {
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.ready === 'true') {
        window.__appReady = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.identifier === 'exam-form' && window.__formPainted === undefined) window.__formPainted = entry.renderTime || entry.loadTime;
      }
    }).observe({ type: 'element', buffered: true });
  });
}

// One navigation to the app: ms from navigation to ready and to the form's first paint, and the
// stages web/src/main.ts marks (fetal:script, :runtime, :model, :rendered).
async function appVisit(page, origin, app = 'app') {
  await page.goto(`${origin}/${app}/index.html`);
  await page.waitForFunction(() => window.__appReady, null, { timeout: 30000 });
  // A build without the attribute (an older --previous-app) has no paint figure: NaN.
  await page.waitForFunction(() => window.__formPainted || !document.querySelector('[elementtiming="exam-form"]'), null, { timeout: 30000 });
  return page.evaluate(() => ({
    ms: window.__appReady,
    paintedMs: window.__formPainted ?? NaN,
    stages: Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('fetal:'))
      .map((m) => [m.name.slice('fetal:'.length), m.startTime])),
    fromServiceWorker: navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined,
  }));
}

function medianStages(stages) {
  const out = {};
  for (const key of Object.keys(stages[0] ?? {})) out[key] = median(stages.map((s) => s[key]));
  return out;
}

// Cold start of the whole app: navigation until it is ready, in a new browser context each time
// (empty caches, no service worker). Each run is followed by one of the runtime's own cold page
// (the default model's first possible classification), so the two see the same machine load:
// `gapMs` is the median of the per-pair differences, app minus runtime. With --previous-app,
// that build's runs alternate with this one's (`previous`: its figures, measured the same way).
async function appColdStart(origin) {
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) return null;
  const builds = [{ app: 'app', runs: [], runtime: [] }];
  if (PREVIOUS_APP) builds.push({ app: 'previous-app', runs: [], runtime: [] });
  for (let i = 0; i < COLD_RUNS; ++i) {
    for (const build of i % 2 ? [...builds].reverse() : builds) {
      await withBrowser(async (context) => {
        await watchAppReady(context);
        const page = context.pages()[0] ?? await context.newPage();
        build.runs.push(await appVisit(page, origin, build.app));
      });
      await withBrowser(async (context) => {
        const page = context.pages()[0] ?? await context.newPage();
        build.runtime.push((await runtimeVisit(page, origin, 'default')).ms);
      });
    }
  }
  const figures = ({ runs, runtime }) => {
    const ms = runs.map((r) => r.ms);
    const painted = runs.map((r) => r.paintedMs);
    return {
      runs: runs.length, medianMs: median(ms), all: ms, stagesMs: medianStages(runs.map((r) => r.stages)),
      runtimeMedianMs: median(runtime), runtimeAll: runtime, gapMs: median(ms.map((m, i) => m - runtime[i])),
      paintedMedianMs: median(painted), paintedAll: painted, paintedGapMs: median(painted.map((m, i) => m - runtime[i])),
    };
  };
  return { ...figures(builds[0]), previous: PREVIOUS_APP ? figures(builds[1]) : null };
}

// A second visit, as a clinician's browser makes it: a real (persistent) profile whose first
// visit installed the service worker and stayed open CODE_CACHE_DWELL_MS, then new pages that
// navigate to the app again, the worker stopped before each (workersStopped). A private context
// (what browser.newContext() gives) keeps nothing between pages; a real profile keeps the
// service worker, its cache and the scripts' code cache. V8 would write the wasm's optimized code
// to the cache 2 s after the last of it was produced, which is what the dwell leaves room for;
// on this platform it never does (codeCacheCheck, --code-cache), so every visit compiles the
// wasm's functions on first call and runs the model loader unoptimized.
// Each app visit is paired with one of FLOOR_PAGE in the same profile: the platform's own cost of
// a second visit, which the app's figure includes; `gapMs` is the median of app minus floor.
const CODE_CACHE_DWELL_MS = 3000;
async function appSecondVisit(origin) {
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) return null;
  return withBrowser(async (context) => {
    await watchAppReady(context);
    const first = context.pages()[0] ?? await context.newPage();
    await appVisit(first, origin);
    await first.evaluate(() => navigator.serviceWorker.ready);
    const floorFirst = await context.newPage();
    await floorVisit(floorFirst, origin);
    await floorFirst.evaluate(() => navigator.serviceWorker.ready);
    await floorFirst.close();
    await new Promise((resolve) => setTimeout(resolve, CODE_CACHE_DWELL_MS));
    await first.close();
    const runs = [];
    const floor = [];
    for (let i = 0; i < COLD_RUNS; ++i) {
      const page = await workersStopped(context);
      runs.push(await appVisit(page, origin));
      await page.close();
      const floorPage = await workersStopped(context);
      floor.push(await floorVisit(floorPage, origin));
      await floorPage.close();
    }
    if (!runs.every((r) => r.fromServiceWorker) || !floor.every((r) => r.fromServiceWorker)) {
      throw new Error('second visit: a page was not controlled by the service worker');
    }
    const ms = runs.map((r) => r.ms);
    const painted = runs.map((r) => r.paintedMs);
    const floorMs = floor.map((r) => r.ms);
    return {
      runs: runs.length, medianMs: median(ms), all: ms, stagesMs: medianStages(runs.map((r) => r.stages)),
      floorMedianMs: median(floorMs), floorAll: floorMs, gapMs: median(ms.map((m, i) => m - floorMs[i])),
      paintedMedianMs: median(painted), paintedAll: painted,
    };
  }, 'process');
}

// Whether Chromium keeps the wasm's compiled code for the next visit, from a trace: a first visit
// of the app in a real profile, left open CODE_CACHE_DWELL_MS (plus a margin), then a second
// visit as appSecondVisit makes it. Counts the events Blink traces when V8 hands it a module to
// cache (v8.wasm.cachedModule, first visit) and when a compile finds one (v8.wasm.moduleCacheHit,
// second visit), and the functions the second visit compiled on first call (wasm.CompileLazy):
// with a cache hit, those that were optimized on the first visit are not among them.
async function codeCacheCheck(origin) {
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) return null;
  return withBrowser(async (context) => {
    await watchAppReady(context);
    const holder = context.pages()[0] ?? await context.newPage();  // hosts the trace session
    const cdp = await context.newCDPSession(holder);
    const events = [];
    cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.start', {
      traceConfig: { includedCategories: ['disabled-by-default-devtools.timeline', 'v8.wasm',
        'disabled-by-default-v8.wasm.detailed', 'blink.user_timing'] },
      transferMode: 'ReportEvents',
    });
    const first = await context.newPage();
    await appVisit(first, origin);
    await first.evaluate(() => navigator.serviceWorker.ready);
    await new Promise((resolve) => setTimeout(resolve, CODE_CACHE_DWELL_MS + 500));
    await first.close();
    await holder.evaluate(() => performance.mark('fetal-bench:second-visit'));
    const second = await workersStopped(context);
    const visit = await appVisit(second, origin);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await cdp.send('Tracing.end');
    await Promise.race([complete, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    const split = events.find((e) => e.name === 'fetal-bench:second-visit')?.ts;
    if (split === undefined) throw new Error('code cache check: the trace lost its own mark');
    const count = (name, after) => events.filter((e) => e.name === name && (after ? e.ts > split : e.ts < split)).length;
    return {
      cachedOnFirstVisit: count('v8.wasm.cachedModule', false),
      compiledModuleCallbacks: count('v8.wasm.compiledModule', false),
      cacheHitsOnSecondVisit: count('v8.wasm.moduleCacheHit', true),
      lazyCompilationsOnSecondVisit: count('wasm.CompileLazy', true),
      optimizedOnFirstVisit: count('wasm.TopTierCompilation', false),
      secondVisitMs: visit.ms,
    };
  }, 'process');
}

// A new page, with every service worker of the profile stopped first: a clinician's next visit
// comes long after the browser stopped the worker (30 s after its last event), so the worker's
// start-up is part of it unless static routes let the browser answer without it.
async function workersStopped(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
  return page;
}

// The floor of a second visit: a page whose one module script marks it ready, served (like the
// app) by its own service worker from its cache, with static routes where the browser has them.
const FLOOR_PAGE = `<!doctype html><meta charset="utf-8"><title>floor</title>
<script type="module" src="ready.js"></script><body>`;
const FLOOR_READY = `window.__floorReady = performance.now();
if (!navigator.serviceWorker.controller) navigator.serviceWorker.register('sw.js');`;
const FLOOR_SW = `const CACHE = 'floor';
const files = ['index.html', 'ready.js'].map((f) => new URL(f, registration.scope));
self.addEventListener('install', (event) => event.waitUntil((async () => {
  await (await caches.open(CACHE)).addAll(files.map((u) => u.href));
  await event.addRoutes?.(files.map((u) => ({
    condition: { urlPattern: { protocol: u.protocol.slice(0, -1), hostname: u.hostname, port: u.port, pathname: u.pathname, search: '' } },
    source: { cacheName: CACHE } })));
  await self.skipWaiting();
})()));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => event.respondWith(
  caches.open(CACHE).then((c) => c.match(event.request)).then((r) => r ?? fetch(event.request))));`;
async function floorVisit(page, origin) {
  await page.goto(`${origin}/floor/index.html`);
  await page.waitForFunction(() => window.__floorReady, null, { timeout: 30000 });
  return page.evaluate(() => ({ ms: window.__floorReady, fromServiceWorker: Boolean(navigator.serviceWorker.controller) }));
}

function serve(models) {
  const routes = new Map([

    ['/bench.html', { body: BENCH_PAGE('dist'), type: MIME['.html'], isolated: true }],
    ['/bench-previous.html', { body: BENCH_PAGE('previous'), type: MIME['.html'], isolated: true }],
    ['/bench/measure.mjs', { file: path.join(HERE, 'measure.mjs') }],
    ['/dataset.csv', { file: DATASET }],
    ['/floor/index.html', { body: FLOOR_PAGE, type: MIME['.html'] }],
    ['/floor/ready.js', { body: FLOOR_READY, type: MIME['.js'] }],
    ['/floor/sw.js', { body: FLOOR_SW, type: MIME['.js'] }],
  ]);
  for (const name of ['fetal.js', 'fetal-core.js', 'fetal-core.wasm']) {
    routes.set(`/dist/${name}`, { file: path.join(WASM_DIST, name) });
    if (PREVIOUS_DIST) routes.set(`/previous/${name}`, { file: path.join(PREVIOUS_DIST, name) });
  }
  for (const { name, file } of models) routes.set(`/model/${name}.fhm`, { file });
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    if (pathname.startsWith('/app/')) {
      serveApp(WEB_DIST, pathname.slice('/app/'.length), res);
      return;
    }
    if (PREVIOUS_APP && pathname.startsWith('/previous-app/')) {
      serveApp(PREVIOUS_APP, pathname.slice('/previous-app/'.length), res);
      return;
    }
    const query = new URL(req.url, 'http://x').searchParams;
    const route = pathname === '/cold.html'
      ? { body: COLD_PAGE(query.get('model'), query.get('dist') ?? 'dist'), type: MIME['.html'] }
      : routes.get(pathname);
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const body = route.body ?? readFileSync(route.file);
    const headers = {
      'Content-Type': route.type ?? MIME[path.extname(route.file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
      // Same-origin resources are fine under COEP require-corp; say so explicitly anyway.
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (route.isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Two kinds of cold page load, both with an empty HTTP cache, no compiled-code cache, no
// service worker and no storage:
// - 'context': a new browser context in a Chromium that is already running (how a clinician
//   opens the app: the browser is up, the page has never been loaded). The headline figure.
// - 'process': a new Chromium process with a new profile for every run; its first navigation
//   also pays for starting the browser's network service (~30-50 ms more on this VM).
let runningBrowser = null;
async function withBrowser(fn, kind = 'context') {
  if (kind === 'context') {
    runningBrowser ??= await launchChromium(() => chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS }));
    const context = await runningBrowser.newContext();
    context.chromiumPid = runningBrowser.chromiumPid; // a context that does not close ends its browser
    try {
      return await fn(context);
    } finally {
      await closeChromium(context);
    }
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'fetal-bench-chromium-'));
  const context = await launchChromium(() => chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS,
  }));
  try {
    return await fn(context);
  } finally {
    try {
      await closeChromium(context);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  }
}

// One load of the runtime's cold page (COLD_PAGE): its marks, checked.
async function runtimeVisit(page, origin, model, dist = 'dist') {
  await page.goto(`${origin}/cold.html?model=${model}&dist=${dist}`);
  await page.waitForFunction(() => window.__cold, null, { timeout: 30000 });
  const cold = await page.evaluate(() => window.__cold);
  if (!cold.ok) throw new Error('cold start: the first classification failed or disagreed');
  return cold;
}

// Cold runs of the runtime page (see withBrowser for the two kinds), and warm reloads.
async function coldStart(origin, model, kind) {
  const runs = [];
  const stages = [];
  const warm = [];
  for (let i = 0; i < COLD_RUNS; ++i) {
    await withBrowser(async (context) => {
      const page = context.pages()[0] ?? await context.newPage();
      const cold = await runtimeVisit(page, origin, model);
      runs.push(cold.ms);
      stages.push(cold);
      if (i === 0) {
        // Warm: reloads in the same profile (HTTP cache revalidated, compiled code cached).
        for (let k = 0; k < 3; ++k) {
          await page.reload();
          await page.waitForFunction(() => window.__cold, null, { timeout: 30000 });
          warm.push((await page.evaluate(() => window.__cold)).ms);
        }
      }
    }, kind);
  }
  const stage = (key) => median(stages.map((s) => s[key]));
  return {
    kind, runs: runs.length, medianMs: median(runs), warmMedianMs: median(warm), all: runs, warm,
    fullResultMedianMs: median(stages.map((s) => s.fullMs)),
    stagesMs: { fetalJsImported: stage('importMs'), wasmInstantiated: stage('runtimeMs'),
      bundleFetched: stage('bundleMs'), modelLoaded: stage('modelMs'), firstClassification: stage('ms'),
      firstFullResult: stage('fullMs') },
    modelLoadMedianMs: median(stages.map((s) => s.modelMs - s.loadStartMs)),
  };
}

// The model load alone (loadModelAsync, the first in a cold page) of this build and the
// previous one, alternating page by page in new contexts so that machine load falls on both.
async function modelLoadBeside(origin) {
  const loads = { dist: [], previous: [] };
  for (let i = 0; i < COLD_RUNS; ++i) {
    for (const dist of i % 2 ? ['previous', 'dist'] : ['dist', 'previous']) {
      await withBrowser(async (context) => {
        const page = context.pages()[0] ?? await context.newPage();
        const cold = await runtimeVisit(page, origin, 'default', dist);
        loads[dist].push(cold.modelMs - cold.loadStartMs);
      });
    }
  }
  return {
    runs: COLD_RUNS, modelLoadMedianMs: median(loads.dist), previousModelLoadMedianMs: median(loads.previous),
    all: loads.dist, previousAll: loads.previous,
  };
}

const modelsAt = process.argv.indexOf('--models');
const models = modelPaths().filter((m) => modelsAt < 0 || process.argv[modelsAt + 1].split(',').includes(m.name));
const server = await serve(modelPaths());
const origin = `http://127.0.0.1:${server.address().port}`;
const report = { host: 'chromium', models: [], sizes: shippedBytes() };
const startOnly = process.argv.includes('--start-only');
// Runs `measure`, then closes the browser and the server whatever happened.
async function thenClose(measure) {
  try {
    return await measure();
  } finally {
    try {
      await closeChromium(runningBrowser);
    } finally {
      await closeHttpServer(server);
    }
  }
}

if (process.argv.includes('--code-cache')) {
  const c = await thenClose(() => codeCacheCheck(origin));
  if (!c) throw new Error('--code-cache needs the web app (scripts/build-web.sh)');
  console.log(`wasm code cache: first visit (open ${(CODE_CACHE_DWELL_MS + 500) / 1000} s): ${c.optimizedOnFirstVisit} functions optimized, ` +
    `${c.compiledModuleCallbacks} hand-overs to the cache (v8.wasm.compiledModule), ${c.cachedOnFirstVisit} modules cached (v8.wasm.cachedModule); ` +
    `second visit (${c.secondVisitMs.toFixed(0)} ms to ready): ${c.cacheHitsOnSecondVisit} cache hits (v8.wasm.moduleCacheHit), ` +
    `${c.lazyCompilationsOnSecondVisit} functions compiled on first call (wasm.CompileLazy)`);
  process.exit(0);
}
if (process.argv.includes('--model-load')) {
  if (!PREVIOUS_DIST) throw new Error('--model-load needs --previous DIST');
  const figures = await thenClose(() => modelLoadBeside(origin));
  console.log(`model load, cold page, default model, median of ${figures.runs}: this build ${figures.modelLoadMedianMs.toFixed(1)} ms, previous ${figures.previousModelLoadMedianMs.toFixed(1)} ms`);
  console.log(JSON.stringify(figures));
  process.exit(0);
}
await thenClose(async () => {
  const withApp = startOnly || modelsAt < 0;
  report.appColdStart = withApp ? await appColdStart(origin) : null;
  report.appSecondVisit = withApp ? await appSecondVisit(origin) : null;
  if (process.argv.includes('--cold-only')) console.log('app', JSON.stringify(report.appColdStart));
  for (const { name, file } of startOnly ? [] : models) {
    const coldStartFigures = await coldStart(origin, name, 'context');
    const newProcessColdStart = await coldStart(origin, name, 'process');
    if (process.argv.includes('--cold-only')) {
      console.log(name, JSON.stringify(coldStartFigures));
      console.log(name, 'new process', JSON.stringify(newProcessColdStart));
      continue;
    }
    const measure = (pagePath) => withBrowser(async (context) => {
      const page = context.pages()[0] ?? await context.newPage();
      page.on('console', (msg) => { if (msg.type() === 'error') console.error('[page]', msg.text()); });
      await page.goto(`${origin}${pagePath}`);
      await page.waitForFunction(() => window.__ready, null, { timeout: 30000 });
      return page.evaluate(([m, n]) => window.__bench(m, n), [name, EXAMS]);
    });
    const wasm = await measure('/bench.html');
    const previous = PREVIOUS_DIST ? await measure('/bench-previous.html') : null;
    report.userAgent = wasm.userAgent;
    report.crossOriginIsolated = wasm.crossOriginIsolated;
    const bytes = readFileSync(file);
    report.models.push({
      name,
      trees: null,
      bundleBytes: bytes.length,
      coldStart: coldStartFigures,
      newProcessColdStart,
      wasm,
      previous,
      native: nativeFigures(file, { exams: EXAMS }),
    });
    report.models.at(-1).trees = report.models.at(-1).native.trees;
  }
});
const jsonAt = process.argv.indexOf('--json');
if (process.argv.includes('--cold-only')) process.exit(0);
if (startOnly) {
  printStartUp(report);
  if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(report, null, 2));
  process.exit(0);
}
printReport('chromium', report);
printStartUp(report);
console.log(`(${report.userAgent}; cross-origin isolated timers: ${report.crossOriginIsolated})`);
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(report, null, 2));

// The whole app's start next to the runtime's own first classification, same run.
function printStartUp(r) {
  const stages = (s) => Object.entries(s).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
  const painted = (f, versus) => Number.isNaN(f.paintedMedianMs) ? '  the form\'s first paint: not measured (no elementtiming="exam-form" in this build)'
    : `  the form's first paint (Element Timing): median ${f.paintedMedianMs.toFixed(1)} ms${versus !== undefined ? `; minus the runtime's page, median of the pairs: ${versus.toFixed(1)} ms` : ''} (runs ${f.paintedAll.map((x) => x.toFixed(0)).join(' ')})`;
  if (!r.appColdStart) {
    console.log('whole app: web/dist not built (scripts/build-web.sh), app start not measured');
    return;
  }
  const a = r.appColdStart;
  console.log(`whole app (web/dist, built-in model, no server): navigation to ready form, median of ${a.runs} cold starts: ${a.medianMs.toFixed(1)} ms (stages, ms from navigation: ${stages(a.stagesMs)})`);
  console.log(`  the runtime's own cold page, each run right after the app's (default model): first possible classification, median ${a.runtimeMedianMs.toFixed(1)} ms; app ready minus that, median of the ${a.runs} pairs: ${a.gapMs.toFixed(1)} ms (app runs ${a.all.map((x) => x.toFixed(0)).join(' ')}; runtime ${a.runtimeAll.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(painted(a, a.paintedGapMs));
  if (a.previous) {
    const p = a.previous;
    console.log(`previous app (${PREVIOUS_APP}), its runs alternating with these: navigation to ready form, median ${p.medianMs.toFixed(1)} ms (stages: ${stages(p.stagesMs)}); the runtime's page after each, median ${p.runtimeMedianMs.toFixed(1)} ms; app ready minus that, median of the ${p.runs} pairs: ${p.gapMs.toFixed(1)} ms (app runs ${p.all.map((x) => x.toFixed(0)).join(' ')})`);
    console.log(painted(p, p.paintedGapMs));
  }
  if (r.appSecondVisit) {
    const v = r.appSecondVisit;
    console.log(`whole app, second visit (service worker, a real profile): navigation to ready form, median of ${v.runs}: ${v.medianMs.toFixed(1)} ms (stages: ${stages(v.stagesMs)})`);
    console.log(`  the floor, a one-script page served by its own service worker, each run right after the app's: median ${v.floorMedianMs.toFixed(1)} ms; app minus floor, median of the ${v.runs} pairs: ${v.gapMs.toFixed(1)} ms (app runs ${v.all.map((x) => x.toFixed(0)).join(' ')}; floor ${v.floorAll.map((x) => x.toFixed(0)).join(' ')})`);
    console.log(painted(v));
  }
}
