// One cold start in a fresh Node process: from this script's first line to the first possible
// classification (module import, wasm compile + instantiate, bundle parse, first predict), and
// to the first full result (classify: + TreeSHAP, OOD, FIGO); modelLoadMs is the model load
// alone (loadModelAsync: content hash, bundle parse, evaluator built), the first in the process.
// Usage: node node-cold-start.mjs DIST_DIR BUNDLE   (prints JSON)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const t0 = performance.now();
const [dist, bundle] = process.argv.slice(2);
const { loadFetal } = await import(pathToFileURL(path.join(dist, 'fetal.js')).href);
const runtime = await loadFetal();
const tRuntime = performance.now();
const bytes = readFileSync(bundle);
const tRead = performance.now();
const loaded = await runtime.loadModelAsync(bytes);
const tLoaded = performance.now();
if (!loaded.ok) throw new Error(loaded.error.message);
const exam = [120, 0, 0, 0, 0, 0, 0, 73, 0.5, 43, 2.4, 64, 62, 126, 2, 0, 120, 137, 121, 73, 1];
loaded.model.predict(exam);
const tFirst = performance.now();
const outcome = loaded.model.classify(exam);
const tFull = performance.now();
console.log(JSON.stringify({
  ok: outcome.ok, runtimeMs: tRuntime - t0, modelLoadMs: tLoaded - tRead,
  firstClassificationMs: tFirst - t0,
  firstFullResultMs: tFull - t0, sinceProcessStartMs: tFirst,
}));
