import type { Result } from 'execa';

/** Says what was run and why it failed, as execa's own errors do, but without a shell-quoted line. */
export class CommandError extends Error {
  override readonly name = 'CommandError';

  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly signal: string | undefined,
    readonly stderr: string,
    readonly timedOut: boolean,
    readonly cancelled: boolean,
    message: string,
  ) {
    super(message);
  }

  static from(file: string, args: readonly string[], result: Result): CommandError {
    const stderr = String(result.stderr ?? '').trim();
    const why = result.timedOut
      ? 'timed out'
      : result.isCanceled
        ? 'was cancelled'
        : result.signal
          ? `was killed by ${result.signal}`
          : result.exitCode === undefined
            ? `could not start: ${result.originalMessage ?? result.shortMessage}`
            : `exited with code ${result.exitCode}`;
    const firstLine = stderr.split('\n').find((line) => line.trim() !== '') ?? '';
    return new CommandError(
      file,
      args,
      result.exitCode,
      result.signal,
      stderr,
      Boolean(result.timedOut),
      Boolean(result.isCanceled),
      `${file} ${why}${firstLine ? `: ${firstLine}` : ''}`,
    );
  }
}
