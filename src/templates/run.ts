import { execa, type ResultPromise } from 'execa';
import { currentScope } from '../core/scope.js';
import { HvError } from '../core/errors.js';

// Tools the template layer runs (tar, qemu-img, virsh for PXE networks): argument arrays,
// a fixed locale, and registered with the request scope so the deadline kills them.

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ToolOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called with each chunk of stderr as it arrives (tar's checkpoints). */
  onStderr?: (chunk: string) => void;
  /** How stdout is decoded (latin1 keeps every byte of a file name as one character). */
  encoding?: 'utf8' | 'latin1';
}

export async function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<string> {
  const subprocess: ResultPromise = execa(command, args, {
    env: { LC_ALL: 'C', PATH: process.env.PATH || FALLBACK_PATH },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout: options.timeoutMs ?? 10 * 60_000,
    ...(options.signal && { cancelSignal: options.signal }),
    forceKillAfterDelay: 2_000,
    maxBuffer: 256 * 1024 * 1024,
    encoding: options.encoding ?? 'utf8',
  });
  currentScope()?.track(subprocess);
  if (options.onStderr) subprocess.stderr?.on('data', (chunk: Buffer) => options.onStderr!(chunk.toString('utf8')));
  const result = await subprocess;
  const shown = `${command} ${args.join(' ')}`;
  if (result.isCanceled) throw new HvError('CANCELLED', `${shown}: cancelled; the process was killed`);
  if (result.timedOut) throw new HvError('COMMAND_FAILED', `${shown}: timed out; the process was killed`);
  if ((result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new HvError('COMMAND_FAILED', `${command} is not installed (not found on PATH)`);
  }
  if (result.exitCode !== 0) {
    const stderr = String(result.stderr ?? '').trim().split('\n').filter((line) => !line.includes('hvagent-checkpoint')).slice(-5).join(' | ');
    throw new HvError('COMMAND_FAILED', `${shown} failed (exit ${String(result.exitCode)}): ${stderr}`, { command, exit_code: result.exitCode });
  }
  return String(result.stdout);
}
