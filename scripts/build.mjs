#!/usr/bin/env node
// Builds the agent. An external agent is started once per request on every host, so what a
// request loads is kept to what it needs, each piece compiled through a V8 code cache of its
// own (scripts/loader.cjs):
//
//   dist/hvagent.cjs              the executable (scripts/loader.cjs)
//   dist/hvagent.bundle.js        main: what a refused request runs (the per-request adapters,
//                                 dispatch's front, the DDL registry, the audit line)
//   dist/hvagent.ddl.<name>.cjs   one agent's DDL and input validators (and config, pool drop-in, catalogue)
//   dist/hvagent.cli.cjs          the command line (parsing, help, tables): what a CLI request
//                                 handed to `hvagent serve` runs besides main; what it loads on
//                                 demand (install, completion, `rpc`) is the actions piece's
//   dist/hvagent.actions.cjs      the dispatcher, the configuration loader, every action
//                                 handler and the operations below them; loaded only when a
//                                 request has passed validation and runs in this process;
//                                 the modules it shares with main (errors, the request scope,
//                                 the process runner, …) are main's own, and those it shares
//                                 with the command line the CLI piece's, handed over by name
//   dist/hvagent.vendor.cjs       yaml, fast-xml-parser: loaded on first use
//
// 1. the build tools (DDL compiler, artefact generator) are bundled and run:
//    ddl/*.yaml → build/generated/ (index.cjs, agent-<name>.cjs, config.cjs, pool.cjs, catalogue.cjs);
// 2. main, the command line, actions, the DDL pieces and vendor are bundled with esbuild;
// 3. each file gets a build id line, and the executable writes the code caches.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const generate = process.argv.includes('--generate');

await build({
  entryPoints: { compile: join(root, 'src/build/compile-ddl.ts'), generate: join(root, 'src/build/generate-artefacts.ts') },
  outdir: join(root, 'build'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  packages: 'external',
  logLevel: 'warning',
});
const runTool = (...args) => {
  try {
    execFileSync(process.execPath, args, { stdio: 'inherit' });
  } catch {
    process.exit(1); // the tool has said why on stderr
  }
};
runTool(join(root, 'build/compile.mjs'), join(root, 'ddl'), join(root, 'build'));

const VENDOR = ['yaml', 'fast-xml-parser', 'hono', 'hono/method-not-allowed', 'hono/streaming', '@hono/node-server'];
const GENERATED = join(root, 'build/generated');
const common = { absWorkingDir: root, bundle: true, platform: 'node', format: 'cjs', target: 'node18', minify: true, legalComments: 'none', logLevel: 'warning' };
const relativeId = (path) => relative(root, path).split('\\').join('/');
const sourceOf = (resolveDir, spec) => resolve(resolveDir, spec.replace(/\.js$/, '.ts'));

/**
 * Each import of a vendor package becomes a shim whose exports are getters: the vendor file
 * is loaded when one is first read, not when a module that imports the package is evaluated
 * (`vm list` imports the domain parser, and needs it only where containers exist).
 */
const requireFromRoot = createRequire(join(root, 'package.json'));
const vendorPlugin = {
  name: 'vendor',
  setup(plugin) {
    plugin.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})$`) }, ({ path }) => ({ path, namespace: 'vendor-shim' }));
    plugin.onLoad({ filter: /.*/, namespace: 'vendor-shim' }, ({ path }) => ({
      contents: [
        `let loaded;`,
        `const load = () => (loaded ??= require(${JSON.stringify(`hvagent-vendor:${path}`)}));`,
        `module.exports = { ${Object.keys(requireFromRoot(path)).map((name) => `get ${JSON.stringify(name)}() { return load()[${JSON.stringify(name)}]; }`).join(', ')} };`,
      ].join('\n'),
      loader: 'js',
    }));
    plugin.onResolve({ filter: /^hvagent-(vendor|ddl|actions|cli|shared):/ }, ({ path }) => ({ path, external: true }));
  },
};

/** The generated DDL pieces are loaded by name (`hvagent-ddl:agent-vm`), each from a file of its own. */
const ddlPlugin = {
  name: 'ddl-pieces',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\/[a-z0-9_-]+\.cjs$/ }, ({ path, importer }) =>
      dirname(importer) === GENERATED && !path.endsWith('index.cjs') ? { path: `hvagent-ddl:${path.slice(2, -'.cjs'.length)}`, external: true } : undefined,
    );
  },
};

/**
 * The handlers the agents' actions.ts files load on demand go to the actions file, by their
 * source path; so do the server (`hvagent serve`), which no per-request process runs, and
 * what runs only once a request has passed validation (the dispatcher itself, the
 * configuration loader) and the warm-up: main holds what a refused request runs
 * (dispatch/front.ts), and no more. The command line is a piece of its own (CLI), loaded by
 * main on demand; what the command line itself loads on demand (`hvagent install` with the
 * plugin files it writes, completion's lookups, `rpc`) is the actions file's: a CLI request
 * that `hvagent serve` answers never loads the actions file.
 */
const CLI = 'src/adapter/cli.ts';
const AFTER_VALIDATION = new Set(['src/agents/index.ts', 'src/dispatch/dispatcher.ts', 'src/config/load.ts', 'src/warm-up.ts']);
const onDemand = (importer, path, id) =>
  /[\\/]src[\\/]agents[\\/][^\\/]+[\\/]actions\.ts$/.test(importer) ||
  (/[\\/]src[\\/]main\.ts$/.test(importer) && path.startsWith('./adapter/rest/')) ||
  AFTER_VALIDATION.has(id);
/** Where a dynamic import goes: `pieceOf` names the piece ('actions', 'cli') or says undefined (bundled here). */
const piecesPlugin = (pieceOf, entries) => ({
  name: 'pieces',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.?\// }, ({ path, importer, resolveDir, kind }) => {
      if (kind !== 'dynamic-import') return undefined;
      const id = relativeId(sourceOf(resolveDir, path));
      const target = pieceOf(importer, path, id);
      if (!target) return undefined;
      entries[target].add(id);
      // A shim module, not a bare external: esbuild turns import() of a bundled module into a
      // require, where import() of an external would stay import(), which vm.Script cannot run.
      return { path: `hvagent-${target}:${id}`, namespace: 'piece-shim' };
    });
  },
});
/** The shim of a module another piece holds, for import(): `require('hvagent-<piece>:<source path>')`. */
const shimPlugin = {
  name: 'piece-shim',
  setup(plugin) {
    plugin.onLoad({ filter: /.*/, namespace: 'piece-shim' }, ({ path }) => ({ contents: `module.exports = require(${JSON.stringify(path)});`, loader: 'js' }));
  },
};
/** In main: the command line is the CLI piece's, the rest loaded on demand the actions piece's. */
const mainPieceOf = (importer, path, id) => (id === CLI ? 'cli' : onDemand(importer, path, id) ? 'actions' : undefined);
/** In the CLI piece, whatever it loads on demand that main does not hold is the actions piece's. */
const cliPieceOf = () => 'actions';
/**
 * Modules the CLI piece and the actions file each hold a copy of rather than share: they
 * keep no state (a constant, a pure function), and the actions file would otherwise load the
 * CLI piece for them (`host info` reads the version). Any other module they both use is the
 * CLI piece's, handed over by name: one instance.
 */
const COPIED = new Set(['src/version.ts', 'src/adapter/typed-text.ts']);

/**
 * In a piece loaded after main, a module main already holds is main's (one HvError class, one
 * request scope): `hvagent-shared:<source path>`; in the actions file, likewise, a module the
 * CLI piece holds is the CLI piece's (`hvagent-cli:<source path>`).
 */
const sharedPlugin = (holder, modules, shared) => ({
  name: `shared-with-${holder}`,
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.?\// }, ({ path, resolveDir, kind }) => {
      if (!resolveDir) return undefined;
      const id = relativeId(sourceOf(resolveDir, path));
      const exact = relativeId(resolve(resolveDir, path));
      const hit = modules.has(id) ? id : modules.has(exact) ? exact : undefined;
      if (!hit) return undefined;
      shared.add(hit);
      // import() of an external would stay import(), which vm.Script cannot run: a shim requires it.
      if (kind === 'dynamic-import') return { path: `hvagent-${holder}:${hit}`, namespace: 'piece-shim' };
      return { path: `hvagent-${holder}:${hit}`, external: true };
    });
  },
});

/** The modules a piece hands over, by source path, each evaluated when first asked for. */
const table = (ids) => `{\n${[...ids].sort().map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(`./${id}`)}),`).join('\n')}\n}`;

const define = { HVAGENT_VERSION: JSON.stringify(version) };
const bundled = (options) =>
  build({ ...common, loader: { '.rb': 'text', '.ddl': 'text' }, define, metafile: true, ...options, plugins: [vendorPlugin, ddlPlugin, shimPlugin, ...options.plugins] });
const stdin = (contents, sourcefile) => ({ contents, resolveDir: root, sourcefile, loader: 'js' });
const modulesOf = (result) => new Set(Object.keys(result.metafile.inputs));

// Main first, to learn which modules it holds and what it loads on demand from the other pieces.
const entries = { actions: new Set(), cli: new Set() };
const mainModules = modulesOf(
  await bundled({ entryPoints: [join(root, 'src/main.ts')], outfile: join(root, 'build/bundle.cjs'), write: false, plugins: [piecesPlugin(mainPieceOf, entries)] }),
);

// The command line, to learn which modules it holds (the actions file takes those from it).
const sharedWithMain = new Set();
const cliBuild = (handedOver, write) =>
  bundled({
    stdin: stdin(`module.exports = ${table(new Set([...entries.cli, ...handedOver]))};`, 'hvagent-cli.js'),
    outfile: join(root, 'build/cli.cjs'),
    write,
    plugins: [sharedPlugin('shared', mainModules, sharedWithMain), piecesPlugin(cliPieceOf, entries)],
  });
const cliModules = new Set([...modulesOf(await cliBuild([], false))].filter((id) => !COPIED.has(id)));

const sharedWithCli = new Set();
await bundled({
  stdin: stdin(`module.exports = ${table(entries.actions)};`, 'hvagent-actions.js'),
  outfile: join(root, 'build/actions.cjs'),
  plugins: [sharedPlugin('shared', mainModules, sharedWithMain), sharedPlugin('cli', cliModules, sharedWithCli)],
});

// The command line again, handing the actions file the modules it shares by name.
await cliBuild(sharedWithCli, true);

// Main again, now handing the other pieces the modules they share by name (lazily: a module
// is evaluated only when something needs it).
await bundled({
  stdin: stdin(`globalThis[Symbol.for('hvagent.shared')] = ${table(sharedWithMain)};\nrequire('./src/main.ts');`, 'hvagent-main.js'),
  outfile: join(root, 'build/bundle.cjs'),
  plugins: [piecesPlugin(mainPieceOf, { actions: new Set(), cli: new Set() })],
});

const pieces = readdirSync(GENERATED).filter((name) => name.endsWith('.cjs') && name !== 'index.cjs');
await Promise.all(
  pieces.map((name) => build({ ...common, entryPoints: [join(GENERATED, name)], outfile: join(root, `build/ddl/${name}`) })),
);
await build({
  ...common,
  stdin: {
    contents: `module.exports = { ${VENDOR.map((name) => `get ${JSON.stringify(name)}() { return require(${JSON.stringify(name)}); }`).join(', ')} };`,
    resolveDir: root,
    loader: 'js',
  },
  outfile: join(root, 'build/vendor.cjs'),
});

// Each file starts with its build id: V8 checks little more than a cache's source length,
// so a cache from another build must never be offered (scripts/loader.cjs).
rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(join(root, 'dist'), { recursive: true });
const stamp = (from, to) => {
  const body = readFileSync(join(root, from), 'utf8');
  writeFileSync(join(root, 'dist', to), `// hvagent-build ${createHash('sha256').update(body).digest('hex')}\n${body}`);
};
stamp('build/bundle.cjs', 'hvagent.bundle.js');
stamp('build/cli.cjs', 'hvagent.cli.cjs');
stamp('build/actions.cjs', 'hvagent.actions.cjs');
stamp('build/vendor.cjs', 'hvagent.vendor.cjs');
for (const name of pieces) stamp(`build/ddl/${name}`, `hvagent.ddl.${name}`);
// The executable is compiled from source by Node on every request (no cache can be given for
// a main script): minified, there is less of it to read and parse.
await build({ ...common, bundle: false, entryPoints: [join(root, 'scripts/loader.cjs')], outfile: join(root, 'dist/hvagent.cjs') });
chmodSync(join(root, 'dist/hvagent.cjs'), 0o755);
execFileSync(process.execPath, [join(root, 'dist/hvagent.cjs')], { env: { ...process.env, HVAGENT_WRITE_CODE_CACHE: '1' } });

if (generate) runTool(join(root, 'build/generate.mjs'), root);
