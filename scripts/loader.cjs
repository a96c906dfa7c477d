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

const bundle = firstReadable('hvagent.bundle.js');
const source = bundle.data.toString('utf8');
const buildId = BUILD_ID.exec(source)?.[1] ?? '';
const cachePath = join(dirname(bundle.path), 'hvagent.cache');
const cacheOut = process.env.HVAGENT_WRITE_CODE_CACHE;
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
  filename: bundle.path,
  ...(cachedData && { cachedData }),
});
globalThis[Symbol.for('hvagent.files')] = { executable: __filename, bundle: bundle.path, cache: cachePath };
if (cacheOut) {
  // The bundle runs a warm-up instead of a request; the cache then also holds the functions
  // a request compiles lazily, not only the top level.
  globalThis[Symbol.for('hvagent.warmup')] = (work) =>
    work().then(() => {
      const temporary = `${cachePath}.tmp-${process.pid}`;
      writeFileSync(temporary, Buffer.concat([Buffer.from(buildId, 'latin1'), script.createCachedData()]));
      renameSync(temporary, cachePath);
    });
}
// The bundle asks for its libraries as `hvagent-vendor:<package>`: they live in
// hvagent.vendor.cjs beside it, loaded the first time an action needs one.
let vendor;
function bundleRequire(id) {
  if (!id.startsWith('hvagent-vendor:')) return require(id);
  vendor ??= require(join(dirname(bundle.path), 'hvagent.vendor.cjs'));
  return vendor[id.slice('hvagent-vendor:'.length)];
}
script.runInThisContext()(exports, bundleRequire, module, bundle.path, dirname(bundle.path));
