// fetal.js: the typed JavaScript API over the WebAssembly model core (types: fetal.d.ts).
//
// Hand-written over the small C ABI in wasm/src/fetal_c_api.cc. Exams travel through a fixed
// scratch slot in wasm memory, batches through one buffer per model that grows only when a
// larger batch arrives; lists and strings come back as JSON built in C++.
//
// Errors in user input (invalid exams, bad bundle bytes, bad CSV) come back as values. Misuse
// of the API itself (wrong number of features, a disposed model) throws a TypeError / Error.
import createFetalCore from './fetal-core.js';

export const NUM_FEATURES = 21;
export const NUM_CLASSES = 3;
export const CONTRIBUTIONS_PER_CLASS = NUM_FEATURES + 1;

// Batches are processed in chunks of this many exams, so memory stays bounded (about 6 MB).
const BATCH_CHUNK = 65536;
// Explanations are 66 numbers an exam: smaller chunks (about 1.4 MB of wasm memory).
const EXPLAIN_CHUNK = 4096;
// A bundle ends with the SHA-256 of everything before it (docs/bundle-format.md).
const HASH_BYTES = 32;
// fetal_model_load flags (wasm/src/fetal_c_api.cc).
const CONTENT_HASH_VERIFIED = 1;

// Indices into the numbers fetal_classify writes (ClassifyNumber in fetal_c_api.cc).
const N_PROBABILITIES = 0;
const N_RAW = 3;
const N_MARGINS = 6;
const N_CLASS = 9;
const N_OOD_DISTANCE = 10;
const N_OOD_THRESHOLD = 11;
const N_OOD_FLAG = 12;
const N_FIGO_CLASS = 13;
const N_WARNINGS = 14;
const N_FIGO_FLAGS = 15;
const N_OUT_OF_RANGE = 16;
const N_PREDICTION_SET = 17;  // bit c: class c is in the set
const N_REFER = 18;

const FIGO_CLASS_NAMES = Object.freeze(['Normal', 'Suspicious', 'Pathological']);

const isNode = typeof process === 'object' && typeof process.versions === 'object' &&
    typeof process.versions.node === 'string';

/**
 * Instantiates the WebAssembly module. In browsers the .wasm is fetched from `wasmUrl` (default:
 * fetal-core.wasm next to this file); in Node it is read from disk unless `wasmBinary` is given.
 */
export async function loadFetal(options = {}) {
  const moduleArgs = {};
  if (options.wasmModule) {
    // Compiled already (a page can start WebAssembly.compileStreaming before this script has
    // even loaded): only instantiate.
    const compiled = await options.wasmModule;
    moduleArgs.instantiateWasm = (imports, receiveInstance) => {
      WebAssembly.instantiate(compiled, imports).then((instance) => receiveInstance(instance, compiled));
      return {};
    };
  } else if (options.wasmBinary) {
    moduleArgs.wasmBinary = options.wasmBinary;
  } else if (options.wasmUrl) {
    const url = String(options.wasmUrl);
    moduleArgs.locateFile = (path) => (path.endsWith('.wasm') ? url : path);
  } else if (isNode) {
    // Emscripten 3.1.6 would fetch() a file: URL under Node, which fails: read the bytes here.
    const fsSpecifier = 'node:fs/promises';
    const { readFile } = await import(fsSpecifier);
    moduleArgs.wasmBinary = await readFile(new URL('./fetal-core.wasm', import.meta.url));
  }
  const core = await createFetalCore(moduleArgs);
  return new FetalRuntime(core);
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

function readText(core, ptr) {
  const heap = core.HEAPU8;
  const end = heap.indexOf(0, ptr);
  return utf8Decoder.decode(heap.subarray(ptr, end));
}

// Non-finite numbers arrive as "NaN" / "Infinity" / "-Infinity" strings (JSON has no form).
function toNumber(value) {
  return typeof value === 'string' ? Number(value) : value;
}

function parseFindings(json) {
  const findings = JSON.parse(json);
  for (const f of findings) f.value = toNumber(f.value);
  return findings;
}

function checkExamLength(features) {
  if (features == null || typeof features.length !== 'number') {
    throw new TypeError(`features must be an array of ${NUM_FEATURES} numbers`);
  }
  if (features.length !== NUM_FEATURES) {
    throw new TypeError(`features must have ${NUM_FEATURES} values in schema order, got ${features.length}`);
  }
}

class FetalRuntime {
  #core;
  #exam;          // byte offsets of the scratch slots
  #probabilities;
  #contributions;
  #numbers;
  #schema;
  #models = new Set();

  constructor(core) {
    this.#core = core;
    this.#exam = core._fetal_exam_buffer();
    this.#probabilities = core._fetal_probability_buffer();
    this.#contributions = core._fetal_contribution_buffer();
    this.#numbers = core._fetal_number_buffer();
    const schema = JSON.parse(readText(core, core._fetal_schema_json()));
    this.#schema = Object.freeze(schema.features.map((f) => Object.freeze(f)));
    this.classNames = Object.freeze(schema.classNames.slice());
    this.schemaVersion = schema.schemaVersion;
  }

  /** The 21 features in schema (dataset) order. Frozen; the same array on every call. */
  schema() {
    return this.#schema;
  }

  /** Findings for one exam; `model` adds training-range warnings. Empty means valid. */
  validate(features, model) {
    const core = this.#core;
    const handle = model === undefined || model === null ? 0 : this.#handleOf(model);
    this.#writeExam(features);
    return parseFindings(readText(core, core._fetal_validate(this.#exam, handle)));
  }

  /** Parses and checks a model bundle. Never throws on bad bytes. */
  loadModel(bytes) {
    return this.#load(bytes, 0);
  }

  /**
   * The same, with the content hash compared by WebCrypto (native code) instead of the module's
   * SHA-256, which at page load still runs as baseline-compiled WebAssembly: the larger part of
   * a cold model load. Without crypto.subtle, or on a mismatch, the module checks (and reports).
   */
  async loadModelAsync(bytes) {
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    const subtle = globalThis.crypto?.subtle;
    if (subtle && bytes instanceof Uint8Array && bytes.length > HASH_BYTES) {
      const content = bytes.subarray(0, bytes.length - HASH_BYTES);
      const digest = new Uint8Array(await subtle.digest('SHA-256', content));
      const carried = bytes.subarray(bytes.length - HASH_BYTES);
      if (digest.every((b, i) => b === carried[i])) return this.#load(bytes, CONTENT_HASH_VERIFIED);
    }
    return this.#load(bytes, 0);
  }

  #load(bytes, flags) {
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    if (!(bytes instanceof Uint8Array)) {
      return { ok: false, error: { code: 'invalid_argument', message: 'the model bundle must be a Uint8Array of bundle bytes' } };
    }
    const core = this.#core;
    const ptr = core._malloc(Math.max(bytes.length, 1));
    if (ptr === 0) {
      return { ok: false, error: { code: 'out_of_memory', message: `not enough memory for a ${bytes.length}-byte bundle` } };
    }
    core.HEAPU8.set(bytes, ptr);
    const handle = core._fetal_model_load(ptr, bytes.length, flags);
    core._free(ptr);
    if (handle === 0) {
      return { ok: false, error: JSON.parse(readText(core, core._fetal_text())) };
    }
    const info = JSON.parse(readText(core, core._fetal_model_info_json(handle)));
    const model = new FetalModel(this, core, handle, info);
    this.#models.add(model);
    return { ok: true, model };
  }

  /**
   * Parses exams from CSV text (or its UTF-8 bytes). Header problems and bad rows are listed in
   * `errors` by line, column and rule id (fetal.d.ts); the rows that could be read are returned.
   */
  parseCsv(text) {
    const core = this.#core;
    const bytes = typeof text === 'string' ? utf8Encoder.encode(text) : text;
    if (!(bytes instanceof Uint8Array)) throw new TypeError('parseCsv takes a string or a Uint8Array');
    const ptr = core._malloc(Math.max(bytes.length, 1));
    const result = ptr === 0 ? 0 : core._fetal_csv_parse((core.HEAPU8.set(bytes, ptr), ptr), bytes.length);
    if (ptr !== 0) core._free(ptr);
    if (result === 0) {
      return {
        rows: 0, features: new Float32Array(0), labels: new Int32Array(0), lines: new Uint32Array(0),
        hasLabels: false, headerOk: false,
        errors: [{
          line: 0, column: 0, field: '', rule: 'out_of_memory', value: '', firstColumn: 0, maxRows: 0, cells: 0, headerCells: 0,
          message: `not enough memory to read a ${bytes.length}-byte file`,
        }],
      };
    }
    const infoPtr = core._fetal_csv_info(result) >> 2;
    const info = core.HEAPU32.slice(infoPtr, infoPtr + 7);
    const rows = info[0];
    const out = {
      rows,
      features: core.HEAPF32.slice(info[1] >> 2, (info[1] >> 2) + rows * NUM_FEATURES),
      labels: core.HEAP32.slice(info[2] >> 2, (info[2] >> 2) + rows),
      lines: core.HEAPU32.slice(info[3] >> 2, (info[3] >> 2) + rows),
      hasLabels: info[5] === 1,
      headerOk: info[6] === 1,
      errors: JSON.parse(readText(core, info[4])),
    };
    core._fetal_csv_free(result);
    return out;
  }

  // ---- internal: used by FetalModel ----

  #handleOf(model) {
    if (!(model instanceof FetalModel) || !this.#models.has(model)) {
      throw new TypeError('model must be a live FetalModel loaded by this runtime');
    }
    return model._handle();
  }

  #writeExam(features) {
    checkExamLength(features);
    this.#core.HEAPF32.set(features, this.#exam >> 2);
  }

  _predict(handle, features, out) {
    const core = this.#core;
    this.#writeExam(features);
    core._fetal_predict(handle, this.#exam, this.#probabilities);
    const p = this.#probabilities >> 2;
    const heap = core.HEAPF32;
    out[0] = heap[p];
    out[1] = heap[p + 1];
    out[2] = heap[p + 2];
    return out;
  }

  _classify(handle) {
    // The caller (FetalModel.classify) already wrote the exam.
    const core = this.#core;
    const status = core._fetal_classify(handle, this.#exam, this.#numbers, this.#contributions);
    if (status === 0) {
      return { ok: false, findings: parseFindings(readText(core, core._fetal_text())) };
    }
    if (status < 0) {  // the explainer could not be built (not for a model that loaded)
      return { ok: false, findings: [], error: JSON.parse(readText(core, core._fetal_text())) };
    }
    const num = core.HEAPF64;
    const b = this.#numbers >> 3;
    const c = this.#contributions >> 2;
    const classIndex = num[b + N_CLASS];
    const figoClass = num[b + N_FIGO_CLASS];
    let warnings = [];
    let flags = [];
    let outOfRange = [];
    if (num[b + N_WARNINGS] + num[b + N_FIGO_FLAGS] + num[b + N_OUT_OF_RANGE] > 0) {
      const extra = JSON.parse(readText(core, core._fetal_text()));
      warnings = extra.warnings;
      for (const f of warnings) f.value = toNumber(f.value);
      flags = extra.figo;
      for (const f of flags) {
        f.value = toNumber(f.value);
        f.limit = toNumber(f.limit);
      }
      outOfRange = extra.outOfRange;
    }
    return {
      ok: true,
      result: {
        classIndex,
        className: this.classNames[classIndex],
        probabilities: [num[b + N_PROBABILITIES], num[b + N_PROBABILITIES + 1], num[b + N_PROBABILITIES + 2]],
        rawProbabilities: [num[b + N_RAW], num[b + N_RAW + 1], num[b + N_RAW + 2]],
        margins: [num[b + N_MARGINS], num[b + N_MARGINS + 1], num[b + N_MARGINS + 2]],
        contributions: core.HEAPF32.slice(c, c + NUM_CLASSES * CONTRIBUTIONS_PER_CLASS),
        predictionSet: [0, 1, 2].filter((k) => (num[b + N_PREDICTION_SET] >> k) & 1),
        referForReview: num[b + N_REFER] === 1,
        ood: {
          distance: num[b + N_OOD_DISTANCE],
          threshold: num[b + N_OOD_THRESHOLD],
          outOfDistribution: num[b + N_OOD_FLAG] === 1,
          outOfRange,
        },
        figo: {
          classIndex: figoClass,
          className: FIGO_CLASS_NAMES[figoClass],
          ruleset: null,  // filled by FetalModel (the model's rule-set version)
          flags,
        },
        warnings,
      },
    };
  }

  _writeExam(features) {
    this.#writeExam(features);
  }

  _forget(model) {
    this.#models.delete(model);
  }
}

// Frees the wasm-side model if a FetalModel is garbage-collected without dispose().
const modelFinalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry(({ core, handle, buffers }) => {
    core._fetal_model_free(handle);
    for (const ptr of buffers) if (ptr) core._free(ptr);
  })
  : null;

class FetalModel {
  #runtime;
  #core;
  #handle;
  #info;
  // Batch buffers in wasm memory, grown only when a larger chunk arrives. `#owned` is shared
  // with the finalizer so it frees the current pointers.
  #owned = { core: null, handle: 0, buffers: [0, 0, 0, 0] };  // [exams, probabilities, flags, contributions]
  #capacity = 0;       // exams the probability and exam buffers hold
  #flagCapacity = 0;
  #explainCapacity = 0;

  constructor(runtime, core, handle, info) {
    this.#runtime = runtime;
    this.#core = core;
    this.#handle = handle;
    this.#info = deepFreeze(info);
    this.#owned.core = core;
    this.#owned.handle = handle;
    if (modelFinalizer) modelFinalizer.register(this, this.#owned, this);
  }

  /** Bundle metadata (version, hash, metrics, training range...). Frozen. */
  info() {
    return this.#info;
  }

  /**
   * Calibrated probabilities of one exam, without validation or explanation: the fast path.
   * Writes into `out` when given (no allocation).
   */
  predict(features, out = new Float32Array(NUM_CLASSES)) {
    return this.#runtime._predict(this._handle(), features, out);
  }

  /** Validates, then classifies and explains one exam. Invalid exams give {ok:false}. */
  classify(features) {
    const handle = this._handle();
    this.#runtime._writeExam(features);
    const outcome = this.#runtime._classify(handle);
    if (outcome.ok) outcome.result.figo.ruleset = this.#info.figoRuleset;
    return outcome;
  }

  /**
   * Calibrated probabilities of n exams (row-major n*21) into `out` (n*3), allocated when not
   * given. Rows are not validated: NaN takes the default branch, as in XGBoost.
   */
  classifyBatch(features, n = Math.floor(features.length / NUM_FEATURES), out) {
    const handle = this._handle();
    this.#checkBatch(features, n);
    if (out === undefined) out = new Float32Array(n * NUM_CLASSES);
    if (!(out instanceof Float32Array) || out.length < n * NUM_CLASSES) {
      throw new TypeError(`out must be a Float32Array of at least ${n * NUM_CLASSES} values`);
    }
    const core = this.#core;
    for (let start = 0; start < n; start += BATCH_CHUNK) {
      const m = Math.min(BATCH_CHUNK, n - start);
      this.#reserve(m);
      const [examPtr, probPtr] = this.#owned.buffers;
      copyRows(core, features, start, m, examPtr);
      core._fetal_predict_batch(handle, examPtr, m, probPtr);
      out.set(core.HEAPF32.subarray(probPtr >> 2, (probPtr >> 2) + m * NUM_CLASSES), start * NUM_CLASSES);
    }
    return out;
  }

  /** 1 for each exam that has a validation error (hard limits or cross-field rules), else 0. */
  validateBatch(features, n = Math.floor(features.length / NUM_FEATURES)) {
    this._handle();
    this.#checkBatch(features, n);
    const out = new Uint8Array(n);
    const core = this.#core;
    for (let start = 0; start < n; start += BATCH_CHUNK) {
      const m = Math.min(BATCH_CHUNK, n - start);
      this.#reserve(m);
      if (this.#flagCapacity < m) {
        if (this.#owned.buffers[2]) core._free(this.#owned.buffers[2]);
        this.#owned.buffers[2] = this.#malloc(m);
        this.#flagCapacity = m;
      }
      const [examPtr, , flagPtr] = this.#owned.buffers;
      copyRows(core, features, start, m, examPtr);
      core._fetal_validate_batch(examPtr, m, flagPtr);
      out.set(core.HEAPU8.subarray(flagPtr, flagPtr + m), start);
    }
    return out;
  }

  /**
   * TreeSHAP contributions of n exams (row-major n*21) into `out` (n*3*22), allocated when not
   * given: per exam and class, 21 contributions (one per model input) then the bias. Rows are not
   * validated.
   */
  explainBatch(features, n = Math.floor(features.length / NUM_FEATURES), out) {
    const handle = this._handle();
    this.#checkBatch(features, n);
    const per = NUM_CLASSES * CONTRIBUTIONS_PER_CLASS;
    if (out === undefined) out = new Float32Array(n * per);
    if (!(out instanceof Float32Array) || out.length < n * per) {
      throw new TypeError(`out must be a Float32Array of at least ${n * per} values`);
    }
    const core = this.#core;
    for (let start = 0; start < n; start += EXPLAIN_CHUNK) {
      const m = Math.min(EXPLAIN_CHUNK, n - start);
      this.#reserve(m);
      if (this.#explainCapacity < m) {
        if (this.#owned.buffers[3]) core._free(this.#owned.buffers[3]);
        this.#owned.buffers[3] = 0;
        this.#explainCapacity = 0;
        this.#owned.buffers[3] = this.#malloc(m * per * 4);
        this.#explainCapacity = m;
      }
      const [examPtr, , , outPtr] = this.#owned.buffers;
      copyRows(core, features, start, m, examPtr);
      core._fetal_explain_batch(handle, examPtr, m, outPtr);
      out.set(core.HEAPF32.subarray(outPtr >> 2, (outPtr >> 2) + m * per), start * per);
    }
    return out;
  }

  /** Frees the model's wasm memory. The model cannot be used afterwards. */
  dispose() {
    if (this.#handle === 0) return;
    const core = this.#core;
    if (modelFinalizer) modelFinalizer.unregister(this);
    core._fetal_model_free(this.#handle);
    for (const ptr of this.#owned.buffers) if (ptr) core._free(ptr);
    this.#owned.buffers = [0, 0, 0, 0];
    this.#handle = 0;
    this.#runtime._forget(this);
  }

  get disposed() {
    return this.#handle === 0;
  }

  _handle() {
    if (this.#handle === 0) throw new Error('this FetalModel has been disposed');
    return this.#handle;
  }

  #checkBatch(features, n) {
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`n must be a non-negative integer, got ${n}`);
    if (features == null || typeof features.length !== 'number' || features.length < n * NUM_FEATURES) {
      throw new TypeError(`features must hold n*${NUM_FEATURES} = ${n * NUM_FEATURES} values`);
    }
  }

  #malloc(bytes) {
    const ptr = this.#core._malloc(bytes);
    if (ptr === 0) throw new RangeError(`out of wasm memory allocating ${bytes} bytes`);
    return ptr;
  }

  #reserve(m) {
    if (this.#capacity >= m) return;
    const core = this.#core;
    const buffers = this.#owned.buffers;
    if (buffers[0]) core._free(buffers[0]);
    if (buffers[1]) core._free(buffers[1]);
    buffers[0] = 0;
    buffers[1] = 0;
    this.#capacity = 0;
    buffers[0] = this.#malloc(m * NUM_FEATURES * 4);
    buffers[1] = this.#malloc(m * NUM_CLASSES * 4);
    this.#capacity = m;
  }
}

// Copies exams [start, start+m) of a row-major batch into wasm memory at byte offset `ptr`.
function copyRows(core, features, start, m, ptr) {
  const from = start * NUM_FEATURES;
  const to = (start + m) * NUM_FEATURES;
  const rows = typeof features.subarray === 'function'
    ? features.subarray(from, to)
    : Array.prototype.slice.call(features, from, to);
  core.HEAPF32.set(rows, ptr >> 2);
}

function deepFreeze(value) {
  if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze(value[key]);
    Object.freeze(value);
  }
  return value;
}
