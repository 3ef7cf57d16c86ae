// Helpers shared by the bench/wasm scripts (Node side only).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { DATASET, ROOT, WASM_DIST, modelPaths, reference, referenceWithEnv } from '../../tests/wasm/support.mjs';

export { DATASET, ROOT, WASM_DIST, modelPaths, reference };

export const WEB_DIST = path.resolve(ROOT, process.env.FETAL_WEB_DIST ?? 'web/dist');

/** The median (of an even count, the mean of the two middle values). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One cold start of the runtime in `dist` in a fresh Node process (node-cold-start.mjs). */
export function nodeColdStart(dist, bundle) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node-cold-start.mjs');
  const out = execFileSync(process.execPath, [script, dist, bundle], { encoding: 'utf8', timeout: 60000 });
  return JSON.parse(out.trim().split('\n').pop());
}

function gzipSize(bytes) {
  return gzipSync(bytes, { level: 9 }).length;
}

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out;
}

/** Bytes shipped: the wasm runtime files, and the whole web app when it has been built. */
export function shippedBytes() {
  const files = ['fetal-core.wasm', 'fetal-core.js', 'fetal.js'].map((name) => {
    const bytes = readFileSync(path.join(WASM_DIST, name));
    return { name, raw: bytes.length, gzip: gzipSize(bytes) };
  });
  const sum = (list) => list.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
  const result = {
    files,
    wasmAndGlue: sum(files.filter((f) => f.name !== 'fetal.js')),
    wasmGlueAndWrapper: sum(files),
    app: null,
    models: modelPaths().map(({ name, file }) => {
      const bytes = readFileSync(file);
      return { name, raw: bytes.length, gzip: gzipSize(bytes) };
    }),
  };
  if (existsSync(WEB_DIST) && statSync(WEB_DIST).isDirectory()) {
    const all = listFiles(WEB_DIST).map((file) => {
      const bytes = readFileSync(file);
      return { name: path.relative(WEB_DIST, file), raw: bytes.length, gzip: gzipSize(bytes) };
    });
    const isModel = (f) => /\.(fhm|sig)$/.test(f.name);
    result.app = { files: all.length, total: sum(all), withoutModels: sum(all.filter((f) => !isModel(f))) };
  }
  return result;
}

/**
 * Native figures from the same machine, for the "within 2x of native" comparison: the evaluator
 * as the server runs it (AVX-512 kernels where the CPU has them), and its portable scalar kernel
 * (FETAL_EVALUATOR_KERNEL=scalar), which is the code the wasm build runs.
 */
export function nativeFigures(modelFile, { exams }) {
  const args = ['bench', '--model', modelFile, '--input', DATASET, '--calls', '20000', '--batch', String(exams)];
  const native = referenceWithEnv({}, ...args);
  native.scalar = referenceWithEnv({ FETAL_EVALUATOR_KERNEL: 'scalar' }, ...args);
  return native;
}

export function datasetFeatures(runtime) {
  return runtime.parseCsv(readFileSync(DATASET, 'utf8')).features;
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const us = (n) => `${n.toFixed(2)} us`;

/** Prints one table per model plus the sizes. `host` names the JS column ("node", "chromium"). */
export function printReport(host, report) {
  const lines = [];
  lines.push(`WebAssembly benchmark, ${host} vs native (same machine, same run)`);
  lines.push(`wasm: ${WASM_DIST}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  for (const m of report.models) {
    const n = m.native;
    const w = m.wasm;
    lines.push('');
    lines.push(`model ${m.name}: ${m.trees} trees, bundle ${kb(m.bundleBytes)}`);
    lines.push(`| measure                                   | ${host.padEnd(14)} | native         | ${host}/native |`);
    lines.push('|-------------------------------------------|----------------|----------------|---------------|');
    const row = (label, value, native, ratio) =>
      lines.push(`| ${label.padEnd(41)} | ${value.padEnd(14)} | ${native.padEnd(14)} | ${ratio.padEnd(13)} |`);
    const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');
    const coldLabel = m.coldStart.kind === 'context' ? 'new context' : `median of ${m.coldStart.runs}`;
    row(`cold start to first classification (${coldLabel})`, `${m.coldStart.medianMs.toFixed(1)} ms`, '-', '-');
    if (m.coldStart.fullResultMedianMs !== undefined) {
      row('  ... to the first full result (+SHAP/OOD/FIGO)', `${m.coldStart.fullResultMedianMs.toFixed(1)} ms`, '-', '-');
    }
    if (m.newProcessColdStart) {
      const p = m.newProcessColdStart;
      row('  same, in a just-started browser process', `${p.medianMs.toFixed(1)} ms`, '-', '-');
      row('  ... to the first full result', `${p.fullResultMedianMs.toFixed(1)} ms`, '-', '-');
    }
    if (m.coldStart.stagesMs) {
      const st = m.coldStart.stagesMs;
      lines.push(`|   stages (median ms from navigation): fetal.js ${st.fetalJsImported.toFixed(0)}, wasm ready ${st.wasmInstantiated.toFixed(0)}, bundle fetched ${st.bundleFetched.toFixed(0)}, model loaded ${st.modelLoaded.toFixed(0)}, classified ${st.firstClassification.toFixed(0)} |`);
    }
    if (m.coldStart.modelLoadMedianMs !== undefined) row('  model load alone (loadModelAsync, first in the page)', `${m.coldStart.modelLoadMedianMs.toFixed(1)} ms`, '-', '-');
    if (m.coldStart.warmMedianMs !== undefined) row('warm start (reload, cached)', `${m.coldStart.warmMedianMs.toFixed(1)} ms`, '-', '-');
    row(`predict() single exam, median`, us(w.predict.medianUs), us(n.predictMedianNs / 1000), ratio(w.predict.medianUs, n.predictMedianNs / 1000));
    row(`predict() single exam, p99`, us(w.predict.p99Us), us(n.predictP99Ns / 1000), ratio(w.predict.p99Us, n.predictP99Ns / 1000));
    row(`classify() full (explain+OOD+FIGO), median`, us(w.classify.medianUs), us(n.classifyMedianNs / 1000), ratio(w.classify.medianUs, n.classifyMedianNs / 1000));
    row(`classify() full, p99`, us(w.classify.p99Us), us(n.classifyP99Ns / 1000), ratio(w.classify.p99Us, n.classifyP99Ns / 1000));
    if (w.explain) {
      row(`explainBatch(${w.explain.rows} rows), ms`, `${w.explain.ms.toFixed(1)} ms`, `${n.explainAllRowsMs.toFixed(1)} ms`, ratio(w.explain.ms, n.explainAllRowsMs));
      row(`  explanation per exam`, us(w.explain.usPerExam), us((n.explainAllRowsMs * 1000) / n.explainAllRows), ratio(w.explain.usPerExam, (n.explainAllRowsMs * 1000) / n.explainAllRows));
    }
    row(`  native: fast explainer / previous one (reference), median`, '-', `${us(n.explainMedianNs / 1000)} / ${us(n.referenceExplainMedianNs / 1000)}`, '-');
    row(`  explainer state (this kernel / WebAssembly's)`, '-', `${kb(n.explainerStateBytes)} / ${kb(n.scalar.explainerStateBytes)}`, '-');
    row(`classifyBatch(${w.batch.exams}) exams/s`, `${Math.round(w.batch.examsPerSecond).toLocaleString('en-US')}`, `${Math.round(n.batchExamsPerSecond).toLocaleString('en-US')}`, '-');
    row(`batch ns per exam`, `${w.batch.nsPerExam.toFixed(0)} ns`, `${n.batchNsPerExam.toFixed(0)} ns`, ratio(w.batch.nsPerExam, n.batchNsPerExam));
    if (w.batch.shortCallExamsPerSecond) {
      row(`  exams/s, median of calls of ${w.batch.shortCallExams}`, `${Math.round(w.batch.shortCallExamsPerSecond).toLocaleString('en-US')}`, '-', '-');
    }
    if (w.batch.cpuNsPerExam) {
      row(`batch CPU-time ns per exam`, `${w.batch.cpuNsPerExam.toFixed(0)} ns`, `${n.batchCpuNsPerExam.toFixed(0)} ns`, ratio(w.batch.cpuNsPerExam, n.batchCpuNsPerExam));
    }
    const sc = n.scalar;
    row(`native scalar kernel: predict() median`, us(w.predict.medianUs), us(sc.predictMedianNs / 1000), ratio(w.predict.medianUs, sc.predictMedianNs / 1000));
    row(`native scalar kernel: batch ns per exam`, `${w.batch.nsPerExam.toFixed(0)} ns`, `${sc.batchNsPerExam.toFixed(0)} ns`, ratio(w.batch.nsPerExam, sc.batchNsPerExam));
    if (w.batch.cpuNsPerExam) {
      row(`native scalar kernel: batch CPU ns per exam`, `${w.batch.cpuNsPerExam.toFixed(0)} ns`, `${sc.batchCpuNsPerExam.toFixed(0)} ns`, ratio(w.batch.cpuNsPerExam, sc.batchCpuNsPerExam));
    }
    lines.push(`(single-call samples: ${w.predict.calls} predict calls in blocks of ${w.predict.blockSize}, ${w.classify.calls} classify calls in blocks of ${w.classify.blockSize})`);
    if (m.previous) {
      // The previous build of the runtime (--previous), same run, same host.
      const p = m.previous;
      const pair = (label, now, before, unit) => lines.push(`  previous build ${label}: ${before}${unit} -> this build ${now}${unit}`);
      pair('predict() median', w.predict.medianUs.toFixed(2), p.predict.medianUs.toFixed(2), ' us');
      pair('classify() median', w.classify.medianUs.toFixed(1), p.classify.medianUs.toFixed(1), ' us');
      pair('classifyBatch exams/s (median of short calls)', Math.round(w.batch.shortCallExamsPerSecond).toLocaleString('en-US'),
        Math.round(p.batch.shortCallExamsPerSecond).toLocaleString('en-US'), '');
      pair(`classifyBatch(${w.batch.exams}) exams/s`, Math.round(w.batch.examsPerSecond).toLocaleString('en-US'),
        Math.round(p.batch.examsPerSecond).toLocaleString('en-US'), '');
    }
  }
  const s = report.sizes;
  lines.push('');
  lines.push('| bytes shipped                     | raw        | gzip -9    |');
  lines.push('|-----------------------------------|------------|------------|');
  const size = (label, v) => lines.push(`| ${label.padEnd(33)} | ${kb(v.raw).padEnd(10)} | ${kb(v.gzip).padEnd(10)} |`);
  for (const f of s.files) size(f.name, f);
  size('wasm + Emscripten glue', s.wasmAndGlue);
  size('wasm + glue + fetal.js wrapper', s.wasmGlueAndWrapper);
  for (const m of s.models) size(`model bundle ${m.name}`, m);
  if (s.app) {
    size(`whole app (${s.app.files} files)`, s.app.total);
    size('whole app without model bundles', s.app.withoutModels);
  } else {
    lines.push(`| whole app                         | (web/dist not built: scripts/build-web.sh) |`);
  }
  console.log(lines.join('\n'));
}
