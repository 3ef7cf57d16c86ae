// Runs as soon as it arrives (async, before app.js, which is larger, has downloaded and been
// parsed): compiles fetal-core.wasm while it downloads, instantiates the runtime and loads the
// built-in model, so that app.js finds them ready (web/src/main.ts, web/src/models.ts) and the
// app is up about when the runtime could first classify. A host that serves .wasm with another
// MIME type makes compileStreaming fail: the runtime then compiles the usual way. Any failure
// here leaves the promise rejected and app.js reports it as a load failure.
performance.mark('fetal:boot');  // the start-up stages: web/README.md ("Start-up")
const base = import.meta.url;
const wasmModule = WebAssembly.compileStreaming(fetch(new URL('fetal-core.wasm', base))).catch(() => null);
const model = fetch(new URL('model/default.fhm', base));
globalThis.__fetalBoot = (async () => {
  const { loadFetal } = await import('./fetal.js');
  const compiled = await wasmModule;
  const runtime = await loadFetal(compiled ? { wasmModule: compiled } : { wasmUrl: new URL('fetal-core.wasm', base) });
  performance.mark('fetal:runtime');
  const response = await model;
  if (!response.ok) throw new Error(`model/default.fhm: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  performance.mark('fetal:fetched');
  const builtin = await runtime.loadModelAsync(bytes);
  performance.mark('fetal:model');
  return { runtime, builtin };
})();
// A rejection is handled by app.js; this keeps it from being reported as unhandled before then.
globalThis.__fetalBoot.catch(() => undefined);
