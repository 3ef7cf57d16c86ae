// Loads a module of web/src (TypeScript) in Node for unit tests: esbuild bundles it with what it
// imports, as the app's build does. Only modules that touch no DOM at import time can be loaded.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../web/src');

export async function loadWebModule(name) {
  const out = await build({
    entryPoints: [join(src, name)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}
