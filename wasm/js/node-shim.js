// Prepended (--extern-pre-js) to fetal-core.js. Emscripten 3.1.6's ES-module glue still reads
// the CommonJS names require/__dirname when it runs under Node; define them there only, so the
// same file loads unchanged in browsers and workers. The specifier is a variable so that web
// bundlers do not try to resolve a Node built-in.
if (typeof process == 'object' && typeof process.versions == 'object' &&
    typeof process.versions.node == 'string') {
  const nodeModuleSpecifier = 'module';
  const { createRequire } = await import(nodeModuleSpecifier);
  var require = createRequire(import.meta.url);
  var __filename = require('url').fileURLToPath(import.meta.url);
  var __dirname = require('path').dirname(__filename);
}
