import { describeEnd, ToolError, type ProcessFacts } from '../process/failure.js';

/**
 * Stable codes callers can branch on; the human message may change between libvirt versions.
 *
 * - HYPERVISOR_UNREACHABLE: virsh could not connect to (or lost) the libvirt connection.
 * - HYPERVISOR_ERROR: connected, but the command failed (or virsh rejected its syntax).
 * - HYPERVISOR_TIMEOUT: virsh did not finish within `timeoutMs` and was killed.
 * - CANCELLED: the caller's AbortSignal fired and virsh was killed.
 * - VIRSH_MISSING: the virsh binary could not be started (not installed / not on PATH).
 * - INVALID_ARGUMENT: refused before running anything (e.g. an argument containing NUL).
 */
export type VirshErrorCode =
  | 'HYPERVISOR_UNREACHABLE'
  | 'HYPERVISOR_ERROR'
  | 'HYPERVISOR_TIMEOUT'
  | 'CANCELLED'
  | 'VIRSH_MISSING'
  | 'INVALID_ARGUMENT';

export interface VirshErrorDetails {
  readonly code: VirshErrorCode;
  /** Full argv as executed, starting with "virsh". */
  readonly argv: readonly string[];
  /** The libvirt command that failed; absent when a batch failed as a whole. */
  readonly command?: readonly string[];
  /** Names what ran in the message when there is no single command (a whole batch). */
  readonly summary?: string;
  readonly uri: string;
  readonly exitCode?: number;
  /** The signal that ended it (a timeout's or a cancel's kill). */
  readonly signal?: string;
  readonly stderr?: string;
  readonly timedOut?: boolean;
  readonly cancelled?: boolean;
  /** What went wrong, without the command; defaults to the meaningful stderr lines. */
  readonly reason?: string;
  readonly cause?: unknown;
}

// libvirt reports a lost or refused connection with these phrases, whatever the driver.
const UNREACHABLE_PATTERNS = [
  /failed to connect to the hypervisor/i,
  /no valid connection/i,
  /End of file while reading data/i,
  /Cannot recv data/i,
];

/** A failed virsh: the tool failure (what ran, how it ended, stderr) plus libvirt's own reason and a code callers branch on. */
export class VirshError extends ToolError {
  declare readonly code: VirshErrorCode;
  readonly command: readonly string[] | undefined;
  readonly uri: string;
  /** The libvirt explanation alone, e.g. "Domain not found: no domain with matching name 'x'". */
  readonly reason: string;

  constructor(details: VirshErrorDetails) {
    const stderr = (details.stderr ?? '').trim();
    const reason = details.reason ?? (meaningfulErrorText(stderr) || `exit code ${details.exitCode ?? 'unknown'}`);
    const what = details.command?.join(' ') ?? details.summary ?? details.argv.slice(3).join(' ');
    super(details.code, `virsh -c ${details.uri} ${describeCommand(what)}: ${reason}`, {
      argv: details.argv,
      exitCode: details.exitCode,
      signal: details.signal,
      stderr,
      timedOut: details.timedOut,
      cancelled: details.cancelled,
      cause: details.cause,
    });
    this.command = details.command;
    this.uri = details.uri;
    this.reason = reason;
  }
}

/** The VirshError for a virsh process that ended abnormally (timeout, cancel, not installed, signal). */
export function abnormalVirshEnd(facts: ProcessFacts, described: { command?: readonly string[]; summary?: string }, uri: string): VirshError {
  const code: VirshErrorCode = facts.timedOut
    ? 'HYPERVISOR_TIMEOUT'
    : facts.cancelled
      ? 'CANCELLED'
      : facts.missing
        ? 'VIRSH_MISSING'
        : 'HYPERVISOR_ERROR';
  // A timeout or a cancel says so (we killed it); a signal from elsewhere is named.
  const killedFromElsewhere = facts.exitCode === undefined && facts.signal && !facts.timedOut && !facts.cancelled;
  const reason = facts.missing ? 'virsh not found on PATH (is libvirt-clients installed?)' : killedFromElsewhere ? `virsh killed by ${facts.signal}` : describeEnd(facts);
  return new VirshError({ ...described, code, argv: facts.argv, uri, exitCode: facts.exitCode, signal: facts.signal, stderr: facts.stderr, timedOut: facts.timedOut, cancelled: facts.cancelled, reason, cause: facts.cause });
}

function describeCommand(what: string): string {
  const oneLine = what.replace(/\s+/g, ' ');
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/**
 * libvirt prints a generic line then the cause ("failed to get domain 'x'" /
 * "Domain not found: ..."); both matter, so they are joined.
 */
export function meaningfulErrorText(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('error:'))
    .map((line) => line.slice('error:'.length).trim())
    .filter((line) => line.length > 0);
  const text = [...new Set(lines)].join(': ');
  if (text) return text;
  return stderr.split('\n').find((line) => line.trim().length > 0)?.trim() ?? '';
}

export function classifyStderr(stderr: string): 'HYPERVISOR_UNREACHABLE' | 'HYPERVISOR_ERROR' {
  return UNREACHABLE_PATTERNS.some((pattern) => pattern.test(stderr))
    ? 'HYPERVISOR_UNREACHABLE'
    : 'HYPERVISOR_ERROR';
}
