import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { HvError } from '../core/errors.js';
import { MAX_REQUEST_BYTES } from '../core/request.js';

// Requests are read with their size capped while they are read: what lies past the cap is
// never held in memory (a 600 MB request file or stdin costs the agent what 4 MiB does),
// and the caller still gets a well-formed REQUEST_TOO_LARGE reply.

const READ_CHUNK = 64 * 1024;

export type BoundedText = { text: string } | { tooLarge: HvError };

export function requestTooLarge(limit = MAX_REQUEST_BYTES): HvError {
  return new HvError(
    'REQUEST_TOO_LARGE',
    `Request is larger than ${limit} bytes (${formatMiB(limit)}), the most hvagent accepts: refused, and nothing past that was kept`,
    { max_bytes: limit },
  );
}

/**
 * A request file (MCollective's, Choria's): at most `limit` bytes are read; more is a refusal.
 * A regular file that fits is read whole by one call in C++ (Node's readFileSync for UTF-8),
 * which spares a per-request agent compiling Node's JavaScript read path on every start;
 * anything else (a FIFO, a larger file, one that grew while it was read) in capped chunks.
 */
export function readRequestFile(path: string, limit = MAX_REQUEST_BYTES): BoundedText {
  const stats = statSync(path);
  if (stats.isFile() && stats.size <= limit) {
    const text = readFileSync(path, 'utf8');
    // At most 3 bytes of UTF-8 per UTF-16 unit: Buffer.byteLength only for text that may be over.
    if (text.length <= limit && (text.length * 3 <= limit || Buffer.byteLength(text) <= limit)) return { text };
  }
  return readInChunks(path, limit);
}

function readInChunks(path: string, limit: number): BoundedText {
  const descriptor = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte past the limit tells a file of exactly `limit` bytes from a larger one.
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, limit + 1 - total));
      const read = readSync(descriptor, chunk, 0, chunk.length, null);
      if (read === 0) break;
      total += read;
      if (total > limit) return { tooLarge: requestTooLarge(limit) };
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
    }
    return { text: Buffer.concat(chunks, total).toString('utf8') };
  } finally {
    closeSync(descriptor);
  }
}

/**
 * All of a stream (stdin for `hvagent rpc`), or a refusal once it passes `limit`. The rest
 * of a refused stream is read and dropped, so that a writer that sends everything before
 * it reads the reply is not cut off by a broken pipe.
 */
export async function readRequestStream(stream: AsyncIterable<Buffer>, limit = MAX_REQUEST_BYTES, onRefused?: (error: HvError) => void): Promise<BoundedText> {
  const chunks: Buffer[] = [];
  let total = 0;
  let refusal: HvError | undefined;
  for await (const chunk of stream) {
    if (refusal) continue;
    total += chunk.length;
    if (total > limit) {
      refusal = requestTooLarge(limit);
      chunks.length = 0;
      onRefused?.(refusal);
      continue;
    }
    chunks.push(chunk);
  }
  return refusal ? { tooLarge: refusal } : { text: Buffer.concat(chunks, total).toString('utf8') };
}

/** One NDJSON line: its text, or the refusal of a line longer than the limit. */
export type BoundedLine = { text: string } | { tooLarge: HvError };

/**
 * The lines of a stream (`hvagent rpc --stream`), each capped at `limit` bytes: a longer
 * line is dropped as it arrives (up to its newline) and yields a refusal in its place, and
 * the lines after it are read as usual. Splits on "\n" only; a trailing "\r" is left to
 * JSON.parse, which takes it as whitespace.
 */
export async function* readRequestLines(stream: AsyncIterable<Buffer>, limit = MAX_REQUEST_BYTES): AsyncGenerator<BoundedLine> {
  let pieces: Buffer[] = [];
  let length = 0;
  let oversized = false;
  const endLine = (): BoundedLine => {
    const line: BoundedLine = oversized ? { tooLarge: requestTooLarge(limit) } : { text: Buffer.concat(pieces, length).toString('utf8') };
    pieces = [];
    length = 0;
    oversized = false;
    return line;
  };
  const add = (piece: Buffer): void => {
    if (oversized) return;
    length += piece.length;
    if (length > limit) {
      oversized = true;
      pieces = [];
      return;
    }
    pieces.push(piece);
  };
  for await (const chunk of stream) {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      add(chunk.subarray(start, newline));
      yield endLine();
      start = newline + 1;
    }
    // The rest of the chunk begins the next line (a piece of the chunk: each read is a buffer of its own).
    if (start < chunk.length) add(chunk.subarray(start));
  }
  if (length > 0 || oversized) yield endLine();
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1048576) * 10) / 10} MiB`;
}
