#!/usr/bin/env node
// The hvagent executable. An external agent is started once per request, so a request
// loads only what it needs, and each piece is compiled through a V8 code cache of its own:
//   hvagent.bundle.js          main (what a refused request runs: adapters, dispatch's front, the DDL registry)
//   hvagent.ddl.<name>.cjs     one agent's DDL and validators: `hvagent-ddl:<name>`
//   hvagent.cli.cjs            the command line: `hvagent-cli:<source path>`
//   hvagent.actions.cjs        the handlers and operations: `hvagent-actions:<source path>`;
//                              the modules it shares with main come from main by name
//                              (`hvagent-shared:<source path>`), those it shares with the
//                              command line from the CLI piece (`hvagent-cli:…`)
//   hvagent.vendor.cjs         yaml, fast-xml-parser: `hvagent-vendor:<package>`
// beside the executable, or in hvagent/ beside it (the layout `hvagent install` writes).
// Each cache (<piece>.cache) starts with its piece's build id: V8 checks little more than
// the source length, so a cache from another build must never be offered. A missing or
// rejected cache (another Node version) only costs the normal compile.
'use strict';
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const { join, dirname } = require('node:path');
const { Script } = require('node:vm');

const BUILD_ID = /^\/\/ hvagent-build ([0-9a-f]{64})\n/;
const here = dirname(__filename);
const cacheOut = process.env.HVAGENT_WRITE_CODE_CACHE;

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

/** One piece, compiled as a CommonJS module body through the code cache `<name minus extension>.cache` beside it. */
function compileCached(name) {
  const file = firstReadable(name);
  const source = file.data.toString('utf8');
  const buildId = BUILD_ID.exec(source)?.[1] ?? '';
  const cachePath = join(dirname(file.path), `${name.replace(/\.(c?js)$/, '')}.cache`);
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
  const module = { exports: {} };
  script.runInThisContext()(module.exports, pieceRequire, module, file.path, dirname(file.path));
  // Kept only to write its cache: a V8 start-up snapshot cannot hold a live vm.Script (bench/startup-snapshot.sh).
  if (cacheOut) compiled.push({
    name,
    save() {
      const temporary = `${cachePath}.tmp-${process.pid}`;
      writeFileSync(temporary, Buffer.concat([Buffer.from(buildId, 'latin1'), script.createCachedData()]));
      renameSync(temporary, cachePath);
    },
  });
  return module.exports;
}

const compiled = [];
const pieces = new Map();
function piece(name) {
  if (!pieces.has(name)) pieces.set(name, compileCached(name));
  return pieces.get(name);
}

const shared = new Map();
function pieceRequire(id) {
  const colon = id.indexOf(':');
  if (!id.startsWith('hvagent-') || colon < 0) return require(id);
  const what = id.slice(colon + 1);
  switch (id.slice(0, colon)) {
    case 'hvagent-vendor':
      return piece('hvagent.vendor.cjs')[what];
    case 'hvagent-ddl':
      return piece(`hvagent.ddl.${what}.cjs`);
    case 'hvagent-actions':
      return piece('hvagent.actions.cjs')[what]();
    case 'hvagent-cli':
      return piece('hvagent.cli.cjs')[what]();
    case 'hvagent-shared': {
      // Main hands over each module it shares once, by its source path.
      if (!shared.has(what)) shared.set(what, globalThis[Symbol.for('hvagent.shared')][what]());
      return shared.get(what);
    }
    default:
      return require(id);
  }
}

// Where the pieces are, for `hvagent install` (which copies them): asked only there.
// `piece` for bench/startup-snapshot.sh's snapshot builder, which evaluates pieces before the heap is written.
globalThis[Symbol.for('hvagent.files')] = {
  executable: __filename,
  piece,
  get directory() {
    return dirname(firstReadable('hvagent.bundle.js').path);
  },
};
if (cacheOut) {
  // The bundle runs a warm-up instead of a request, so that the caches also hold the
  // functions a request compiles lazily, not only each piece's top level. Main's cache is
  // written as soon as the warm-up has run a refused request (`refusalDone`): what every
  // request runs, and no more, since each function in a cache costs every request that
  // loads it; each other piece's after the whole warm-up (every action, every handler).
  let mainSaved = false;
  const saveMain = () => {
    if (mainSaved) return;
    mainSaved = true;
    for (const each of compiled) if (each.name === 'hvagent.bundle.js') each.save();
  };
  globalThis[Symbol.for('hvagent.warmup')] = (work) =>
    work(saveMain).then(() => {
      const libraries = piece('hvagent.vendor.cjs');
      libraries.yaml.parse('warm: [up]');
      new libraries['fast-xml-parser'].XMLParser().parse('<warm up="1"/>');
      saveMain();
      for (const each of compiled) if (each.name !== 'hvagent.bundle.js') each.save();
    });
}
piece('hvagent.bundle.js');
