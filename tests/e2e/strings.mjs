// The app's texts as the tests need them, taken from where the app takes them, without any hook
// in the shipped app: the strings of each language from the source (web/src/i18n/*.ts, bundled
// here with esbuild) and the features' English names and help texts from the schema of the built
// WebAssembly runtime (web/dist/fetal.js, run in Node).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

import { repo, webRoot } from './helpers.mjs';

let dictionaries = null;
let schema = null;

// { en, 'pt-BR' }: each { strings: {key: text}, features: {featureKey: {label, description}} }.
export async function languageFiles() {
  if (!dictionaries) {
    const out = await build({
      stdin: {
        contents: "export { en } from './en.ts'; export { ptBR } from './pt-BR.ts';",
        resolveDir: join(repo, 'web/src/i18n'),
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const mod = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
    dictionaries = { en: mod.en, 'pt-BR': mod.ptBR };
  }
  return dictionaries;
}

// The runtime's schema() (FeatureInfo[]), from the copy of the runtime the app ships.
export async function appSchema() {
  if (!schema) {
    const { loadFetal } = await import(pathToFileURL(join(webRoot, 'fetal.js')).href);
    schema = (await loadFetal()).schema();
  }
  return schema;
}

// Every English text the app shows that its Portuguese counterpart does not: strings, and the
// schema's feature names and help texts.
export async function englishOnlyStrings() {
  const { en, 'pt-BR': pt } = await languageFiles();
  const out = Object.entries(en.strings).filter(([key, text]) => pt.strings[key] !== text).map(([, text]) => text);
  for (const f of await appSchema()) {
    const translated = pt.features[f.key];
    if (translated?.label !== f.label) out.push(f.label);
    if (translated?.description !== f.description) out.push(f.description);
  }
  return out;
}
