// Entry point: loads the WASM runtime and the model, wires the views to hash routes, registers
// the service worker, and starts the submission queue and the model update checks.

import { loadFetal } from './fetal.js';
import type { FetalRuntime, LoadModelResult } from './fetal.js';
import { $, h, replaceChildren } from './dom.js';
import { open as openDatabase } from './db.js';
import { setSchema } from './format.js';
import { initialLang, LANGS, lang, onLangChange, setLang, t, type Lang } from './i18n.js';
import { initModels, loadBuiltin, onModelChange, startPeriodicChecks } from './models.js';
import * as exam from './exam.js';
import * as batch from './batch.js';
import * as history from './history.js';
import * as modelPage from './modelpage.js';
import * as settings from './settings.js';
import { getToken, onQueueChange, startQueue } from './submit.js';
import { checkSession, mayAudit, mayMonitor, onSessionChange, restoreSession } from './session.js';
import { onReachabilityChange, serverReachable } from './net.js';

// What boot.js leaves in globalThis.__fetalBoot.
interface Boot {
  runtime: FetalRuntime;
  builtin: LoadModelResult;
}

type View = 'exam' | 'batch' | 'history' | 'model' | 'monitoring' | 'registry' | 'releases' | 'audit' | 'settings';
const VIEWS: View[] = ['exam', 'batch', 'history', 'model', 'monitoring', 'registry', 'releases', 'audit', 'settings'];
const OPS_VIEWS: View[] = ['monitoring', 'registry', 'releases', 'audit'];

// The operations views are offered to the tokens that may use them (the server enforces it).
function offered(v: View): boolean {
  if (v === 'monitoring' || v === 'registry' || v === 'releases') return mayMonitor();
  if (v === 'audit') return mayAudit();
  return true;
}

// The operations views' code (ops.ts), loaded when one is first shown.
type Ops = typeof import('./ops.js');
let ops: Promise<Ops> | null = null;
function opsViews(): Promise<Ops> {
  ops ??= import('./ops.js').then((m) => {
    m.dashboard.initDashboard(containers.monitoring);
    m.audit.initAudit(containers.audit);
    m.registry.initRegistry(containers.registry);
    m.releases.initReleases(containers.releases);
    return m;
  }, (e: unknown) => {
    ops = null;  // try again next time
    replaceChildren(containers[current], h('p', { class: 'error-summary', role: 'alert' }, t('app.loadFailed', { message: String(e) })));
    throw e;
  });
  return ops;
}
const LANG_NAMES: Record<Lang, string> = { en: 'English', 'pt-BR': 'Português (Brasil)' };

let current: View = 'exam';
const containers = {} as Record<View, HTMLElement>;

function viewFromHash(): View {
  const v = location.hash.replace(/^#\/?/, '') as View;
  return VIEWS.includes(v) ? v : 'exam';
}

function netStatus(): HTMLElement {
  const state = !navigator.onLine ? 'offline' : serverReachable() === false ? 'unreachable' : 'online';
  return h('span', { id: 'net-status', class: state === 'online' ? 'online' : 'offline', role: 'status', 'data-state': state },
    t(`app.${state}`));
}

function renderHeader(): void {
  const header = $('#app-header');
  const select = h('select', { id: 'lang', 'aria-label': t('lang.label') },
    LANGS.map((l) => h('option', { value: l, lang: l, selected: l === lang() }, LANG_NAMES[l]))) as HTMLSelectElement;
  select.addEventListener('change', () => setLang(select.value as Lang));
  replaceChildren(
    header,
    h('div', { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }, '♥'),
      h('span', {}, h('strong', {}, t('app.title')), h('span', { class: 'tagline' }, t('app.tagline')))),
    h('nav', { 'aria-label': t('nav.label') },
      h('ul', {}, VIEWS.filter((v) => offered(v) || v === current).map((v) =>
        h('li', {}, h('a', { href: `#/${v}`, id: `nav-${v}`, 'aria-current': v === current ? 'page' : null }, t(`nav.${v}`)))))),
    h('div', { class: 'header-tools' },
      netStatus(),
      h('label', { for: 'lang', class: 'sr-only' }, t('lang.label')),
      select),
  );
  document.title = `${t('app.title')} — ${t(`nav.${current}`)}`;
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('app.skip');
}

function renderView(): void {
  // Views keep their state in their modules and render when shown; a hidden view is emptied so
  // that nothing in another language (or stale) lingers in the DOM for assistive technology.
  for (const v of VIEWS) {
    containers[v].hidden = v !== current;
    if (v !== current) containers[v].replaceChildren();
  }
  switch (current) {
    case 'exam':
      exam.render();
      break;
    case 'batch':
      batch.render();
      break;
    case 'history':
      void history.render();
      break;
    case 'model':
      modelPage.render();
      break;
    case 'monitoring':
      void opsViews().then((m) => current === 'monitoring' && m.dashboard.render(), () => undefined);
      break;
    case 'registry':
      void opsViews().then((m) => current === 'registry' && m.registry.show(), () => undefined);
      break;
    case 'releases':
      void opsViews().then((m) => current === 'releases' && m.releases.show(), () => undefined);
      break;
    case 'audit':
      void opsViews().then((m) => current === 'audit' && m.audit.render(), () => undefined);
      break;
    case 'settings':
      void settings.render();
      break;
  }
}

function renderAll(): void {
  renderHeader();
  renderView();
}

async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('./sw.js', { scope: './' });
  } catch (e) {
    console.warn('service worker not registered', e);
  }
}

// Start-up stages as User Timing marks (DevTools' timeline, and bench/wasm/chromium-bench.mjs).
function mark(stage: string): void {
  performance.mark(`fetal:${stage}`);
}

// What boot.js started, or undefined on a page without it (or where it failed to load). boot.js
// is async and nearly always runs before this larger bundle, but not always (both may come from
// a cache at once); this bundle then waits for the load event, which waits for async scripts,
// rather than loading the runtime and the model a second time.
async function bootStarted(): Promise<Promise<Boot> | undefined> {
  const started = () => (globalThis as { __fetalBoot?: Promise<Boot> }).__fetalBoot;
  if (!started() && document.querySelector('script[src="boot.js"]') && document.readyState !== 'complete') {
    await new Promise((resolve) => window.addEventListener('load', resolve, { once: true }));
  }
  return started();
}

async function start(): Promise<void> {
  mark('script');
  setLang(initialLang());
  const main = $('#main');
  let rt: FetalRuntime;
  try {
    // Everything start-up needs, at once. boot.js (async, small, so it nearly always runs before
    // this bundle has downloaded) is compiling the wasm as it streams in, then instantiates the
    // runtime and loads the built-in model, marking fetal:runtime and fetal:model; without it
    // this does the same here. IndexedDB opens meanwhile. Nothing on the way to a ready exam form
    // waits for IndexedDB or for the model card (initModels, modelPage.loadCard).
    void openDatabase().catch(() => undefined);  // its errors surface where it is used
    const boot = await bootStarted();
    let builtin: Promise<LoadModelResult>;
    if (boot) {
      const booted = await boot;
      rt = booted.runtime;
      builtin = Promise.resolve(booted.builtin);
    } else {
      rt = await loadFetal({ wasmUrl: new URL('./fetal-core.wasm', import.meta.url) });
      mark('runtime');
      builtin = loadBuiltin(rt);
    }
    setSchema(rt.schema());
    await initModels(rt, builtin);
    if (!boot) mark('model');
  } catch (e) {
    replaceChildren(main, h('p', { class: 'error-summary', role: 'alert' }, t('app.loadFailed', { message: String(e) })));
    void registerServiceWorker();
    return;
  }
  replaceChildren(main);
  for (const v of VIEWS) {
    containers[v] = h('div', { id: `view-${v}`, class: 'view' });
    main.appendChild(containers[v]);
  }
  exam.initExam(rt, containers.exam);
  batch.initBatch(rt, containers.batch);
  history.initHistory(containers.history);
  modelPage.initModelPage(containers.model);
  settings.initSettings(containers.settings);

  current = viewFromHash();
  renderAll();
  window.addEventListener('hashchange', () => {
    current = viewFromHash();
    renderAll();
    const heading = containers[current].querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  });
  onLangChange(renderAll);
  onQueueChange(() => {
    if (current === 'history') void history.render();
  });
  onModelChange(() => {
    if (current === 'model') modelPage.render();
  });
  // A token's role decides the operations views: the header, and the view if it is one of them.
  onSessionChange(() => {
    renderHeader();
    if (OPS_VIEWS.includes(current)) renderView();
  });
  const net = () => renderHeader();
  onReachabilityChange(() => document.getElementById('net-status')?.replaceWith(netStatus()));
  window.addEventListener('online', net);
  window.addEventListener('offline', net);

  mark('rendered');
  document.body.dataset.ready = 'true';
  // None of this draws the form. Run in the same task, its first (cold) run kept the form from
  // being painted and taking input for 15-20 ms of a cold start (bench/wasm/RESULTS.md).
  afterNextPaint(() => {
    void modelPage.loadCard().then(() => {
      if (current === 'model') modelPage.render();
    });
    void registerServiceWorker();
    void settings.requestPersistence();
    startQueue();
    startPeriodicChecks();
    void (async () => {
      await restoreSession();
      const token = await getToken();
      if (token) await checkSession(token);
    })();
  });
}

// Runs fn in a task after the next frame is painted (a task queued from a frame callback runs
// after that frame's paint), or after 100 ms in a page that paints no frames (a hidden tab).
function afterNextPaint(fn: () => void): void {
  let ran = false;
  const once = () => {
    if (ran) return;
    ran = true;
    fn();
  };
  requestAnimationFrame(() => setTimeout(once, 0));
  setTimeout(once, 100);
}

void start();
