import { randomBytes } from 'node:crypto';
import { runProcess } from '../process/run.js';
import { splitBatchOutput } from './batch-sections.js';
import { abnormalVirshEnd, classifyStderr, VirshError } from './virsh-error.js';
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
  const results: VirshCommandResult[] = [];
  for (const chunk of passableChunks(commands)) results.push(...(await runOneBatch(chunk, opts)));
  return results;
}

/**
 * The script of a batch is one argument, and Linux takes at most 128 KiB in one (a batch
 * over a thousand domains is longer): commands go in as few processes as keep each script
 * under this.
 */
const MAX_SCRIPT_CHARS = 96 * 1024;
const MARKER_CHARS = 2 * 48;

function passableChunks(commands: readonly VirshCommand[]): VirshCommand[][] {
  const chunks: VirshCommand[][] = [];
  let current: VirshCommand[] = [];
  let size = MARKER_CHARS;
  for (const command of commands) {
    const length = formattedLength(command) + MARKER_CHARS;
    if (current.length > 0 && size + length > MAX_SCRIPT_CHARS) {
      chunks.push(current);
      current = [];
      size = MARKER_CHARS;
    }
    current.push(command);
    size += length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A command's length in the script; one that cannot be formatted is refused by runOneBatch. */
function formattedLength(command: VirshCommand): number {
  try {
    return formatVirshCommand(command).length + 2;
  } catch {
    return 0;
  }
}

async function runOneBatch(commands: readonly VirshCommand[], opts: VirshOptions): Promise<VirshCommandResult[]> {
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

/** One command on a connection, its stdout returned: the short form most callers need. */
export async function virsh(uri: string, command: VirshCommand, signal?: AbortSignal): Promise<string> {
  return runVirsh(command, { uri, ...(signal && { signal }) });
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

export interface RawResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
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
  refuseUnpassable(described, opts, () => args.forEach(assertPassableArgument));
  const result = await runProcess('virsh', args, {
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // virsh's exit status is read with its output: a batch goes on after a failed command.
    allowNonZeroExit: true,
    failure: (facts) => abnormalVirshEnd(facts, described, opts.uri),
  });
  return { argv: result.argv, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/**
 * A long virsh command (a migration) whose stderr is read while it runs (`--verbose`
 * progress), with no timeout of its own: the caller ends it the libvirt way (e.g.
 * domjobabort), which leaves the domain in a known state, rather than killing virsh. The
 * request scope still SIGKILLs it at the request's deadline as a last resort.
 */
export async function runVirshWatched(command: VirshCommand, uri: string, onStderr: (chunk: string) => void): Promise<RawResult> {
  const described = { command };
  const args = refuseUnpassable(described, { uri }, () => {
    assertCommandName(command);
    const all = ['-c', uri, ...command];
    all.forEach(assertPassableArgument);
    return all;
  });
  const result = await runProcess('virsh', args, { onStderr, allowNonZeroExit: true, failure: (facts) => abnormalVirshEnd(facts, described, uri) });
  return { argv: result.argv, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** The failure of a watched command as the usual VirshError. */
export function watchedFailure(result: RawResult, command: VirshCommand, uri: string, stderr = result.stderr): VirshError {
  return new VirshError({ code: classifyStderr(stderr), argv: result.argv, command, uri, exitCode: result.exitCode, stderr });
}

/**
 * `virsh console` on this process's own terminal (an interactive session, no timeout):
 * returns when the person detaches (Ctrl-]) or the console closes. virsh has told them
 * any error itself; the VirshError says how it ended.
 */
export async function attachConsole(uri: string, name: string, signal?: AbortSignal): Promise<void> {
  const command = ['console', `--domain=${name}`];
  const described = { command };
  const args = refuseUnpassable(described, { uri }, () => {
    const all = ['-c', uri, ...command];
    all.forEach(assertPassableArgument);
    return all;
  });
  await runProcess('virsh', args, { terminal: true, signal, failure: (facts) => abnormalVirshEnd(facts, described, uri) });
}
