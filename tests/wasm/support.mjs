// Shared set-up for the WebAssembly tests: where the builds are, the native reference, models.
//
// Environment (defaults are what scripts/test.sh builds):
//   FETAL_WASM_DIST     build-wasm/dist          (scripts/build-wasm.sh)
//   FETAL_NATIVE_BUILD  build                    (scripts/build.sh: bin/fetal-model,
//                                                 bin/fetal-wasm-reference)
//   FETAL_DEFAULT_MODEL <native build>/model/default.fhm  (scripts/default-model.sh)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WASM_DIST = path.resolve(ROOT, process.env.FETAL_WASM_DIST ?? 'build-wasm/dist');
export const NATIVE_BUILD = path.resolve(ROOT, process.env.FETAL_NATIVE_BUILD ?? 'build');
export const REFERENCE = path.join(NATIVE_BUILD, 'bin/fetal-wasm-reference');
export const CLI = path.join(NATIVE_BUILD, 'bin/fetal-model');
export const DATASET = path.join(ROOT, 'model/data/fetal_health.csv');
export const DEFAULT_MODEL = path.resolve(
  ROOT, process.env.FETAL_DEFAULT_MODEL ?? path.join(NATIVE_BUILD, 'model/default.fhm'));

function requireFile(file, howToMake) {
  if (!existsSync(file)) throw new Error(`${file} is missing: ${howToMake}`);
  return file;
}

/** Loads the wasm runtime from the build (fails clearly if it was not built). */
export async function loadRuntime() {
  const wrapper = requireFile(path.join(WASM_DIST, 'fetal.js'), 'run scripts/build-wasm.sh');
  const { loadFetal } = await import(pathToFileURL(wrapper).href);
  return loadFetal({ wasmBinary: readFileSync(path.join(WASM_DIST, 'fetal-core.wasm')) });
}

/** Runs the native reference helper and parses its JSON output. */
export function reference(...args) {
  return referenceWithEnv({}, ...args);
}

/** The same, with extra environment variables for the helper (e.g. the evaluator kernel). */
export function referenceWithEnv(env, ...args) {
  requireFile(REFERENCE, 'run scripts/build.sh (target fetal_wasm_reference, tests/wasm)');
  const text = execFileSync(REFERENCE, args, {
    maxBuffer: 1 << 30, encoding: 'utf8', env: { ...process.env, ...env },
  });
  return JSON.parse(text);
}

export function defaultModelPath() {
  return requireFile(DEFAULT_MODEL, 'run scripts/default-model.sh');
}

/**
 * An imported XGBoost model the wasm tests run besides the default (depth 6 or 8, 200 rounds: the
 * level tables at depth 6, and below that the walk): trained by libxgboost in the reference
 * helper, wrapped into a bundle by `fetal-model import-xgboost`. Built once per native build and
 * reused; written atomically since test files run in parallel.
 */
export function xgboostModelPath(depth = 6) {
  const dir = path.join(NATIVE_BUILD, 'wasm-test');
  const name = `xgb-d${depth}-r200`;
  const bundle = path.join(dir, `${name}.fhm`);
  requireFile(CLI, 'run scripts/build.sh (target fetal-model)');
  requireFile(REFERENCE, 'run scripts/build.sh (target fetal_wasm_reference)');
  const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(CLI).mtimeMs &&
      statSync(bundle).mtimeMs >= statSync(REFERENCE).mtimeMs;
  if (fresh) return bundle;
  mkdirSync(dir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const json = path.join(dir, `${name}.${tag}.json`);
  const tmp = path.join(dir, `${name}.${tag}.fhm`);
  execFileSync(REFERENCE, ['train-xgboost', '--data', DATASET, '--out', json, '--depth', String(depth), '--rounds', '200']);
  execFileSync(CLI, ['import-xgboost', '--xgboost', json, '--data', DATASET, '--out', tmp,
    '--name', `xgboost-depth${depth}-200`, '--created', '2026-01-01T00:00:00Z'], { stdio: 'ignore' });
  renameSync(tmp, bundle);
  return bundle;
}

/** The models the parity tests and benchmarks run on. */
export function modelPaths() {
  return [
    { name: 'default', file: defaultModelPath() },
    { name: 'xgboost-d6-r200', file: xgboostModelPath(6) },
    { name: 'xgboost-d8-r200', file: xgboostModelPath(8) },
  ];
}

/** Non-finite numbers travel as strings in the reference JSON (as in the bindings). */
export function num(v) {
  return typeof v === 'string' ? Number(v) : v;
}
