import { chmodSync, copyFileSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import runnerSource from '../../mcollective/util/hvagent_runner.rb';
import { HvError } from '../core/errors.js';
import { choriaJsonDdl } from '../ddl/generate/choria-json.js';
import { mcollectiveDdl } from '../ddl/generate/mcollective-ddl.js';
import { mcollectiveStub } from '../ddl/generate/mcollective-stub.js';
import { AGENT_DDLS } from '../ddl/registry.js';

// Both layouts share one tree (protocols.md checklist 21), so one libdir can serve
// MCollective and Choria at once:
//   DIR/mcollective/agent/hvagent/hvagent   the self-contained executable
//   DIR/mcollective/agent/<agent>.json      Choria DDL; DIR/mcollective/agent/<agent> is the
//                                           executable Choria runs (a hard link: Choria wants a file)
//   DIR/mcollective/agent/<agent>.{rb,ddl}  MCollective stub and DDL
//   DIR/mcollective/util/hvagent_runner.rb  what the stubs call instead of implemented_by

export type InstallTarget = 'choria' | 'mcollective';

export function install(target: InstallTarget, directory: string, executable = bundlePath()): string[] {
  if (!isAbsolute(directory)) directory = resolve(directory);
  const agentDir = join(directory, 'mcollective', 'agent');
  const written: string[] = [];
  const put = (path: string, content: string, mode = 0o644) => {
    writeAtomically(path, content, mode);
    written.push(path);
  };
  const shared = join(agentDir, 'hvagent', 'hvagent');
  copyAtomically(executable, shared);
  written.push(shared);

  for (const ddl of AGENT_DDLS) {
    const name = ddl.metadata.name;
    const source = `ddl/${name}.yaml`;
    if (target === 'choria') {
      put(join(agentDir, `${name}.json`), choriaJsonDdl(ddl));
      const agentExecutable = join(agentDir, name);
      rmSync(agentExecutable, { force: true });
      try {
        linkSync(shared, agentExecutable);
      } catch {
        copyAtomically(shared, agentExecutable);
      }
      written.push(agentExecutable);
    } else {
      put(join(agentDir, `${name}.ddl`), mcollectiveDdl(ddl, source));
      put(join(agentDir, `${name}.rb`), mcollectiveStub(ddl, source));
    }
  }
  if (target === 'mcollective') put(join(directory, 'mcollective', 'util', 'hvagent_runner.rb'), runnerSource);
  return written;
}

/** The running bundle is self-contained: installing it means copying this one file. */
function bundlePath(): string {
  const path = typeof __filename === 'string' ? __filename : undefined;
  if (!path || !path.endsWith('.cjs')) {
    throw new HvError('UNSUPPORTED', 'install runs from the built executable (npm run build, then agent/hvagent install)');
  }
  return path;
}

function writeAtomically(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

function copyAtomically(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const temporary = `${to}.tmp-${process.pid}`;
  copyFileSync(from, temporary);
  chmodSync(temporary, 0o755);
  renameSync(temporary, to);
}
