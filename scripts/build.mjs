#!/usr/bin/env node
// Builds the agent in two stages:
//  1. build tools (DDL compiler, artefact generator) bundled and run: ddl/*.yaml →
//     build/generated.cjs (DDLs + ajv standalone validators);
//  2. the agent itself → build/bundle.cjs, ONE minified CommonJS file with everything
//     it needs, because it is started once per request on every host (start-up matters);
//  3. dist/hvagent.cjs, the executable that loads dist/hvagent.bundle.js through V8's
//     code cache (dist/hvagent.cache). `hvagent install` copies these three files.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  target: 'node20',
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

// The libraries only actions need (not validation, not refusals) go into a second file,
// loaded on first use: every request pays for compiling what the main bundle holds.
const VENDOR = ['yaml', 'execa', 'fast-xml-parser', 'hono', 'hono/body-limit', 'hono/method-not-allowed', 'hono/streaming', '@hono/node-server'];
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, legalComments: 'none', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(root, 'build/bundle.cjs'),
  loader: { '.rb': 'text' },
  define: { HVAGENT_VERSION: JSON.stringify(version) },
  plugins: [
    {
      name: 'vendor',
      // Each import of a vendor package becomes a small CommonJS shim that requires it from
      // the vendor file when first evaluated: static imports in lazily loaded modules and
      // dynamic import() alike stay lazy (a bare external import() would not run in vm.Script).
      setup(plugin) {
        plugin.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})$`) }, ({ path }) => ({ path, namespace: 'vendor-shim' }));
        plugin.onLoad({ filter: /.*/, namespace: 'vendor-shim' }, ({ path }) => ({
          contents: `module.exports = require(${JSON.stringify(`hvagent-vendor:${path}`)});`,
          loader: 'js',
        }));
        plugin.onResolve({ filter: /^hvagent-vendor:/ }, ({ path }) => ({ path, external: true }));
      },
    },
  ],
});
await build({
  ...common,
  stdin: {
    contents: `module.exports = { ${VENDOR.map((name) => `get ${JSON.stringify(name)}() { return require(${JSON.stringify(name)}); }`).join(', ')} };`,
    resolveDir: root,
    loader: 'js',
  },
  outfile: join(root, 'build/vendor.cjs'),
});

// 3. the executable: scripts/loader.cjs, which compiles the bundle through V8's code
//    cache, and the cache for this Node, both tagged with the bundle's build id.
const body = readFileSync(join(root, 'build/bundle.cjs'), 'utf8');
const buildId = createHash('sha256').update(body).digest('hex');
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist/hvagent.bundle.js'), `// hvagent-build ${buildId}\n${body}`);
const vendorBody = readFileSync(join(root, 'build/vendor.cjs'), 'utf8');
writeFileSync(join(root, 'dist/hvagent.vendor.cjs'), `// hvagent-build ${createHash('sha256').update(vendorBody).digest('hex')}\n${vendorBody}`);
copyFileSync(join(root, 'scripts/loader.cjs'), join(root, 'dist/hvagent.cjs'));
chmodSync(join(root, 'dist/hvagent.cjs'), 0o755);
execFileSync(process.execPath, [join(root, 'dist/hvagent.cjs')], { env: { ...process.env, HVAGENT_WRITE_CODE_CACHE: '1' } });

if (generate) runTool(join(root, 'build/generate.mjs'), root);
