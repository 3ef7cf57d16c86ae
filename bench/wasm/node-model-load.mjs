// The model load of two WebAssembly runtimes side by side in one run: cold (the first load in a
// fresh Node process, as a browser's cold start sees it; node-cold-start.mjs's modelLoadMs),
// the two builds alternating process by process so that load on the machine falls on both, then
// warm (repeated loads in one process, once the engine has optimized the code).
//
// Usage: node bench/wasm/node-model-load.mjs NEW_DIST OLD_DIST BUNDLE [--runs N] [--warm N]
// e.g.   node bench/wasm/node-model-load.mjs build-wasm/dist /tmp/prev build/model/default.fhm
// (OLD_DIST from bench/wasm/build-previous.sh). Prints JSON medians for each build.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const [newDist, oldDist, bundle] = process.argv.slice(2);
if (!bundle) throw new Error('usage: node-model-load.mjs NEW_DIST OLD_DIST BUNDLE [--runs N] [--warm N]');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = option('--runs', 15);
const WARM = option('--warm', 30);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function coldRun(dist) {
  const out = execFileSync(process.execPath, [path.join(HERE, 'node-cold-start.mjs'), dist, bundle],
    { encoding: 'utf8', timeout: 60000 });
  return JSON.parse(out.trim().split('\n').pop());
}

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
    build.cold.push(coldRun(build.dist));
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
