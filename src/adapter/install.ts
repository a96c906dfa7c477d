import { chmodSync, copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { HvError } from '../core/errors.js';
import { runProcess } from '../process/run.js';
import { choriaJsonDdl } from '../ddl/generate/choria-json.js';
import { mcollectiveDdl } from '../ddl/generate/mcollective-ddl.js';
import { mcollectiveStub } from '../ddl/generate/mcollective-stub.js';
import { MCOLLECTIVE_PLUGINS } from './mcollective-plugins.js';
import { allAgentDdls } from '../ddl/registry.js';

// Both layouts share one tree (docs/reference/protocols.md checklist 21), so one libdir can serve
// MCollective and Choria at once:
//   DIR/mcollective/agent/hvagent/hvagent   the executable (scripts/loader.cjs, started by the
//                 Node that installed it), with the pieces it loads (hvagent.bundle.js,
//                 hvagent.ddl.*.cjs, hvagent.actions.cjs, hvagent.vendor.cjs) and each
//                 piece's V8 code cache (*.cache)
//   DIR/mcollective/agent/<agent>.json      Choria DDL; DIR/mcollective/agent/<agent> is the
//                                           executable Choria runs (a hard link: Choria wants a file)
//   DIR/mcollective/agent/<agent>.{rb,ddl}  MCollective stub and DDL
//   DIR/mcollective/util/hvagent_runner.rb  what the stubs call instead of implemented_by
//   DIR/mcollective/{aggregate,data,application}/...  hvagent_sum/average, the hvagent data
//                                           plugin, `mco hvagent` (mcollective-plugins.ts)

/** The pieces the executable loads (scripts/build.mjs, scripts/loader.cjs). */
const PIECE = /^hvagent\.(bundle\.js|[a-z0-9_.-]+\.cjs)$/;

export type InstallTarget = 'choria' | 'mcollective';

export async function install(target: InstallTarget, directory: string, files = runningFiles()): Promise<string[]> {
  if (!isAbsolute(directory)) directory = resolve(directory);
  const agentDir = join(directory, 'mcollective', 'agent');
  const written: string[] = [];
  const put = (path: string, content: string, mode = 0o644) => {
    writeAtomically(path, content, mode);
    written.push(path);
  };
  const shared = join(agentDir, 'hvagent', 'hvagent');
  const pieceDir = join(agentDir, 'hvagent');
  // A piece of an earlier build that this one no longer has would never be loaded, but must not linger.
  for (const stale of listed(pieceDir).filter((name) => PIECE.test(name) || name.endsWith('.cache'))) rmSync(join(pieceDir, stale), { force: true });
  for (const name of listed(files.directory).filter((name) => PIECE.test(name) && name !== 'hvagent.cjs')) {
    copyAtomically(join(files.directory, name), join(pieceDir, name), 0o644);
    written.push(join(pieceDir, name));
  }
  writeAtomically(shared, startedByThisNode(readFileSync(files.executable, 'utf8')), 0o755);
  written.push(shared, ...(await writeCodeCaches(shared)));

  for (const ddl of allAgentDdls()) {
    const name = ddl.metadata.name;
    const source = `ddl/${name}.yaml`;
    if (target === 'choria') {
      put(join(agentDir, `${name}.json`), choriaJsonDdl(ddl));
      const agentExecutable = join(agentDir, name);
      rmSync(agentExecutable, { force: true });
      try {
        linkSync(shared, agentExecutable);
      } catch {
        copyAtomically(shared, agentExecutable, 0o755);
      }
      written.push(agentExecutable);
    } else {
      put(join(agentDir, `${name}.ddl`), mcollectiveDdl(ddl, source));
      put(join(agentDir, `${name}.rb`), mcollectiveStub(ddl, source));
    }
  }
  if (target === 'mcollective') {
    for (const [path, content] of Object.entries(MCOLLECTIVE_PLUGINS)) put(join(directory, 'mcollective', ...path.split('/')), content);
  }
  return written;
}

/** The files of the running agent, as scripts/loader.cjs found them. */
function runningFiles(): { executable: string; directory: string } {
  const files = (globalThis as Record<symbol, unknown>)[Symbol.for('hvagent.files')] as
    | { executable: string; directory: string }
    | undefined;
  if (!files) {
    throw new HvError('UNSUPPORTED', 'install runs from the built executable (npm run build, then agent/hvagent install)');
  }
  return files;
}

/** The code caches are made for the Node that will run the agent: this one. */
async function writeCodeCaches(executable: string): Promise<string[]> {
  await runProcess(process.execPath, [executable], { environment: { HVAGENT_WRITE_CODE_CACHE: '1' }, timeoutMs: 120_000 });
  return listed(dirname(executable))
    .filter((name) => name.endsWith('.cache'))
    .map((name) => join(dirname(executable), name));
}

function listed(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

/** The built executable's interpreter line: env(1) finds node on PATH, with at most one option for it. */
const ENV_INTERPRETER = /^#!\/usr\/bin\/env -S node( [^\s]+)?\n/;

/**
 * The installed executable names the Node that installs it, whose code caches it is given
 * (writeCodeCaches), so that the kernel starts that Node at once: through
 * `#!/usr/bin/env -S node` every request first started env(1), ~1.5 ms of a ~55 ms start
 * (P1, docs/PERFORMANCE.md). A path the kernel cannot take as an interpreter (white space,
 * a line too long) keeps env.
 */
function startedByThisNode(source: string): string {
  const interpreter = ENV_INTERPRETER.exec(source);
  const line = `#!${process.execPath}${interpreter?.[1] ?? ''}`;
  if (!interpreter || /\s/.test(process.execPath) || line.length > 200) return source;
  return `${line}\n${source.slice(interpreter[0].length)}`;
}

function writeAtomically(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

function copyAtomically(from: string, to: string, mode: number): void {
  mkdirSync(dirname(to), { recursive: true });
  const temporary = `${to}.tmp-${process.pid}`;
  copyFileSync(from, temporary);
  chmodSync(temporary, mode);
  renameSync(temporary, to);
}
