#!/usr/bin/env -S node --preserve-symlinks-main
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
// beside the executable, or in hvagent/ beside it (the layout `hvagent install` writes), or
// beside the file a symbolic link to the executable names (/usr/bin/hvagent). Node is asked
// not to resolve the executable's own path (--preserve-symlinks-main): its JavaScript
// realpath, compiled on every start, was ~1.3 M instructions of a refused request's ~14 M
// above `node -e 0`; a link is resolved here, in C++, only when nothing lies beside it.
// Each cache (<piece>.cache) starts with its piece's build id: V8 checks little more than
// the source length, so a cache from another build must never be offered. A missing or
// rejected cache (another Node version) only costs the normal compile. Pieces and caches are
// read as UTF-8 text, which Node reads in C++ (readFileUtf8); reading bytes compiles Node's
// JavaScript read path on every start, so a cache is kept as base64 text, after its build id
// and the version of the Node that wrote it.
//
// vm.Script's constructor and runInThisContext spend ~1 M instructions of every start in
// option checks that Node compiles on first use. The class vm.Script extends (Node's
// contextify binding) compiles and runs the same script without them, but its arguments are
// Node's internals, not an API: it is used only on Node 20, whose arguments are these, and
// only with a cache written by this very Node version. The caches are written (build,
// `hvagent install`) by a warm-up that compiles every piece through it, so a Node whose
// binding takes other arguments fails there, loudly, and never at a request. The class is
// taken from the binding itself (process.binding, which hands it out as it is): node:vm is
// the one module of Node's a refusal would otherwise load, ~0.35 M instructions. Node warns
// at process.binding (DEP0111) only where deprecations still pending are asked for, and
// refuses it under the permission model: there (NODE_PENDING_DEPRECATION, or either asked
// for in NODE_OPTIONS or on the command line) node:vm hands the class over.
'use strict';
const { readFileSync, realpathSync, writeFileSync, renameSync } = require('node:fs');
const { dirname } = require('node:path');

const vmScript = () => require('node:vm').Script;
const asksAgainstBinding = (options) => options.includes('pending-deprecation') || options.includes('permission');
const bindingIsQuiet = () =>
  !process.env.NODE_PENDING_DEPRECATION && !asksAgainstBinding(process.env.NODE_OPTIONS ?? '') && !process.execArgv.some(asksAgainstBinding);
const DirectScript = process.versions.node.startsWith('20.')
  ? bindingIsQuiet()
    ? process.binding('contextify').ContextifyScript
    : Object.getPrototypeOf(vmScript())
  : undefined;
// What the binding takes in place of vm.Script's "no import() callback": import() is never used in a piece.
const NO_IMPORT_CALLBACK = Symbol('hvagent: no import()');
const WRITTEN_BY = DirectScript ? process.version : '';

// Plain string work, no regular expressions: each one is compiled on every start.
const BUILD_ID_MARK = '// hvagent-build ';
const cacheOut = process.env.HVAGENT_WRITE_CODE_CACHE;

/** Where the pieces are, once one has been found there. */
let pieceDirectory;

function firstReadable(name) {
  const here = dirname(__filename);
  const places = [`${here}/${name}`, `${here}/hvagent/${name}`];
  if (pieceDirectory) places.unshift(`${pieceDirectory}/${name}`);
  let linkFollowed = false;
  for (let index = 0; index < places.length; index += 1) {
    try {
      const source = readFileSync(places[index], 'utf8');
      pieceDirectory = dirname(places[index]);
      return { path: places[index], source };
    } catch {
      // A symbolic link to the executable: its pieces lie beside the file it names.
      if (index === places.length - 1 && !linkFollowed) {
        linkFollowed = true;
        const real = dirname(realpathSync.native(__filename));
        if (real !== here) places.push(`${real}/${name}`, `${real}/hvagent/${name}`);
      }
    }
  }
  throw new Error(`hvagent: ${name} not found beside ${__filename}`);
}

/**
 * Node 20's own base64 decoder in C++ (Buffer.prototype.base64Write, which takes any
 * Uint8Array): Buffer.from(…, 'base64') compiles ~0.4 M instructions of JavaScript first.
 */
function decodeBase64(text) {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array(((text.length * 3) >>> 2) - padding);
  Buffer.prototype.base64Write.call(bytes, text, 0, bytes.length);
  return bytes;
}

/** One piece, compiled as a CommonJS module body through the code cache `<name minus extension>.cache` beside it. */
function compileCached(name) {
  const file = firstReadable(name);
  const source = file.source;
  const buildId = source.startsWith(BUILD_ID_MARK) ? source.slice(BUILD_ID_MARK.length, BUILD_ID_MARK.length + 64) : '';
  const cachePath = `${dirname(file.path)}/${name.slice(0, name.lastIndexOf('.'))}.cache`;
  let cachedData;
  let direct = cacheOut && DirectScript;
  if (!cacheOut) {
    try {
      const cache = readFileSync(cachePath, 'utf8');
      const header = cache.indexOf('\n');
      if (buildId.length === 64 && cache.startsWith(buildId) && header > 0) {
        direct = DirectScript && cache.slice(64, header) === WRITTEN_BY;
        const encoded = cache.slice(header + 1);
        cachedData = direct ? decodeBase64(encoded) : Buffer.from(encoded, 'base64');
      }
    } catch {
      // no cache: compile normally
    }
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = direct
    ? new DirectScript(wrapped, file.path, 0, 0, cachedData, false, undefined, NO_IMPORT_CALLBACK)
    : new (vmScript())(wrapped, { filename: file.path, ...(cachedData && { cachedData }) });
  // runInThisContext's arguments: no context, no timeout, errors displayed, no SIGINT break, no first-line break.
  const body = direct ? script.runInContext(null, -1, true, false, false) : script.runInThisContext();
  const module = { exports: {} };
  body(module.exports, pieceRequire, module, file.path, dirname(file.path));
  // Kept only to write its cache: a V8 start-up snapshot cannot hold a live vm.Script (bench/startup-snapshot.sh).
  if (cacheOut) compiled.push({
    name,
    save() {
      const temporary = `${cachePath}.tmp-${process.pid}`;
      writeFileSync(temporary, `${buildId}${WRITTEN_BY}\n${script.createCachedData().toString('base64')}`);
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
