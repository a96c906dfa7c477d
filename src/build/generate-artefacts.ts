// `npm run generate`: writes every artefact generated from ddl/ (see artefacts.ts);
// with --check, lists the stale ones and fails instead.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedArtefacts } from '../ddl/artefacts.js';
import { loadDdlDirectory } from '../ddl/load.js';

const root = process.argv[2] ?? '.';
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const artefact of generatedArtefacts(loadDdlDirectory(join(root, 'ddl')))) {
  const path = join(root, artefact.path);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === artefact.content) continue;
  stale.push(artefact.path);
  if (!check) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, artefact.content);
  }
}
if (check && stale.length > 0) {
  process.stderr.write(`Stale generated files (run npm run generate):\n  ${stale.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(stale.length ? `generated: ${stale.join(', ')}\n` : 'generated files are up to date\n');
