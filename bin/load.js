'use strict';
// Runs a bundled entry point (dist/<name>.js) through V8's code cache: the first run compiles
// the bundle and saves what V8 compiled to dist/<name>.js.cache; later runs skip most of the
// parse and compile work (about a tenth of a CLI start). A stale or foreign cache is rejected
// by V8 itself (it checks the source) and simply rewritten. Without write access nothing is
// saved and everything still works.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

module.exports = function load(name) {
  const file = path.join(__dirname, '..', 'dist', `${name}.js`);
  const cacheFile = `${file}.cache`;
  const source = fs.readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  const req = (id) => mod.require(id);
  req.resolve = (id) => Module._resolveFilename(id, mod);
  req.main = mod;
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        /* read-only install: run without a cache */
      }
    });
  }
  script.runInThisContext().call(mod.exports, mod.exports, req, mod, file, path.dirname(file));
};
