import { execa, type Options, type Result } from 'execa';
import { currentScope } from '../core/scope.js';
import { CommandError } from './command-error.js';

export interface RunOptions {
  /** Stops the command; defaults to the current request's signal. */
  signal?: AbortSignal;
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

// Commands run with LC_ALL=C so that their output parses the same on every host,
// and with an explicit PATH fallback because Choria clears the environment.
const BASE_ENV = { LC_ALL: 'C', LANG: 'C' };

/** Runs one external command from an argument array: never a shell string. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const scope = currentScope();
  const signal = options.signal ?? scope?.signal;
  const execaOptions: Options = {
    reject: false,
    stripFinalNewline: true,
    env: { ...BASE_ENV, ...options.env },
    extendEnv: true,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    ...(options.input !== undefined && { input: options.input }),
    ...(options.cwd && { cwd: options.cwd }),
    ...(signal && { cancelSignal: signal }),
    ...(options.timeoutMs && { timeout: options.timeoutMs }),
    forceKillAfterDelay: 2000,
    encoding: 'utf8',
  };
  const subprocess = execa(file, args, execaOptions);
  if (scope) scope.track(subprocess);
  const result = (await subprocess) as Result;
  if (result.failed) throw CommandError.from(file, args, result);
  return {
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode ?? 0,
    durationMs: result.durationMs,
  };
}
