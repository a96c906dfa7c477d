#!/usr/bin/env node
// Builds the agent in two stages:
//  1. build tools (DDL compiler, artefact generator) bundled and run: ddl/*.yaml →
//     build/generated.cjs (DDLs + ajv standalone validators);
//  2. the agent itself → dist/hvagent.cjs, ONE minified CommonJS file with everything
//     it needs, because it is started once per request on every host (start-up matters,
//     and `hvagent install` copies just this file).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const generate = process.argv.includes('--generate');

await build({
  entryPoints: { compile: join(root, 'src/ddl/compile.ts'), generate: join(root, 'src/ddl/generate-cli.ts') },
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

await build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(root, 'dist/hvagent.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  loader: { '.rb': 'text' },
  define: { HVAGENT_VERSION: JSON.stringify(version) },
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
chmodSync(join(root, 'dist/hvagent.cjs'), 0o755);

if (generate) runTool(join(root, 'build/generate.mjs'), root);
