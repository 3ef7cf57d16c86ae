// The model load of two WebAssembly runtimes side by side in one run: cold (the first load in a
// fresh Node process, as a browser's cold start sees it; node-cold-start.mjs's modelLoadMs),
// the two builds alternating process by process so that load on the machine falls on both, then
// warm (repeated loads in one process, once the engine has optimized the code).
//
// Usage: node bench/wasm/node-model-load.mjs NEW_DIST OLD_DIST BUNDLE [--runs N] [--warm N]
// e.g.   node bench/wasm/node-model-load.mjs build-wasm/dist /tmp/prev build/model/default.fhm
// (OLD_DIST from bench/wasm/build-previous.sh). Prints JSON medians for each build.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { median, nodeColdStart } from './lib.mjs';

const [newDist, oldDist, bundle] = process.argv.slice(2);
if (!bundle) throw new Error('usage: node-model-load.mjs NEW_DIST OLD_DIST BUNDLE [--runs N] [--warm N]');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = option('--runs', 15);
const WARM = option('--warm', 30);

// Loads (the wasm call alone: loadModel, content hash verified in wasm) after `WARM` loads that
// let the engine tier the code up.
async function warmLoads(dist) {
  const { loadFetal } = await import(pathToFileURL(path.resolve(dist, 'fetal.js')).href);
  const runtime = await loadFetal();
  const bytes = readFileSync(bundle);
  const times = [];
  for (let i = 0; i < 2 * WARM; ++i) {
    const t = performance.now();
    const loaded = runtime.loadModel(bytes);
    const ms = performance.now() - t;
    if (!loaded.ok) throw new Error(loaded.error.message);
    loaded.model.dispose();
    if (i >= WARM) times.push(ms);
  }
  return median(times);
}

const builds = { new: { dist: newDist, cold: [] }, old: { dist: oldDist, cold: [] } };
for (let i = 0; i < RUNS; ++i) {
  for (const build of i % 2 ? [builds.old, builds.new] : [builds.new, builds.old]) {
    build.cold.push(nodeColdStart(build.dist, bundle));
  }
}
const report = {};
for (const [name, build] of Object.entries(builds)) {
  report[name] = {
    dist: build.dist,
    runs: build.cold.length,
    coldModelLoadMs: median(build.cold.map((r) => r.modelLoadMs)),
    coldFirstClassificationMs: median(build.cold.map((r) => r.firstClassificationMs)),
    coldRuntimeMs: median(build.cold.map((r) => r.runtimeMs)),
    warmModelLoadMs: await warmLoads(build.dist),
  };
}
report.coldModelLoadChange = report.new.coldModelLoadMs / report.old.coldModelLoadMs - 1;
report.warmModelLoadChange = report.new.warmModelLoadMs / report.old.warmModelLoadMs - 1;
console.log(JSON.stringify(report, null, 2));
