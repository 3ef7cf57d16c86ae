// Measurements shared by the Node and the Chromium benchmark: the same code runs in both, so the
// two columns of the table differ only by the JavaScript engine's host.
//
// Timing: performance.now(). In Node it resolves to well under a microsecond, so every call is
// timed by itself (blockSize 1). Browsers coarsen it (Chromium: 5 us when cross-origin isolated,
// 100 us otherwise), so there calls are timed in blocks and each block gives one per-call sample
// (block time / blockSize): the median is exact in expectation, the p99 is of block averages.

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
}

function stats(samplesUs) {
  const sorted = Float64Array.from(samplesUs).sort();
  return { medianUs: percentile(sorted, 0.5), p99Us: percentile(sorted, 0.99), samples: sorted.length };
}

/** Per-call latency of fn(i) over `calls` calls, after `warmup` calls. */
export function latency(fn, { calls, warmup, blockSize }) {
  for (let i = 0; i < warmup; ++i) fn(i);
  const blocks = Math.ceil(calls / blockSize);
  const samples = new Float64Array(blocks);
  let i = 0;
  for (let b = 0; b < blocks; ++b) {
    const t0 = performance.now();
    for (let k = 0; k < blockSize; ++k) fn(i++);
    samples[b] = ((performance.now() - t0) * 1000) / blockSize;
  }
  return { ...stats(samples), calls: blocks * blockSize, blockSize };
}

/**
 * Runs the single-exam and batch measurements on one loaded model.
 * `features` holds the dataset's rows (n*21); `exams` the number of exams in the batch.
 */
export function measureModel(model, features, { exams = 100000, blockSize = 1, singleCalls = 20000, classifyCalls = 5000 } = {}) {
  const rows = features.length / 21;
  const row = (i) => features.subarray((i % rows) * 21, (i % rows + 1) * 21);
  const out3 = new Float32Array(3);
  let sink = 0;

  const predict = latency((i) => { model.predict(row(i), out3); sink += out3[0]; },
    { calls: singleCalls, warmup: 5000, blockSize });
  const classify = latency((i) => { const r = model.classify(row(i)); sink += r.ok ? r.result.probabilities[0] : 0; },
    { calls: classifyCalls, warmup: 300, blockSize: Math.max(1, Math.floor(blockSize / 5)) });

  const batch = new Float32Array(exams * 21);
  for (let i = 0; i < exams; ++i) batch.set(row(i), i * 21);
  const out = new Float32Array(exams * 3);
  model.classifyBatch(batch, exams, out);  // warm-up, and sizes the wasm-side buffers
  // CPU time as well where the host can tell (Node): on a shared, loaded machine it is steadier
  // than wall time, which also counts the time other processes held the core.
  const cpu = typeof process === 'object' && typeof process.cpuUsage === 'function'
    ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; } : null;
  const runs = [];
  const cpuRuns = [];
  for (let r = 0; r < 5; ++r) {
    const c0 = cpu ? cpu() : 0;
    const t0 = performance.now();
    model.classifyBatch(batch, exams, out);
    runs.push((performance.now() - t0) / 1000);
    if (cpu) cpuRuns.push(cpu() - c0);
  }
  runs.sort((a, b) => a - b);
  cpuRuns.sort((a, b) => a - b);
  const seconds = runs[2];
  sink += out[0];
  // The same throughput from short calls (1000 exams each), median of 200: on a shared machine
  // a long call's wall time also counts the time other processes held the core; the median of
  // short ones mostly does not (as the single-exam medians).
  const shortRuns = new Float64Array(200);
  const shortN = Math.min(1000, exams);
  for (let r = 0; r < shortRuns.length; ++r) {
    const from = (r * shortN) % (exams - shortN + 1);
    const t0 = performance.now();
    model.classifyBatch(batch.subarray(from * 21, (from + shortN) * 21), shortN, out);
    shortRuns[r] = performance.now() - t0;
  }
  shortRuns.sort();
  const shortMs = shortRuns[shortRuns.length >> 1];

  // Every dataset row explained at once (the batch view's explanations): median of 5.
  let explain = null;
  if (typeof model.explainBatch === 'function') {
    const contributions = new Float32Array(rows * 66);
    model.explainBatch(features, rows, contributions);  // warm-up: builds the explainer
    const explainRuns = [];
    const explainCpu = [];
    for (let r = 0; r < 5; ++r) {
      const c0 = cpu ? cpu() : 0;
      const t0 = performance.now();
      model.explainBatch(features, rows, contributions);
      explainRuns.push(performance.now() - t0);
      if (cpu) explainCpu.push((cpu() - c0) * 1000);
    }
    explainRuns.sort((a, b) => a - b);
    explainCpu.sort((a, b) => a - b);
    explain = { rows, ms: explainRuns[2], cpuMs: cpu ? explainCpu[2] : null, usPerExam: (explainRuns[2] * 1000) / rows };
    sink += contributions[0];
  }
  return {
    predict,
    classify,
    explain,
    batch: {
      exams, seconds, bestSeconds: runs[0], examsPerSecond: exams / seconds, nsPerExam: (seconds * 1e9) / exams,
      cpuNsPerExam: cpu ? (cpuRuns[2] * 1e9) / exams : null,
      shortCallExams: shortN, shortCallExamsPerSecond: (shortN * 1000) / shortMs,
    },
    sink,
  };
}
