// WebAssembly benchmark in Node: cold start, single-exam latency, batch throughput and bytes
// shipped, on the default model and an imported XGBoost depth-6, 200-round model, next to the
// native library's figures measured in the same run.
//
// Usage: node bench/wasm/node-bench.mjs [--json OUT.json]
// Needs scripts/build-wasm.sh, scripts/build.sh (bin/fetal-wasm-reference, bin/fetal-model) and
// scripts/default-model.sh; paths as in tests/wasm/support.mjs (FETAL_WASM_DIST, ...).
import { readFileSync, writeFileSync } from 'node:fs';

import { loadRuntime } from '../../tests/wasm/support.mjs';
import {
  WASM_DIST, datasetFeatures, median, modelPaths, nativeFigures, nodeColdStart, printReport, shippedBytes,
} from './lib.mjs';
import { measureModel } from './measure.mjs';

const EXAMS = 100000;
const COLD_RUNS = 7;

function coldStart(bundle) {
  const runs = Array.from({ length: COLD_RUNS }, () => nodeColdStart(WASM_DIST, bundle));
  const of = (key) => median(runs.map((r) => r[key]));
  return { runs: runs.length, medianMs: of('firstClassificationMs'), modelLoadMedianMs: of('modelLoadMs'), all: runs };
}

const runtime = await loadRuntime();
const features = datasetFeatures(runtime);
const report = { host: 'node', nodeVersion: process.version, models: [], sizes: shippedBytes() };
for (const { name, file } of modelPaths()) {
  const bytes = readFileSync(file);
  const { model } = runtime.loadModel(bytes);
  const wasm = measureModel(model, features, { exams: EXAMS, blockSize: 1 });
  report.models.push({
    name,
    trees: model.info().numTrees,
    bundleBytes: bytes.length,
    coldStart: coldStart(file),
    wasm,
    native: nativeFigures(file, { exams: EXAMS }),
  });
  model.dispose();
}
printReport('node', report);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(report, null, 2));
