/// <reference lib="webworker" />
// Service worker: precaches the app shell, the WASM runtime and the built-in model at install, and
// serves them cache-first so the app loads and classifies with no network. The cache name carries
// the build id, so a new build installs beside the old one and replaces it on activation.
// API calls (/api/...) always go to the network: the app's own queue and update logic decide
// what to do when they fail. A model installed from the server lives in IndexedDB.

declare const __PRECACHE__: string[];
declare const __BUILD_ID__: string;
const sw = self as unknown as ServiceWorkerGlobalScope;

const CACHE = `fetal-health-${__BUILD_ID__}`;
const scope = new URL(sw.registration.scope);
const urls = __PRECACHE__.map((path) => new URL(path, scope).href);
const shell = new URL('index.html', scope).href;
// The cache, opened once per worker start rather than once per request.
let opened: Promise<Cache> | undefined;

sw.addEventListener('install', (event: ExtendableEvent) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(urls.map((u) => new Request(u, { cache: 'reload' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('fetal-health-') && name !== CACHE) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event: FetchEvent) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin || !url.href.startsWith(scope.href)) return;
  if (url.pathname.startsWith(new URL('api/', scope).pathname)) return;
  event.respondWith(
    (async () => {
      const cache = await (opened ??= caches.open(CACHE));
      if (request.mode === 'navigate') {
        const hit = await cache.match(shell);
        if (hit) return hit;
      }
      // An exact match first: with ignoreSearch Chromium compares the request against every
      // entry; the app's own requests carry no query.
      const hit = (await cache.match(request)) ?? (url.search ? await cache.match(request, { ignoreSearch: true }) : undefined);
      if (hit) return hit;
      return fetch(request);
    })(),
  );
});
