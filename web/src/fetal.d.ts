// The WASM runtime's types are the wrapper's own declarations (wasm/js/fetal.d.ts), so the app is
// type-checked against the real API. At run time `./fetal.js` is the copy that the build puts
// next to app.js in dist/ (esbuild leaves it external).
export * from '../../wasm/js/fetal.js';
