// Builds the static web app into web/dist/ (see web/README.md): app.js, the chunks it shares with
// the lazily loaded operations views (ops-*.js), the service worker, and the copied files.
//
//   node web/build.mjs            (run from the repository root, or via scripts/build-web.sh)
//
// Inputs, each overridable by an environment variable:
//   FETAL_WASM_DIR      folder with fetal.js, fetal-core.js, fetal-core.wasm (scripts/build-wasm.sh)
//   FETAL_DEFAULT_MODEL the bundle shipped inside the app         (build/model/default.fhm)
//   FETAL_MODEL_PUBKEY  PEM (SPKI) public key that model updates must be signed with
//                       (build/model/signing-public.pem); without it the app refuses all updates
//   FETAL_SITE          the site release manifests must name (docs/rollout.md); without it the
//                       app ignores manifests and follows the server's active model
//   FETAL_WEB_OUT       output folder                              (web/dist)
//   FETAL_WEB_SOURCEMAP 1 to emit app.js.map
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));
const repo = resolve(webDir, '..');
const out = resolve(process.env.FETAL_WEB_OUT ?? join(webDir, 'dist'));

function fail(message) {
  console.error(`build-web: ${message}`);
  process.exit(1);
}

const wasmCandidates = process.env.FETAL_WASM_DIR
  ? [resolve(process.env.FETAL_WASM_DIR)]
  : ['build-wasm/dist', 'build-wasm/wasm', 'build-wasm/bin', 'build/wasm/dist', 'build/wasm'].map((p) => join(repo, p));
const WASM_FILES = ['fetal.js', 'fetal-core.js', 'fetal-core.wasm'];
const wasmDir = wasmCandidates.find((d) => WASM_FILES.every((f) => existsSync(join(d, f))));
if (!wasmDir) {
  fail(`no WASM runtime (${WASM_FILES.join(', ')}) in ${wasmCandidates.map((d) => relative(repo, d) || '.').join(' or ')}; ` +
    'run scripts/build-wasm.sh first or set FETAL_WASM_DIR');
}

const modelPath = resolve(process.env.FETAL_DEFAULT_MODEL ?? join(repo, 'build/model/default.fhm'));
if (!existsSync(modelPath)) {
  fail(`no default model bundle at ${modelPath}; build it (bin/fetal-model train) or set FETAL_DEFAULT_MODEL`);
}

const pubkeyPath = resolve(process.env.FETAL_MODEL_PUBKEY ?? join(repo, 'build/model/signing-public.pem'));
let pubkeySpki = '';
if (existsSync(pubkeyPath)) {
  const pem = readFileSync(pubkeyPath, 'utf8');
  const m = pem.match(/-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/);
  if (!m) fail(`${pubkeyPath} is not a PEM "PUBLIC KEY" (SPKI) file`);
  pubkeySpki = m[1].replace(/\s+/g, '');
} else {
  console.warn(`build-web: WARNING no public key at ${pubkeyPath}: the app will refuse every model update`);
}

// The site the app follows release manifests for, built in beside the key that signs them.
const site = process.env.FETAL_SITE ?? '';
if (site && !/^[a-z0-9-]{1,64}$/.test(site)) fail(`FETAL_SITE "${site}" must be 1 to 64 of a-z 0-9 - (the manifests' site)`);

// The runtime build id: which WebAssembly runtime this app ships (the exams it submits carry it,
// so the server can count client/server disagreements by browser build).
const runtimeHash = createHash('sha256');
for (const f of WASM_FILES) runtimeHash.update(f).update(readFileSync(join(wasmDir, f)));
const runtimeBuild = `wasm-${runtimeHash.digest('hex').slice(0, 16)}`;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'model'), { recursive: true });

// app.js, and the chunks it loads on demand (the operations views, ops.ts) or shares with them.
const app = await build({
  entryPoints: { app: join(webDir, 'src/main.ts') },
  outdir: out,
  splitting: true,
  chunkNames: '[name]-[hash]',  // beside app.js, so that './fetal.js' resolves from every chunk
  metafile: true,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  // Source maps only on request (FETAL_WEB_SOURCEMAP=1): dist/ is what users download.
  sourcemap: process.env.FETAL_WEB_SOURCEMAP === '1' ? 'linked' : false,
  external: ['./fetal.js'],
  define: {
    __FETAL_PUBKEY_SPKI__: JSON.stringify(pubkeySpki),
    __FETAL_RELEASE_SITE__: JSON.stringify(site),
    __FETAL_RUNTIME_BUILD__: JSON.stringify(runtimeBuild),
  },
  logLevel: 'warning',
});

// Chunks app.js imports statically are fetched with it (modulepreload), not after it.
const appOutput = Object.entries(app.metafile.outputs).find(([, o]) => o.entryPoint)?.[1];
const preloads = (appOutput?.imports ?? []).filter((i) => i.kind === 'import-statement' && !i.external)
  .map((i) => `  <link rel="modulepreload" href="${relative(out, resolve(i.path))}">\n`).join('');
const indexHtml = readFileSync(join(webDir, 'index.html'), 'utf8');
const anchor = '  <script type="module" src="app.js"></script>\n';
if (!indexHtml.includes(anchor)) fail('web/index.html lacks the app.js script tag the chunk preloads go after');
writeFileSync(join(out, 'index.html'), indexHtml.replace(anchor, anchor + preloads));
cpSync(join(webDir, 'public'), out, { recursive: true });
for (const f of WASM_FILES) cpSync(join(wasmDir, f), join(out, f));
cpSync(modelPath, join(out, 'model/default.fhm'));
if (existsSync(`${modelPath}.sig`)) cpSync(`${modelPath}.sig`, join(out, 'model/default.fhm.sig'));

// The trainer's markdown model card holds what the bundle does not: the confusion matrix and the
// per-class calibration tables. They are extracted into JSON for the model page (shown only while
// the built-in model is the active one).
const cardPath = resolve(process.env.FETAL_MODEL_CARD ?? join(dirname(modelPath), 'MODEL_CARD.md'));
if (existsSync(cardPath)) {
  const card = parseModelCard(readFileSync(cardPath, 'utf8'));
  if (card) writeFileSync(join(out, 'model/default.card.json'), JSON.stringify(card) + '\n');
  else console.warn(`build-web: WARNING could not read the tables of ${cardPath}; the model page will show metrics only`);
}

function parseModelCard(md) {
  const version = Number(md.match(/^# Model card: .* v(\d+)\s*$/m)?.[1]);
  const created = md.match(/^\| created \| ([^|]+?) \|/m)?.[1];
  const classes = ['Normal', 'Suspect', 'Pathological'];
  const confusionAt = md.indexOf('### Confusion matrix');
  if (!version || !created || confusionAt < 0) return null;
  const rowsAfter = (at, count) => md.slice(at).split('\n').filter((l) => /^\|\s*[^-\s|]/.test(l)).slice(1, 1 + count)
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  const confusion = rowsAfter(confusionAt, 3).map((cells) => cells.slice(1).map(Number));
  if (confusion.length !== 3 || confusion.some((r) => r.length !== 3 || r.some((v) => !Number.isFinite(v)))) return null;
  const calibration = [];
  for (const name of classes) {
    const m = md.match(new RegExp(`\\*\\*${name}\\*\\* \\(pooled ECE ([0-9.]+)\\)`));
    if (!m) continue;
    const section = md.slice(m.index);
    const end = section.indexOf('\n\n', section.indexOf('|'));
    const rows = section.slice(0, end < 0 ? undefined : end).split('\n').filter((l) => /^\| [0-9]/.test(l))
      .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()))
      .map(([range, n, predicted, observed]) => {
        const [lo, hi] = range.split(/[–-]/).map(Number);
        return { lo, hi, n: Number(n), predicted: Number(predicted), observed: Number(observed) };
      });
    calibration.push({ className: name, ece: Number(m[1]), bins: rows });
  }
  return { version, created, confusion, calibration };
}

// Everything in dist/ is precached, except source maps; the build id hashes all of it so any
// change installs a fresh cache.
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const files = walk(out).filter((p) => !p.endsWith('.map')).map((p) => relative(out, p).split('\\').join('/')).sort();
const hash = createHash('sha256');
for (const f of files) hash.update(f).update(readFileSync(join(out, f)));
const buildId = hash.digest('hex').slice(0, 16);
const precache = ['./', ...files];

await build({
  entryPoints: [join(webDir, 'src/sw.ts')],
  outfile: join(out, 'sw.js'),
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify: true,
  define: { __PRECACHE__: JSON.stringify(precache), __BUILD_ID__: JSON.stringify(buildId) },
  logLevel: 'warning',
});
writeFileSync(join(out, 'build-info.json'), JSON.stringify({
  buildId,
  runtimeBuild,
  wasmDir: relative(repo, wasmDir),
  model: relative(repo, modelPath),
  publicKey: pubkeySpki ? relative(repo, pubkeyPath) : null,
  site: site || null,
  files: precache,
}, null, 2) + '\n');

console.log(`build-web: ${relative(repo, out)} (build ${buildId}, ${files.length} files, wasm from ${relative(repo, wasmDir)}, ` +
  `model ${relative(repo, modelPath)}, public key ${pubkeySpki ? relative(repo, pubkeyPath) : 'NONE'}, site ${site || 'none'})`);
