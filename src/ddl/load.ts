import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { withAsyncInputs } from './async.js';
import { lintAgentDdl } from './lint.js';
import { routeConflicts } from './routes.js';
import type { AgentDdl } from './types.js';

/** Reads every `ddl/*.yaml`, sorted by agent name; throws with all problems found. */
export function loadDdlDirectory(directory: string): AgentDdl[] {
  const files = readdirSync(directory).filter((file) => /\.ya?ml$/.test(file)).sort();
  const problems: string[] = [];
  const ddls: AgentDdl[] = [];
  for (const file of files) {
    // merge: YAML merge keys (<<) let one DDL reuse an input or output block.
    const ddl = parse(readFileSync(join(directory, file), 'utf8'), { merge: true }) as AgentDdl;
    const expectedName = file.replace(/\.ya?ml$/, '');
    if (ddl?.metadata?.name !== expectedName) problems.push(`${file}: metadata.name must be "${expectedName}"`);
    problems.push(...lintAgentDdl(ddl, file));
    ddls.push(ddl);
  }
  problems.push(...routeConflicts(ddls));
  if (problems.length > 0) throw new Error(`Invalid DDL:\n  ${problems.join('\n  ')}`);
  return ddls.map(withAsyncInputs);
}
