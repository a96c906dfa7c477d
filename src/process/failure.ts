import { HvError, type ErrorCode } from '../core/errors.js';

// Every way a tool can fail is described here, once: what ran, how it ended (exit status,
// signal, timeout, cancellation, not installed, too much output) and the end of what it
// said on stderr. Layers that know more about a tool (virsh) build on ToolError rather
// than inventing another shape.

/** What is known about one finished (or failed-to-start) process. */
export interface ProcessFacts {
  /** The command as run, program first. */
  readonly argv: readonly string[];
  readonly exitCode?: number | undefined;
  readonly signal?: string | undefined;
  readonly stderr?: string | undefined;
  readonly timedOut?: boolean | undefined;
  readonly timeoutMs?: number | undefined;
  readonly cancelled?: boolean | undefined;
  /** The program could not be started because it is not on PATH. */
  readonly missing?: boolean | undefined;
  /** It printed more than the caller allows and was killed. */
  readonly outputTooLarge?: boolean | undefined;
  readonly cause?: unknown;
}

const STDERR_TAIL_LINES = 5;
const SHOWN_COMMAND_CHARS = 200;

export class ToolError extends HvError {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** Everything it wrote on stderr, trimmed. */
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  /** The program is not installed (not on PATH). */
  readonly notInstalled: boolean;

  constructor(code: ErrorCode, message: string, facts: ProcessFacts, details?: Record<string, unknown>) {
    super(code, message, details, { cause: facts.cause });
    this.argv = facts.argv;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.stderr = (facts.stderr ?? '').trim();
    this.timedOut = facts.timedOut ?? false;
    this.cancelled = facts.cancelled ?? false;
    this.notInstalled = facts.missing ?? false;
  }
}

/** How the process ended, for a person: `exit status 2`, `killed by SIGKILL`, `timed out after 60 s; it was killed`… */
export function describeEnd(facts: ProcessFacts): string {
  const program = facts.argv[0] ?? 'the command';
  if (facts.missing) return `${program} is not installed (not found on PATH)`;
  if (facts.cancelled) return 'cancelled; the process was killed';
  if (facts.timedOut) return `timed out${facts.timeoutMs ? ` after ${formatSeconds(facts.timeoutMs)}` : ''}; the process was killed`;
  if (facts.outputTooLarge) return 'printed more output than allowed; the process was killed';
  if (facts.exitCode === undefined) return facts.signal ? `killed by ${facts.signal}` : `did not start: ${String((facts.cause as Error | undefined)?.message ?? facts.cause ?? 'unknown reason')}`;
  return `exit status ${facts.exitCode}`;
}

/** The last lines of stderr on one line; lines matching `noise` (progress markers) are left out. */
export function stderrTail(stderr: string | undefined, noise?: RegExp): string {
  return (stderr ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !noise?.test(line))
    .slice(-STDERR_TAIL_LINES)
    .join(' | ');
}

/** The command line as a person reads it (shortened): what ran. */
export function shownCommand(argv: readonly string[]): string {
  const line = argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
  return line.length > SHOWN_COMMAND_CHARS ? `${line.slice(0, SHOWN_COMMAND_CHARS)}…` : line;
}

/** The code a plain tool failure carries: CANCELLED when the request gave up, COMMAND_FAILED otherwise. */
export function failureCode(facts: ProcessFacts): ErrorCode {
  return facts.cancelled ? 'CANCELLED' : 'COMMAND_FAILED';
}

/** The error for a failed tool, saying what ran, how it ended and what it said. */
export function toolFailure(facts: ProcessFacts, noise?: RegExp): ToolError {
  const said = facts.missing || facts.cancelled ? '' : stderrTail(facts.stderr, noise);
  return new ToolError(failureCode(facts), `${shownCommand(facts.argv)} failed: ${describeEnd(facts)}${said ? `: ${said}` : ''}`, facts, {
    command: facts.argv[0] ?? null,
    exit_code: facts.exitCode ?? null,
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
