/// <reference lib="webworker" />
// Service worker: precaches the app shell, the WASM runtime and the built-in model at install, and
// serves them cache-first so the app loads and classifies with no network. The cache name carries
// the build id, so a new build installs beside the old one and replaces it on activation.
// API calls (/api/...) always go to the network: the app's own queue and update logic decide
// what to do when they fail. A model installed from the server lives in IndexedDB.
// Where the browser has static routes (Chromium 123+), the same rules are also declared at
// install, so a later visit loads the shell and its assets straight from the cache without
// starting this worker or passing each request through it (on the development VM that did not
// measurably shorten a second visit: bench/wasm/RESULTS.md); the fetch handler below serves the
// rest, and every request in browsers without static routes.

declare const __PRECACHE__: string[];
declare const __BUILD_ID__: string;
const sw = self as unknown as ServiceWorkerGlobalScope;

const CACHE = `fetal-health-${__BUILD_ID__}`;
const scope = new URL(sw.registration.scope);
const urls = __PRECACHE__.map((path) => new URL(path, scope).href);
const shell = new URL('index.html', scope).href;
const apiPath = new URL('api/', scope).pathname;
// The cache, opened once per worker start rather than once per request.
let opened: Promise<Cache> | undefined;

// The static routing API (not in TypeScript's lib yet): rules are tried in order, the first
// whose condition matches decides; 'network' and {cacheName} never start the worker.
interface RouterCondition {
  urlPattern?: { protocol: string; hostname: string; port: string; pathname: string; search?: string };
  requestMethod?: string;
}
interface RouterRule {
  condition: RouterCondition;
  source: 'network' | { cacheName: string };
}
type RoutingInstallEvent = ExtendableEvent & { addRoutes?: (rules: RouterRule[]) => Promise<void> };

// Exactly the precached URLs (no query: the handler's ignoreSearch fallback stays there) from
// this build's cache; the API from the network. A cache miss goes to the network, as below.
function staticRoutes(): RouterRule[] {
  const at = (pathname: string, search?: string) => ({
    protocol: scope.protocol.slice(0, -1), hostname: scope.hostname, port: scope.port, pathname, search,
  });
  return [
    { condition: { urlPattern: at(`${apiPath}*`) }, source: 'network' },
    ...urls.map((u) => ({
      condition: { urlPattern: at(new URL(u).pathname, ''), requestMethod: 'GET' },
      source: { cacheName: CACHE },
    })),
  ];
}

sw.addEventListener('install', (event: RoutingInstallEvent) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(urls.map((u) => new Request(u, { cache: 'reload' })));
      // A browser that rejects the rules, by a rejection or a throw, still has the fetch
      // handler: not a reason to fail the install.
      try {
        await event.addRoutes?.(staticRoutes());
      } catch (e) {
        console.warn('static routes not added', e);
      }
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
  if (url.pathname.startsWith(apiPath)) return;
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
