#!/usr/bin/env node
// The hvagent executable. An external agent is started once per request, and compiling
// the 350 KB bundle was most of its start-up, so this loader compiles the bundle with
// V8's code cache. Beside the executable (or in hvagent/ beside it, the layout `hvagent
// install` writes) lie hvagent.bundle.js, hvagent.vendor.cjs (libraries only actions
// need, loaded on first use) and hvagent.cache. The cache starts with the
// bundle's build id: V8 checks little more than the source length, so a cache from
// another build must never be offered. A missing or rejected cache (another Node
// version) only costs the normal compile.
'use strict';
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const { join, dirname } = require('node:path');
const { Script } = require('node:vm');

const BUILD_ID = /^\/\/ hvagent-build ([0-9a-f]{64})\n/;
const here = dirname(__filename);

function firstReadable(name) {
  for (const path of [join(here, name), join(here, 'hvagent', name)]) {
    try {
      return { path, data: readFileSync(path) };
    } catch {
      // try the next place
    }
  }
  throw new Error(`hvagent: ${name} not found beside ${__filename}`);
}

const cacheOut = process.env.HVAGENT_WRITE_CODE_CACHE;

/**
 * Compiles one of our files (a `// hvagent-build <sha>` line first) as a CommonJS module
 * body through the V8 code cache `cacheName` beside it; save() writes that cache.
 */
function compileCached(file, cacheName) {
  const source = file.data.toString('utf8');
  const buildId = BUILD_ID.exec(source)?.[1] ?? '';
  const cachePath = join(dirname(file.path), cacheName);
  let cachedData;
  if (!cacheOut) {
    try {
      const cache = readFileSync(cachePath);
      if (cache.toString('latin1', 0, 64) === buildId) cachedData = cache.subarray(64);
    } catch {
      // no cache: compile normally
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file.path,
    ...(cachedData && { cachedData }),
  });
  return {
    cachePath,
    run(requireFn) {
      const module = { exports: {} };
      script.runInThisContext()(module.exports, requireFn, module, file.path, dirname(file.path));
      return module.exports;
    },
    save() {
      const temporary = `${cachePath}.tmp-${process.pid}`;
      writeFileSync(temporary, Buffer.concat([Buffer.from(buildId, 'latin1'), script.createCachedData()]));
      renameSync(temporary, cachePath);
    },
  };
}

const bundleFile = firstReadable('hvagent.bundle.js');
const bundle = compileCached(bundleFile, 'hvagent.cache');
// The bundle asks for its libraries as `hvagent-vendor:<package>`: they live in
// hvagent.vendor.cjs beside it (with hvagent.vendor.cache), loaded the first time an
// action needs one.
let vendorScript;
let vendor;
function loadVendor() {
  vendorScript ??= compileCached(firstReadable('hvagent.vendor.cjs'), 'hvagent.vendor.cache');
  return (vendor ??= vendorScript.run(require));
}
function bundleRequire(id) {
  return id.startsWith('hvagent-vendor:') ? loadVendor()[id.slice('hvagent-vendor:'.length)] : require(id);
}
globalThis[Symbol.for('hvagent.files')] = { executable: __filename, bundle: bundleFile.path, cache: bundle.cachePath };
if (cacheOut) {
  // The bundle runs a warm-up instead of a request; the caches then also hold the functions
  // a request compiles lazily, not only the top level.
  globalThis[Symbol.for('hvagent.warmup')] = (work) =>
    work().then(() => {
      bundle.save();
      const libraries = loadVendor();
      libraries.yaml.parse('warm: [up]');
      new libraries['fast-xml-parser'].XMLParser().parse('<warm up="1"/>');
      void libraries.execa.execa;
      vendorScript.save();
    });
}
bundle.run(bundleRequire);
