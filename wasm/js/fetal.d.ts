// Types of fetal.js, the JavaScript API over the WebAssembly model core.
//
// Errors in user input come back as values ({ok:false}, findings, CSV errors), never as
// exceptions or aborts. Misuse of the API (wrong feature count, a disposed model) throws.

export declare const NUM_FEATURES: 21;
export declare const NUM_CLASSES: 3;
export declare const CONTRIBUTIONS_PER_CLASS: 22;

export interface LoadFetalOptions {
  /** Where the browser fetches fetal-core.wasm (default: next to fetal.js). */
  wasmUrl?: string | URL;
  /** The .wasm bytes, e.g. from fs.readFileSync in Node (read from disk by default there). */
  wasmBinary?: Uint8Array | ArrayBuffer;
  /** fetal-core.wasm compiled already, e.g. WebAssembly.compileStreaming(fetch(url)) started
   *  by the page before this module loaded: then only instantiated. Wins over the others. */
  wasmModule?: WebAssembly.Module | Promise<WebAssembly.Module>;
}

export declare function loadFetal(options?: LoadFetalOptions): Promise<FetalRuntime>;

export type ClassName = 'Normal' | 'Suspect' | 'Pathological';
export type FigoClassName = 'Normal' | 'Suspicious' | 'Pathological';

export interface FeatureInfo {
  readonly index: number;
  /** Identifier used in JSON and code, e.g. "baseline_value". */
  readonly key: string;
  /** Dataset column name, e.g. "baseline value" (what a CSV header names). */
  readonly name: string;
  /** Short English name for people, e.g. "Baseline FHR". */
  readonly label: string;
  /** "bpm", "1/s", "%", "count", "bpm²", "" */
  readonly unit: string;
  /** Clinical group, in form order: "baseline", "events", "decelerations", "variability",
   *  "histogram". */
  readonly group: string;
  /** One English sentence of clinical meaning (a form's help text). */
  readonly description: string;
  /** Values outside [hardMin, hardMax] are rejected; null when a side is open. */
  readonly hardMin: number | null;
  readonly hardMax: number | null;
  /** The value must be a whole number. */
  readonly integer: boolean;
}

export interface Finding {
  /** Index into schema(), -1 when the finding is about no single feature. */
  feature: number;
  key: string;
  severity: 'error' | 'warning';
  /** Stable machine id: "not_finite", "below_min", "above_max", "not_integer", "tendency_set",
   *  "width_is_max_minus_min", "mode_within_min_max", "median_within_min_max",
   *  "variance_within_width", "outside_training_range", ... */
  rule: string;
  /** The offending value (may be NaN or ±Infinity). */
  value: number;
  /** A full English sentence naming the feature, the value, the rule and the expected form. */
  message: string;
  /** The expected form, e.g. "0 to 0.0667 events per second". */
  expected: string;
  /** Numeric bounds behind `expected`; null where a side is open. */
  expectedMin: number | null;
  expectedMax: number | null;
}

export interface ModelMetrics {
  accuracy: number;
  macroF1: number;
  balancedAccuracy: number;
  logLoss: number;
  brier: number;
  ece: number;
  /** Per class: Normal, Suspect, Pathological. */
  recall: [number, number, number];
  /** Number of cross-validation splits behind the means; 0 if not cross-validated. */
  splits: number;
}

export interface ModelInfo {
  /** Registry version; browsers refuse going backwards. */
  version: number;
  formatVersion: number;
  name: string;
  /** ISO 8601 UTC. */
  created: string;
  /** Hex SHA-256 of the bundle content (the hash the bundle carries). */
  hash: string;
  /** "fetal-model train" or "xgboost-import". */
  source: string;
  temperature: number;
  figoRuleset: string;
  trainingDataSha256: string;
  /** Training parameters as JSON object text. */
  params: string;
  numTrees: number;
  baseScore: [number, number, number];
  classNames: ClassName[];
  metrics: ModelMetrics;
  trainingRange: { min: number[]; max: number[] };
  /** Mahalanobis distance above which an exam is flagged; null if the bundle has no OOD data. */
  oodThreshold: number | null;
  /** [input, reference] pairs: the model's input `input` is feature[input] - feature[reference]
   *  (its contribution is that difference's). Empty: the inputs are the features. */
  inputDifferences: [number, number][];
  /** Coverage level of the conformal prediction sets (e.g. 0.95); 0 if the bundle has none. */
  setLevel: number;
}

export interface FigoFlag {
  id: string;
  level: FigoClassName;
  feature: number;
  value: number;
  limit: number;
  message: string;
}

export interface Classification {
  classIndex: 0 | 1 | 2;
  className: ClassName;
  /** Calibrated: softmax(margin / temperature). */
  probabilities: [number, number, number];
  /** softmax(margin), what libxgboost predicts. */
  rawProbabilities: [number, number, number];
  margins: [number, number, number];
  /** 3 * 22: per class, the 21 input contributions then the bias; each class's 22 values
   *  sum to its margin (raw margin scale, before temperature). Input i is feature i, or the
   *  difference info().inputDifferences names for it. */
  contributions: Float32Array;
  /** Conformal prediction set at info().setLevel: class indices, ascending; it always holds
   *  classIndex. Empty if the bundle has no sets. */
  predictionSet: (0 | 1 | 2)[];
  /** The set holds more than one class, or the exam is unlike the training data: the result
   *  should say "refer for senior review". */
  referForReview: boolean;
  ood: {
    /** Mahalanobis distance; NaN if the bundle has no OOD reference. */
    distance: number;
    threshold: number;
    outOfDistribution: boolean;
    /** Feature indices outside the training min/max. */
    outOfRange: number[];
  };
  figo: {
    classIndex: 0 | 1 | 2;
    className: FigoClassName;
    ruleset: string;
    flags: FigoFlag[];
  };
  /** Warnings that did not stop classification (e.g. outside the training range). */
  warnings: Finding[];
}

export type LoadModelResult =
  | { ok: true; model: FetalModel }
  | { ok: false; error: { code: string; message: string } };

export type ClassifyResult =
  | { ok: true; result: Classification }
  | { ok: false; findings: Finding[]; error?: { code: string; message: string } };

/** Stable ids of CSV problems (fetal/csv.h lists them with the arguments each one fills). */
export type CsvRule =
  // The header: nothing is read (ParsedCsv.headerOk is false).
  | 'empty_file'             // no header line
  | 'header_unclosed_quote'  // the header opens a quote it never closes
  | 'duplicate_column'       // `field` at `column` and, first, at `firstColumn`
  | 'missing_column'         // `field` (a feature's dataset column name) is missing; one per feature
  | 'missing_label_column'   // no fetal_health column where labels are required (never from parseCsv)
  // A row: that row is skipped.
  | 'too_many_rows'          // more than `maxRows` rows: this one and the rest were not read
  | 'unclosed_quote'         // a quoted cell is never closed before the end of the file
  | 'wrong_cell_count'       // `cells` cells where the header has `headerCells`
  | 'bad_label'              // the fetal_health cell `value` is not 1, 2 or 3
  | 'not_a_number'           // the feature cell `value` is not a number
  | 'decimal_comma'          // the same, but `value` would read with a dot for the comma
  // The wrapper itself.
  | 'out_of_memory';         // the file did not fit in wasm memory

export interface CsvRowError {
  /** 1-based line (the header is line 1 unless blank lines precede it); 0 for out_of_memory. */
  line: number;
  /** 1-based column, 0 when the whole row (or header) is at fault. */
  column: number;
  /** Header name of the column, empty when the whole row is at fault. */
  field: string;
  rule: CsvRule;
  /** The cell as written (bad_label, not_a_number, decimal_comma): at most 40 bytes, then "...". */
  value: string;
  /** duplicate_column: where the column first appears (1-based); else 0. */
  firstColumn: number;
  /** too_many_rows: the row limit; else 0. */
  maxRows: number;
  /** wrong_cell_count: the row's cells and the header's; else 0. */
  cells: number;
  headerCells: number;
  /** The same in an English sentence (what the CLI prints). */
  message: string;
}

export interface ParsedCsv {
  rows: number;
  /** rows * 21, schema order; empty cells are NaN. */
  features: Float32Array;
  /** Class 0..2 per row, -1 when the file has no fetal_health column. */
  labels: Int32Array;
  /** The 1-based source line of each row. */
  lines: Uint32Array;
  hasLabels: boolean;
  /** False when the header cannot be used: then no row was read and `errors` say why. */
  headerOk: boolean;
  errors: CsvRowError[];
}

export interface FetalRuntime {
  readonly classNames: readonly ['Normal', 'Suspect', 'Pathological'];
  readonly schemaVersion: number;
  /** The 21 features in schema order; frozen, the same array on every call. */
  schema(): readonly FeatureInfo[];
  /** Findings for one exam (21 values in schema order); `model` adds training-range warnings.
   *  Throws TypeError if `features` does not have 21 values. */
  validate(features: ArrayLike<number>, model?: FetalModel): Finding[];
  /** Parses, verifies (content hash, structure) and compiles a bundle. Never throws on bad bytes. */
  loadModel(bytes: Uint8Array | ArrayBuffer): LoadModelResult;
  /** The same, with the content hash compared by WebCrypto (crypto.subtle) when available:
   *  faster on a cold page, where the module's own SHA-256 still runs as baseline code. */
  loadModelAsync(bytes: Uint8Array | ArrayBuffer): Promise<LoadModelResult>;
  /** Reads exams from CSV text or its UTF-8 bytes (dataset column names or keys as headers). */
  parseCsv(text: string | Uint8Array): ParsedCsv;
}

export interface FetalModel {
  readonly disposed: boolean;
  info(): ModelInfo;
  /** Validates, classifies, explains (TreeSHAP), checks OOD and FIGO rules for one exam. */
  classify(features: ArrayLike<number>): ClassifyResult;
  /** The fast path: calibrated probabilities only, no validation; writes into `out` if given. */
  predict(features: ArrayLike<number>, out?: Float32Array): Float32Array;
  /** Calibrated probabilities of n exams (row-major n*21) into out (n*3, allocated if absent).
   *  Rows are not validated; NaN takes the default branch (XGBoost semantics). */
  classifyBatch(features: Float32Array | ArrayLike<number>, n?: number, out?: Float32Array): Float32Array;
  /** 1 for each exam with a validation error, else 0. */
  validateBatch(features: Float32Array | ArrayLike<number>, n?: number): Uint8Array;
  /** TreeSHAP contributions of n exams (row-major n*21) into out (n*3*22, allocated if absent):
   *  per exam and class, 21 contributions, one per model input (ModelInfo.inputDifferences),
   *  then the bias, summing to the class margin (as `contributions` in classify()). Rows are not
   *  validated. */
  explainBatch(features: Float32Array | ArrayLike<number>, n?: number, out?: Float32Array): Float32Array;
  /** Frees the model's wasm memory; later calls throw. */
  dispose(): void;
}
