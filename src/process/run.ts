import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { HvError } from '../core/errors.js';
import { currentScope } from '../core/scope.js';
import { toolEnvironment } from './environment.js';
import { leavingTerminalSignals } from './terminal.js';
import { toolFailure, type ProcessFacts, type ToolError } from './failure.js';

// The one way hvagent runs another program: an argument array (never a shell), a fixed
// environment, the request's cancellation and the caller's timeout, bounded output, and
// the child registered with the request scope so that the deadline kills it. Every
// failure is a ToolError built in failure.ts (or by the caller's `failure`, for tools
// that know more about their errors, like virsh). Node's own child_process: a library
// here (execa was) costs every request that runs a tool its loading, the largest part of
// a quick request such as `vm list` (docs/PERFORMANCE.md, P4).

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
  /** A long-lived child read only through onStdout/onStderr: its output is not kept (memory stays flat). */
  readonly stream?: boolean | undefined;
  /** A non-zero exit is a result rather than a failure (the caller reads the output either way). */
  readonly allowNonZeroExit?: boolean | undefined;
  /** stderr lines that are progress, not errors: left out of a failure's message. */
  readonly stderrNoise?: RegExp | undefined;
  /** Builds the error for a failure instead of the plain ToolError (virsh). */
  readonly failure?: ((facts: ProcessFacts) => ToolError) | undefined;
  /**
   * Hands the child this process's own stdin, stdout and stderr (a person's terminal) and
   * captures nothing: an interactive session. While it runs, the terminal's SIGINT and
   * SIGQUIT are the child's alone, as system(3) does; cancellation still ends it.
   */
  readonly terminal?: boolean | undefined;
}

export interface ProcessResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
/**
 * What a child of a changing request runs under setpriv: it goes on only while its parent is
 * still the agent. setpriv ties a child to its parent (PR_SET_PDEATHSIG) only once it runs,
 * a moment after the fork; an agent killed in between leaves a child that nothing ends (a
 * shell that started setpriv and was killed at once: 19 of 20 children went on), a define
 * or a copy that would go on after the next request had undone the killed one's work. Once
 * tied, the child asks for its parent: gone, it ends at once. The script is a constant; the
 * agent's pid, the program and its arguments are sh's positional parameters, never read as
 * shell text.
 */
const WHILE_PARENT_LIVES = '[ "$PPID" = "$1" ] || exit 125; shift; exec "$@"';
const dyingArgs = (file: string, args: readonly string[]) => ['--pdeathsig', 'KILL', '--', 'sh', '-c', WHILE_PARENT_LIVES, 'sh', String(process.pid), file, ...args];
/** sh's word for a program it cannot find (dash: "sh: 1: exec: NAME: not found"). */
const missingUnderSh = (file: string, said: string) => said.includes(`exec: ${file}: not found`);
/** Between SIGTERM (timeout, cancellation) and SIGKILL. */
const KILL_GRACE_MS = 2_000;

export async function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const argv = [file, ...args];
  const facts = options.terminal ? await leavingTerminalSignals(run(file, args, options)) : await run(file, args, options);
  const { streamFailure } = facts;
  const ended = facts.timedOut || facts.cancelled || facts.missing || facts.outputTooLarge || facts.exitCode === undefined;
  // A typed failure of the streams (a download cut off, a size limit) explains the tool's
  // end better than the tool does: it was killed or saw its input end early because of it.
  if (streamFailure instanceof HvError) throw streamFailure;
  if (ended || (facts.exitCode !== 0 && !options.allowNonZeroExit)) {
    throw options.failure ? options.failure(facts) : toolFailure(facts, options.stderrNoise);
  }
  if (streamFailure !== undefined) throw streamFailure;
  return { argv, exitCode: facts.exitCode!, stdout: facts.stdout, stderr: facts.stderr ?? '' };
}

/** Runs it to its end, whatever the end: the facts, never a rejection. */
function run(file: string, args: readonly string[], options: RunOptions): Promise<ProcessFacts & { stdout: string; streamFailure?: unknown }> {
  const argv = [file, ...args];
  const encoding = options.encoding ?? 'utf8';
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  if (options.signal?.aborted) return Promise.resolve({ argv, cancelled: true, stdout: '', stderr: '', cause: options.signal.reason });
  // In a request that is changing things, a child must not outlive the agent (a SIGKILL
  // reaches only the agent): setpriv asks the kernel to SIGKILL it when the agent ends.
  const dies = currentScope()?.changing === true && !options.terminal;
  return new Promise((resolve) => {
    const child = spawn(dies ? 'setpriv' : file, dies ? dyingArgs(file, args) : [...args], {
      env: { ...toolEnvironment(), ...options.environment },
      // A number is handed down as that descriptor (fd 3, 4, …).
      stdio: options.terminal
        ? 'inherit'
        : [options.input === undefined && options.inputStream === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(options.descriptors ?? [])],
    });
    // At the request's deadline the scope SIGKILLs it at once: the agent replies and exits
    // right after, before a SIGTERM-then-SIGKILL grace could run out.
    currentScope()?.track(child);
    let timedOut = false;
    let cancelled = false;
    let outputTooLarge = false;
    let startError: NodeJS.ErrnoException | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = () => {
      if (killTimer) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const collect = (stream: NodeJS.ReadableStream | null, streamEncoding: 'utf8' | 'latin1', onChunk: ((text: string) => void) | undefined) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const decoder = onChunk && new StringDecoder(streamEncoding);
      stream?.on('data', (chunk: Buffer) => {
        if (decoder) onChunk!(decoder.write(chunk));
        if (options.stream) return;
        bytes += chunk.length;
        if (bytes > limit) {
          outputTooLarge = true;
          terminate();
          return;
        }
        chunks.push(chunk);
      });
      return () => Buffer.concat(chunks).toString(streamEncoding);
    };
    const stdout = options.consumeStdout ? () => '' : collect(child.stdout, encoding, options.onStdout);
    const stderr = collect(child.stderr, 'utf8', options.onStderr);
    const streamed = streamThrough(child, options, terminate);
    const timer = options.timeoutMs !== undefined && options.timeoutMs > 0 ? setTimeout(() => ((timedOut = true), terminate()), options.timeoutMs) : undefined;
    const cancel = () => ((cancelled = true), terminate());
    options.signal?.addEventListener('abort', cancel, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => (startError ??= error));
    if (child.stdin && !options.inputStream) {
      // A tool that exits without reading all of its input is not an error of ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
    child.on('close', async (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', cancel);
      const streamFailure = await streamed;
      const said = stderr();
      // sh says so, with 127, when the program itself is not installed.
      const missing = startError?.code === 'ENOENT' || (dies && code === 127 && missingUnderSh(file, said));
      resolve({
        ...(streamFailure !== undefined && { streamFailure }),
        argv,
        exitCode: startError || missing ? undefined : (code ?? undefined),
        signal: signal ?? undefined,
        stdout: stdout(),
        stderr: missing ? '' : said,
        timedOut,
        timeoutMs: options.timeoutMs,
        cancelled,
        missing,
        outputTooLarge,
        cause: startError,
      });
    });
  });
}

/**
 * Feeds `inputStream` to the program and hands its stdout to `consumeStdout`; resolves with
 * the first failure of either (the program is killed then), or undefined.
 */
async function streamThrough(child: ChildProcess, options: RunOptions, terminate: () => void): Promise<unknown> {
  const { inputStream, consumeStdout } = options;
  if (!inputStream && !consumeStdout) return undefined;
  let failure: unknown;
  const fail = (error: unknown) => {
    // A typed failure wins over what it causes downstream (EPIPE, a premature end).
    if (failure === undefined || (!(failure instanceof HvError) && error instanceof HvError)) failure = error;
    terminate();
  };
  await Promise.all([
    inputStream && child.stdin ? pipeline(inputStream, child.stdin).catch(fail) : undefined,
    consumeStdout && child.stdout ? consumeStdout(child.stdout).catch(fail) : undefined,
  ]);
  return failure;
}
