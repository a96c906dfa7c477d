import { randomBytes } from 'node:crypto';
import { currentScope } from '../core/scope.js';
import { execa } from 'execa';
import { splitBatchOutput } from './batch-sections.js';
import { classifyStderr, VirshError, type VirshErrorCode } from './virsh-error.js';
import { assertCommandName, assertPassableArgument, formatVirshCommand, VirshArgumentError } from './virsh-quote.js';

export interface VirshOptions {
  /** libvirt connection URI, always passed explicitly: never LIBVIRT_DEFAULT_URI. */
  readonly uri: string;
  readonly signal?: AbortSignal;
  /** Kill virsh after this long; default 60 s (libvirt keepalive alone can take minutes). */
  readonly timeoutMs?: number;
}

/** One command of a batch, e.g. ['dominfo', '--', name]. */
export type VirshCommand = readonly string[];

export interface VirshCommandResult {
  readonly command: VirshCommand;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when this command failed; later commands of the batch still ran. */
  readonly error?: VirshError;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const KILL_GRACE_MS = 2_000;
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs one virsh command; resolves to its stdout, rejects with VirshError. */
export async function runVirsh(command: VirshCommand, opts: VirshOptions): Promise<string> {
  // With exactly one trailing argument virsh parses it as a command STRING (';' etc.
  // become syntax), so a lone word is quoted for that parser; argv form needs no quoting.
  const tail = refuseUnpassable({ command }, opts, () => {
    assertCommandName(command);
    return command.length === 1 ? [formatVirshCommand(command)] : [...command];
  });
  const result = await execVirsh(tail, { command }, opts);
  if (result.exitCode !== 0) {
    throw new VirshError({
      code: classifyStderr(result.stderr),
      argv: result.argv,
      command,
      uri: opts.uri,
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
  return result.stdout;
}

/**
 * Runs several commands in ONE virsh process and connection, each with its own output.
 * A failing command does not stop the batch: its result carries `error`. The promise
 * rejects only when the batch as a whole failed (connection, syntax, timeout, cancel).
 */
export async function runVirshBatch(
  commands: readonly VirshCommand[],
  opts: VirshOptions,
): Promise<VirshCommandResult[]> {
  if (commands.length === 0) return [];
  const nonce = randomBytes(8).toString('hex');
  const markers = [...commands.map((_, i) => `hvagent-section-${nonce}-${i}`), `hvagent-end-${nonce}`];
  const described: Described = commands.length === 1 ? { command: commands[0]! } : { summary: batchSummary(commands) };
  const script = refuseUnpassable(described, opts, () =>
    [
      ...commands.flatMap((command, i) => [...markerCommands(markers[i]!), formatVirshCommand(command)]),
      ...markerCommands(markers[commands.length]!),
    ].join('; '),
  );
  const result = await execVirsh([script], described, opts);
  const split = splitBatchOutput(result.stdout, result.stderr, markers);
  if (!split.complete) {
    const stderr = result.stderr
      .split('\n')
      .filter((line) => !line.includes(nonce))
      .join('\n');
    const stoppedEarly = split.sections.length > 0;
    throw new VirshError({
      ...described,
      code: classifyStderr(stderr),
      argv: result.argv,
      uri: opts.uri,
      exitCode: result.exitCode,
      stderr,
      reason: stoppedEarly
        ? `virsh stopped after ${split.sections.length} of ${commands.length} commands: ${stderr.trim()}`
        : undefined,
    });
  }
  return split.sections.map((section, i) => {
    const command = commands[i]!;
    if (!/^error:/m.test(section.stderr)) return { command, ...section };
    const error = new VirshError({
      code: classifyStderr(section.stderr),
      argv: result.argv,
      command,
      uri: opts.uri,
      stderr: section.stderr,
    });
    return { command, ...section, error };
  });
}

/** The stdout of a batch result, or its error thrown. */
export function stdoutOrThrow(result: VirshCommandResult): string {
  if (result.error) throw result.error;
  return result.stdout;
}

/** What a failure message names: one command, or a summary of a whole batch. */
type Described = { readonly command: VirshCommand } | { readonly summary: string };

function batchSummary(commands: readonly VirshCommand[]): string {
  return `batch (${commands.map((command) => command.join(' ')).join('; ')})`;
}

function markerCommands(marker: string): string[] {
  return [`echo -- ${marker}`, `echo --err -- ${marker}`];
}

interface RawResult {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `build`, turning argument problems into a VirshError before anything is spawned. */
function refuseUnpassable<T>(described: Described, opts: VirshOptions, build: () => T): T {
  try {
    if (!opts.uri) throw new VirshArgumentError('no connection URI given');
    assertPassableArgument(opts.uri);
    return build();
  } catch (error) {
    if (!(error instanceof VirshArgumentError)) throw error;
    throw new VirshError({
      ...described,
      code: 'INVALID_ARGUMENT',
      argv: ['virsh', '-c', opts.uri, ...('command' in described ? described.command : [])],
      uri: opts.uri,
      reason: error.message,
    });
  }
}

async function execVirsh(tail: readonly string[], described: Described, opts: VirshOptions): Promise<RawResult> {
  const args = ['-c', opts.uri, ...tail];
  const argv = ['virsh', ...args];
  refuseUnpassable(described, opts, () => args.forEach(assertPassableArgument));

  const subprocess = execa('virsh', args, {
    // The agent may run with an empty environment; virsh output must not depend on
    // the caller's locale, HOME or LIBVIRT_DEFAULT_URI.
    env: { LC_ALL: 'C', PATH: process.env.PATH || FALLBACK_PATH },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    stripFinalNewline: false,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    cancelSignal: opts.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
  });
  // At the request's deadline the scope SIGKILLs it at once: the agent exits right after
  // replying, before a SIGTERM-then-SIGKILL grace could run out.
  currentScope()?.track(subprocess);
  const result = await subprocess;

  const failure = abnormalEnd(result);
  if (failure) {
    throw new VirshError({
      ...described,
      code: failure.code,
      argv,
      uri: opts.uri,
      exitCode: result.exitCode,
      stderr: String(result.stderr ?? ''),
      timedOut: result.timedOut,
      cancelled: result.isCanceled,
      reason: failure.reason,
      cause: result.cause,
    });
  }
  return { argv, exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

interface ExecaOutcome {
  readonly timedOut: boolean;
  readonly isCanceled: boolean;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly cause?: unknown;
}

function abnormalEnd(result: ExecaOutcome): { code: VirshErrorCode; reason: string } | undefined {
  if (result.timedOut) return { code: 'HYPERVISOR_TIMEOUT', reason: 'timed out; virsh was killed' };
  if (result.isCanceled) return { code: 'CANCELLED', reason: 'cancelled by the caller; virsh was killed' };
  if ((result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return { code: 'VIRSH_MISSING', reason: 'virsh not found on PATH (is libvirt-clients installed?)' };
  }
  if (result.exitCode === undefined) {
    const why = result.signal ? `killed by ${result.signal}` : String(result.cause ?? 'did not start');
    return { code: 'HYPERVISOR_ERROR', reason: `virsh ${why}` };
  }
  return undefined;
}
