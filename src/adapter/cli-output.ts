import { isatty } from 'node:tty';

// The command line's stdout and stderr. process.stdout, process.stderr and process.stdin
// each build a Node stream for their descriptor when first used (a SyncWriteStream, a
// net.Socket, a tty.ReadStream …); a command that succeeds needs stdout's alone. So whether
// a descriptor is a terminal is asked with isatty(3), not of its stream, and each stream is
// made when something is first written to it: `process.stdin.isTTY` and the error handlers
// set on both output streams up front cost 5-6 M instructions of a `vm list` that
// `hvagent serve` answers (P4 CLI, docs/PERFORMANCE.md).

export interface TextOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Where the command line writes: the process's stdout and stderr, or the warm-up's sink (warm-up.ts). */
export interface CliStreams {
  readonly stdout: TextOutput;
  readonly stderr: TextOutput;
  /** stdin and stdout are a terminal: a person is at it (vm console). */
  readonly terminal: boolean;
}

const inUse = new Set<NodeJS.WriteStream>();

/**
 * process.stdout or process.stderr. A reader that goes away (`hvagent vm list | head -1`,
 * `rpc --stream … | head`) ends us quietly, as it would any Unix filter; the other way it
 * would be an unhandled EPIPE and a hang. Any other failed write ends us with status 1.
 */
export function processStream(fd: 1 | 2): NodeJS.WriteStream {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!inUse.has(stream)) {
    inUse.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));
  }
  return stream;
}

function processOutput(fd: 1 | 2): TextOutput {
  return {
    write: (text) => processStream(fd).write(text),
    get isTTY() {
      return isatty(fd);
    },
    // Asked only of a terminal (the progress line).
    get columns() {
      return processStream(fd).columns;
    },
  };
}

export const PROCESS_OUTPUT: CliStreams = {
  stdout: processOutput(1),
  stderr: processOutput(2),
  get terminal() {
    return isatty(0) && isatty(1);
  },
};

/** Exits with `code` as soon as the output is out: a pipe may still hold some. */
export function exitWhenWritten(code: number): void {
  const pending = [...inUse].filter((stream) => stream.writableLength > 0);
  if (pending.length === 0) process.exit(code);
  Promise.all(pending.map((stream) => new Promise((resolve) => stream.once('drain', resolve)))).then(() => process.exit(code));
}
