import { execa } from 'execa';
import { HvError } from '../core/errors.js';
import { currentScope } from '../core/scope.js';
import type { StorageOpContext } from './types.js';

// The storage tools (qemu-img, lvcreate…) run with argument arrays, C locale and the
// request's cancellation; the request scope SIGKILLs them at the deadline.

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class CommandError extends HvError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    reason: string,
  ) {
    super('COMMAND_FAILED', `${argv.join(' ')} failed: ${reason}`, { command: argv[0], exit_code: exitCode ?? null });
  }
}

export interface RunOptions {
  /** Called with each chunk of stdout as it arrives (qemu-img -p progress). */
  onStdout?: (chunk: string) => void;
}

export async function runCommand(file: string, args: readonly string[], ctx: StorageOpContext, options: RunOptions = {}): Promise<string> {
  const subprocess = execa(file, args, {
    env: { LC_ALL: 'C', PATH: process.env.PATH || FALLBACK_PATH },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    ...(ctx.signal && { cancelSignal: ctx.signal }),
    forceKillAfterDelay: 2_000,
  });
  currentScope()?.track(subprocess);
  if (options.onStdout) subprocess.stdout?.on('data', (chunk: Buffer) => options.onStdout!(chunk.toString()));
  const result = await subprocess;
  const argv = [file, ...args];
  if (result.isCanceled) throw new HvError('CANCELLED', `${file} was cancelled`, { command: file });
  if ((result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new CommandError(argv, undefined, '', `${file} is not installed (not found on PATH)`);
  }
  if (result.exitCode !== 0) {
    const stderr = String(result.stderr ?? '').trim();
    throw new CommandError(argv, result.exitCode, stderr, stderr || `exit status ${String(result.exitCode ?? result.signal)}`);
  }
  return String(result.stdout);
}
