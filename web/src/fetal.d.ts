// The WASM runtime's types come from the WASM engineer's declaration file, so the app is
// type-checked against the real API. At run time `./fetal.js` is the copy that the build puts
// next to app.js in dist/ (esbuild leaves it external).
export * from '../../wasm/js/fetal.js';
