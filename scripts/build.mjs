#!/usr/bin/env node
// Builds the agent. An external agent is started once per request on every host, so what a
// request loads is kept to what it needs, each piece compiled through a V8 code cache of its
// own (scripts/loader.cjs):
//
//   dist/hvagent.cjs              the executable (scripts/loader.cjs)
//   dist/hvagent.bundle.js        main: what a refused request runs (the per-request adapters,
//                                 dispatch's front, the DDL registry, the audit line)
//   dist/hvagent.ddl.<name>.cjs   one agent's DDL and input validators (and config, pool drop-in, catalogue)
//   dist/hvagent.actions.cjs      the dispatcher, the configuration loader, the command line,
//                                 every action handler and the operations below them; loaded
//                                 only when a request has passed validation;
//                                 the modules it shares with main (errors, the request scope,
//                                 the process runner, …) are main's own, handed over by name
//   dist/hvagent.vendor.cjs       yaml, fast-xml-parser: loaded on first use
//
// 1. the build tools (DDL compiler, artefact generator) are bundled and run:
//    ddl/*.yaml → build/generated/ (index.cjs, agent-<name>.cjs, config.cjs, pool.cjs, catalogue.cjs);
// 2. main, actions, the DDL pieces and vendor are bundled with esbuild;
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
    plugin.onResolve({ filter: /^hvagent-(vendor|ddl|actions|shared):/ }, ({ path }) => ({ path, external: true }));
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
 * `hvagent install` with the plugin files it writes; and what runs only once a request has
 * passed validation (the dispatcher itself, the configuration loader), the command line and
 * the warm-up: main holds what a refused request runs (dispatch/front.ts), and no more.
 */
const AFTER_VALIDATION = new Set(['src/agents/index.ts', 'src/dispatch/dispatcher.ts', 'src/config/load.ts', 'src/adapter/cli.ts', 'src/warm-up.ts']);
const onDemand = (importer, path, id) =>
  /[\\/]src[\\/]agents[\\/][^\\/]+[\\/]actions\.ts$/.test(importer) ||
  (/[\\/]src[\\/]main\.ts$/.test(importer) && path.startsWith('./adapter/rest/')) ||
  (/[\\/]src[\\/]adapter[\\/]cli\.ts$/.test(importer) && path === './install.js') ||
  AFTER_VALIDATION.has(id);
const handlersPlugin = (handlers) => ({
  name: 'handlers',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.?\// }, ({ path, importer, resolveDir, kind }) => {
      if (kind !== 'dynamic-import') return undefined;
      const id = relativeId(sourceOf(resolveDir, path));
      if (!onDemand(importer, path, id)) return undefined;
      handlers.add(id);
      // A shim module, not a bare external: esbuild turns import() of a bundled module into a
      // require, where import() of an external would stay import(), which vm.Script cannot run.
      return { path: id, namespace: 'handler-shim' };
    });
    plugin.onLoad({ filter: /.*/, namespace: 'handler-shim' }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(`hvagent-actions:${path}`)});`,
      loader: 'js',
    }));
  },
});

/** In the actions file, a module main already holds is main's (one HvError class, one request scope). */
const sharedPlugin = (mainModules, shared) => ({
  name: 'shared-with-main',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.?\// }, ({ path, resolveDir, kind }) => {
      if (!resolveDir) return undefined;
      const id = relativeId(sourceOf(resolveDir, path));
      const exact = relativeId(resolve(resolveDir, path));
      const hit = mainModules.has(id) ? id : mainModules.has(exact) ? exact : undefined;
      if (!hit) return undefined;
      shared.add(hit);
      // import() of an external would stay import(), which vm.Script cannot run: a shim requires it.
      if (kind === 'dynamic-import') return { path: hit, namespace: 'shared-shim' };
      return { path: `hvagent-shared:${hit}`, external: true };
    });
    plugin.onLoad({ filter: /.*/, namespace: 'shared-shim' }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(`hvagent-shared:${path}`)});`,
      loader: 'js',
    }));
  },
});

const define = { HVAGENT_VERSION: JSON.stringify(version) };
const mainBuild = (contents) =>
  build({
    ...common,
    stdin: { contents, resolveDir: root, sourcefile: 'hvagent-main.js', loader: 'js' },
    outfile: join(root, 'build/bundle.cjs'),
    loader: { '.rb': 'text', '.ddl': 'text' },
    define,
    metafile: true,
    plugins: [vendorPlugin, ddlPlugin, handlersPlugin(new Set())],
  });

// Main first, to learn which modules it holds and which handlers are loaded on demand.
const handlers = new Set();
const first = await build({
  ...common,
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(root, 'build/bundle.cjs'),
  loader: { '.rb': 'text', '.ddl': 'text' },
  define,
  metafile: true,
  write: false,
  plugins: [vendorPlugin, ddlPlugin, handlersPlugin(handlers)],
});
const mainModules = new Set(Object.keys(first.metafile.inputs));

const shared = new Set();
await build({
  ...common,
  stdin: {
    contents: `module.exports = {\n${[...handlers].sort().map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(`./${id}`)}),`).join('\n')}\n};`,
    resolveDir: root,
    sourcefile: 'hvagent-actions.js',
    loader: 'js',
  },
  outfile: join(root, 'build/actions.cjs'),
  loader: { '.rb': 'text', '.ddl': 'text' },
  define,
  plugins: [vendorPlugin, ddlPlugin, sharedPlugin(mainModules, shared)],
});

// Main again, now handing the actions file the modules it shares by name (lazily: a module
// is evaluated only when something needs it).
await mainBuild(
  [
    `globalThis[Symbol.for('hvagent.shared')] = {`,
    ...[...shared].sort().map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(`./${id}`)}),`),
    `};`,
    `require('./src/main.ts');`,
  ].join('\n'),
);

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
stamp('build/actions.cjs', 'hvagent.actions.cjs');
stamp('build/vendor.cjs', 'hvagent.vendor.cjs');
for (const name of pieces) stamp(`build/ddl/${name}`, `hvagent.ddl.${name}`);
// The executable is compiled from source by Node on every request (no cache can be given for
// a main script): minified, there is less of it to read and parse.
await build({ ...common, bundle: false, entryPoints: [join(root, 'scripts/loader.cjs')], outfile: join(root, 'dist/hvagent.cjs') });
chmodSync(join(root, 'dist/hvagent.cjs'), 0o755);
execFileSync(process.execPath, [join(root, 'dist/hvagent.cjs')], { env: { ...process.env, HVAGENT_WRITE_CODE_CACHE: '1' } });

if (generate) runTool(join(root, 'build/generate.mjs'), root);
