// The built index.html asks for the start-up path first. A browser opens at most six HTTP/1.1
// connections to a host; a request behind six others waits for one of them to finish, so on a
// cold visit the order of the head's fetches decides when boot.js and app.js can start.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../../web/dist');
const built = existsSync(join(dist, 'index.html')) && existsSync(join(dist, 'app.js'));

// Every file the head makes the browser fetch, in document order (the order the preload
// scanner requests them in).
function headFetches(html) {
  const head = html.slice(0, html.indexOf('</head>')).replace(/<!--[\s\S]*?-->/g, '');
  const out = [];
  for (const [tag] of head.matchAll(/<(?:script|link)\b[^>]*>/g)) {
    const url = /\s(?:src|href)="([^"]+)"/.exec(tag)?.[1];
    if (url) out.push(url);
  }
  return out;
}

test('the head fetches boot.js, the stylesheet, the runtime, the model and app.js before anything else', { skip: built ? false : 'web/dist is not built (scripts/build-web.sh)' }, () => {
  const fetches = headFetches(readFileSync(join(dist, 'index.html'), 'utf8'));
  // boot.js first: it starts the wasm's compilation and the model's load. The stylesheet next:
  // app.js, a deferred module, does not run before it is in.
  assert.deepEqual(fetches.slice(0, 7),
    ['boot.js', 'styles.css', 'fetal-core.wasm', 'model/default.fhm', 'fetal.js', 'fetal-core.js', 'app.js']);
  // The chunks app.js imports come next (web/build.mjs adds them), then the rest.
  const chunks = [...readFileSync(join(dist, 'app.js'), 'utf8').matchAll(/from\s*"\.\/(chunk-[\w-]+\.js)"/g)]
    .map((m) => m[1]);
  assert.ok(chunks.length > 0, 'app.js imports no chunk: the pattern above no longer matches esbuild\'s output');
  assert.deepEqual(fetches.slice(7, 7 + chunks.length).sort(), [...new Set(chunks)].sort());
  // Read after the form is shown, not on the way to it.
  assert.ok(!fetches.some((f) => f.includes('card.json')), fetches.join(' '));
});
