// Runs as soon as it arrives (async), before app.js and the runtime's modules have: starts
// compiling fetal-core.wasm while it downloads, so the runtime is only instantiated when app.js
// asks for it (web/src/main.ts). A host that serves .wasm with another MIME type makes
// compileStreaming fail: the promise then holds null and the runtime compiles the usual way.
const wasm = new URL('fetal-core.wasm', import.meta.url);
globalThis.__fetalWasmModule = WebAssembly.compileStreaming(fetch(wasm)).catch(() => null);
