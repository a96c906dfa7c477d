import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { HvError } from '../core/errors.js';
import { currentScope } from '../core/scope.js';
import { toolEnvironment } from './environment.js';
import { toolFailure, type ProcessFacts, type ToolError } from './failure.js';

// The one way hvagent runs another program: an argument array (never a shell), a fixed
// environment, the request's cancellation and the caller's timeout, bounded output, and
// the child registered with the request scope so that the deadline kills it. Every
// failure is a ToolError built in failure.ts (or by the caller's `failure`, for tools
// that know more about their errors, like virsh).

export interface RunOptions {
  /** Cancels the request's work: the process is killed and CANCELLED is reported. */
  readonly signal?: AbortSignal | undefined;
  /** Kill it after this long (ms); none when left out. */
  readonly timeoutMs?: number | undefined;
  /** Text written to its stdin; stdin is closed (ignored) when left out. */
  readonly input?: string | undefined;
  /** Bytes streamed into its stdin (a download being decompressed), instead of `input`. */
  readonly inputStream?: Readable | undefined;
  /**
   * Reads stdout as a stream instead of keeping it (the result's stdout is then empty): the
   * run ends when this settles too. Backpressure flows back to the program.
   */
  readonly consumeStdout?: ((stdout: Readable) => Promise<void>) | undefined;
  /** Variables added to the fixed environment (never the caller's own). */
  readonly environment?: Readonly<Record<string, string>> | undefined;
  /** Open descriptors handed down as fd 3, 4, … (a lock's descriptor to flock). */
  readonly descriptors?: readonly number[] | undefined;
  /** How stdout is decoded (latin1 keeps every byte of a file name as one character). */
  readonly encoding?: 'utf8' | 'latin1' | undefined;
  /** Largest stdout or stderr kept (bytes); more kills it. Default 64 MiB. */
  readonly maxOutputBytes?: number | undefined;
  /** Each chunk of stdout or stderr as it arrives (progress lines). */
  readonly onStdout?: ((chunk: string) => void) | undefined;
  readonly onStderr?: ((chunk: string) => void) | undefined;
  /** A non-zero exit is a result rather than a failure (the caller reads the output either way). */
  readonly allowNonZeroExit?: boolean | undefined;
  /** stderr lines that are progress, not errors: left out of a failure's message. */
  readonly stderrNoise?: RegExp | undefined;
  /** Builds the error for a failure instead of the plain ToolError (virsh). */
  readonly failure?: ((facts: ProcessFacts) => ToolError) | undefined;
}

export interface ProcessResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const SETPRIV_MISSING = /^setpriv: failed to execute .*: No such file or directory$/m;
/** Between SIGTERM (timeout, cancellation) and SIGKILL. */
const KILL_GRACE_MS = 2_000;

export async function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const argv = [file, ...args];
  // execa hands a number in the stdio array down as that descriptor (fd 3, 4, …); its
  // types only admit numbers for the first three.
  const stdin = options.input === undefined && options.inputStream === undefined ? 'ignore' : 'pipe';
  const stdio = [stdin, 'pipe', 'pipe', ...(options.descriptors ?? [])] as unknown as ['pipe', 'pipe', 'pipe'];
  // In a request that is changing things, a child must not outlive the agent (a SIGKILL
  // reaches only the agent): setpriv asks the kernel to SIGKILL it when the agent ends.
  const dies = currentScope()?.changing === true;
  const subprocess = execa(dies ? 'setpriv' : file, dies ? ['--pdeathsig', 'KILL', '--', file, ...args] : args, {
    env: { ...toolEnvironment(), ...options.environment },
    extendEnv: false,
    stdio,
    ...(options.input !== undefined && { input: options.input }),
    reject: false,
    stripFinalNewline: false,
    encoding: options.encoding ?? 'utf8',
    maxBuffer: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
    ...(options.consumeStdout && { buffer: { stdout: false, stderr: true } }),
    ...(options.timeoutMs !== undefined && options.timeoutMs > 0 && { timeout: options.timeoutMs }),
    ...(options.signal && { cancelSignal: options.signal }),
    forceKillAfterDelay: KILL_GRACE_MS,
  });
  // At the request's deadline the scope SIGKILLs it at once: the agent replies and exits
  // right after, before a SIGTERM-then-SIGKILL grace could run out.
  currentScope()?.track(subprocess);
  if (options.onStdout) subprocess.stdout?.on('data', (chunk: Buffer) => options.onStdout!(chunk.toString(options.encoding ?? 'utf8')));
  if (options.onStderr) subprocess.stderr?.on('data', (chunk: Buffer) => options.onStderr!(chunk.toString('utf8')));
  const streamed = streamThrough(subprocess, options);
  const result = await subprocess;
  const streamFailure = await streamed;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const facts: ProcessFacts = {
    argv,
    exitCode: result.exitCode,
    signal: result.signal,
    stderr,
    timedOut: result.timedOut,
    timeoutMs: options.timeoutMs,
    cancelled: result.isCanceled,
    missing: (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || (dies && result.exitCode === 127 && SETPRIV_MISSING.test(stderr)),
    outputTooLarge: result.isMaxBuffer,
    cause: result.cause,
  };
  const ended = facts.timedOut || facts.cancelled || facts.missing || facts.outputTooLarge || result.exitCode === undefined;
  // A typed failure of the streams (a download cut off, a size limit) explains the tool's
  // end better than the tool does: it was killed or saw its input end early because of it.
  if (streamFailure instanceof HvError) throw streamFailure;
  if (ended || (result.exitCode !== 0 && !options.allowNonZeroExit)) {
    throw options.failure ? options.failure(facts) : toolFailure(facts, options.stderrNoise);
  }
  if (streamFailure !== undefined) throw streamFailure;
  return { argv, exitCode: result.exitCode!, stdout, stderr };
}

/**
 * Feeds `inputStream` to the program and hands its stdout to `consumeStdout`; resolves with
 * the first failure of either (the program is killed then), or undefined.
 */
async function streamThrough(subprocess: ReturnType<typeof execa>, options: RunOptions): Promise<unknown> {
  let failure: unknown;
  const fail = (error: unknown) => {
    // A typed failure wins over what it causes downstream (EPIPE, a premature end).
    if (failure === undefined || (!(failure instanceof HvError) && error instanceof HvError)) failure = error;
    subprocess.kill();
  };
  const { inputStream, consumeStdout } = options;
  await Promise.all([
    inputStream && subprocess.stdin ? pipeline(inputStream, subprocess.stdin).catch(fail) : undefined,
    consumeStdout && subprocess.stdout ? consumeStdout(subprocess.stdout).catch(fail) : undefined,
  ]);
  return failure;
}
