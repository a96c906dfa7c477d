import { execa } from 'execa';
import { currentScope } from '../core/scope.js';
import { classifyStderr, VirshError } from './virsh-error.js';
import { assertCommandName, assertPassableArgument, VirshArgumentError } from './virsh-quote.js';

// A long virsh command (a migration) whose stderr is read while it runs (`--verbose`
// progress), with no timeout of its own: the caller ends it the libvirt way (e.g.
// domjobabort), which leaves the domain in a known state, rather than killing virsh.
// The request scope still SIGKILLs it at the request's deadline as a last resort.

export interface WatchedResult {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function runVirshWatched(
  command: readonly string[],
  uri: string,
  onStderr: (chunk: string) => void,
): Promise<WatchedResult> {
  const argv = ['virsh', '-c', uri, ...command];
  try {
    assertCommandName(command);
    argv.slice(1).forEach(assertPassableArgument);
  } catch (error) {
    if (!(error instanceof VirshArgumentError)) throw error;
    throw new VirshError({ code: 'INVALID_ARGUMENT', argv, command, uri, reason: error.message });
  }
  const subprocess = execa('virsh', argv.slice(1), {
    env: { LC_ALL: 'C', PATH: process.env.PATH || FALLBACK_PATH },
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
  });
  currentScope()?.track(subprocess);
  let stdout = '';
  let stderr = '';
  subprocess.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  subprocess.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    onStderr(chunk);
  });
  const result = await subprocess;
  if ((result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new VirshError({ code: 'VIRSH_MISSING', argv, command, uri, reason: 'virsh not found on PATH (is libvirt-clients installed?)' });
  }
  if (result.exitCode === undefined) {
    throw new VirshError({ code: 'HYPERVISOR_ERROR', argv, command, uri, stderr, reason: `virsh killed by ${result.signal ?? 'a signal'}` });
  }
  return { argv, exitCode: result.exitCode, stdout, stderr };
}

/** The failure of a watched command as the usual VirshError. */
export function watchedFailure(result: WatchedResult, command: readonly string[], uri: string, stderr = result.stderr): VirshError {
  return new VirshError({ code: classifyStderr(stderr), argv: result.argv, command, uri, exitCode: result.exitCode, stderr });
}
