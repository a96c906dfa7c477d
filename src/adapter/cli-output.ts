import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

// The command line writes with write(2) on descriptors 1 and 2, not through process.stdout
// and process.stderr: their first use builds a Node stream for the descriptor (a
// SyncWriteStream, a net.Socket or a tty.WriteStream) with its error and drain handling,
// 6 M instructions of a `vm list` that `hvagent serve` answers (P4 CLI, docs/PERFORMANCE.md).
// A write that fails (EAGAIN: a descriptor someone made non-blocking, a full pipe; EPIPE: the
// reader went away; ENOSPC …) hands what is left to the stream, which does what it always
// did: waits for the pipe to drain before the process exits, ends the process quietly on
// EPIPE as it would any Unix filter, else with status 1.

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

let streamsInUse = false;

/** process.stdout or process.stderr, for what writes through them (`hvagent rpc`), ended quietly by a reader that went away. */
export function processStream(fd: 1 | 2): NodeJS.WriteStream {
  if (!streamsInUse) {
    streamsInUse = true;
    for (const stream of [process.stdout, process.stderr]) stream.on('error', endOnWriteError);
  }
  return fd === 1 ? process.stdout : process.stderr;
}

function endOnWriteError(error: NodeJS.ErrnoException): void {
  process.exit(error.code === 'EPIPE' ? 0 : 1);
}

function descriptorOutput(fd: 1 | 2): TextOutput {
  let stream: NodeJS.WriteStream | undefined;
  return {
    write(text) {
      // Once the stream holds some, the rest follows it, in order.
      if (stream) return stream.write(text);
      const bytes = Buffer.from(text);
      let written = 0;
      try {
        while (written < bytes.length) written += writeSync(fd, bytes, written);
      } catch {
        stream = processStream(fd);
        stream.write(bytes.subarray(written));
      }
      return true;
    },
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
  stdout: descriptorOutput(1),
  stderr: descriptorOutput(2),
  get terminal() {
    return isatty(0) && isatty(1);
  },
};

/** Exits with `code` as soon as what went through a stream is out: a pipe may still hold some. */
export function exitWhenWritten(code: number): void {
  const pending = streamsInUse ? [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0) : [];
  if (pending.length === 0) process.exit(code);
  Promise.all(pending.map((stream) => new Promise((resolve) => stream.once('drain', resolve)))).then(() => process.exit(code));
}
