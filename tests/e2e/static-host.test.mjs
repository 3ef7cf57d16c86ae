// The app on a plain static host with no API at all (Node's own HTTP server serving web/dist):
// it loads, classifies with the model it ships, works offline after the first visit, and says
// that there is no server to update from instead of failing.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, missingPrerequisite, openApp, tearDown, webRoot } from './helpers.mjs';
import { closeHttpServer } from './shutdown.mjs';

const skip = missingPrerequisite();
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json',
};

describe('plain static host', { skip: skip ?? false }, () => {
  let host, base, context, page;

  before(async () => {
    host = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
      let file = join(webRoot, path);
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!file.startsWith(webRoot) || !existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      createReadStream(file).pipe(res);
    });
    await new Promise((r) => host.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${host.address().port}`;
    context = await launchBrowser('static');
    page = await openApp(context, base);
  });

  after(() => tearDown(context, host));

  test('classifies with the shipped model, also after the host goes away', async () => {
    await page.click('[data-sample="suspect"]');
    await page.click('#classify');
    assert.equal(await page.textContent('[data-testid="result-class"]'), 'Suspect');
    assert.match(await page.textContent('[data-testid="sample-note"]'), /never submitted/);
    await page.click('#nav-model');
    await page.waitForSelector('[data-testid="update-status"][data-code="unreachable"]');
    assert.equal(await page.textContent('[data-testid="model-page-version"]'), '1');

    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 15_000 });
    await closeHttpServer(host);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#nav-exam');
    await page.click('[data-sample="pathological"]');
    await page.click('#classify');
    assert.equal(await page.textContent('[data-testid="result-class"]'), 'Pathological');
  });
});
