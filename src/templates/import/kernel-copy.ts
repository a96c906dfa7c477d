import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { HvError } from '../../core/errors.js';
import { runProcess } from '../../process/run.js';
import type { Received, ReceiveOptions } from './received.js';
import { contentKind, HEAD_BYTES } from './sniff.js';
import type { OpenedSource } from './source.js';

// A local file that needs no decompressing is copied by cp: copy_file_range(2) in the
// kernel, holes kept, and a reflink (no copy at all) on file systems that share extents.
// cp reads the file through the descriptor the import opened (/dev/fd/3), never its path
// again. Everything is then checked on the copy, which is what is kept: its head sniffed,
// its SHA-256 read back when one is to be verified. The caller flushes the copy to disk as
// it grows (flush.ts).

/**
 * Progress is reported at most this often. Not more: each report may write the job record,
 * and a rename on the file system the copy is being flushed to can wait hundreds of
 * milliseconds for the journal, blocking the thread that keeps the flushes going.
 */
const PROGRESS_EVERY_MS = 1000;
const COPY_TIMEOUT_MS = 60 * 60_000;

export async function copyInKernel(
  source: OpenedSource,
  file: FileHandle,
  part: { path: string; handle: FileHandle },
  options: ReceiveOptions,
  tooLarge: () => HvError,
): Promise<Received> {
  const total = source.totalBytes ?? 0;
  if (total > options.maxBytes) throw tooLarge();
  const report = async (phase: string) => {
    const { size } = await part.handle.stat();
    options.progress({ phase, percent: total ? Math.min(100, (size * 100) / total) : 100, message: `${(size / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB` });
  };
  const progress = setInterval(() => void report('copying').catch(() => undefined), PROGRESS_EVERY_MS);
  try {
    await runProcess('cp', ['--', '/dev/fd/3', part.path], { descriptors: [file.fd], signal: options.signal, timeoutMs: COPY_TIMEOUT_MS });
    clearInterval(progress);
    await report('copying');
    options.check(contentKind(await readHead(part.handle, HEAD_BYTES)));
    const bytes = (await part.handle.stat()).size;
    const sha256 = options.hashSource ? await hashFile(part.handle, bytes, options) : undefined;
    return { bytesIn: bytes, bytesStored: bytes, compression: undefined, sha256 };
  } finally {
    clearInterval(progress);
  }
}

export async function readHead(handle: FileHandle, bytes: number): Promise<Buffer> {
  const head = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(head, 0, bytes, 0);
  return head.subarray(0, bytesRead);
}

async function hashFile(handle: FileHandle, bytes: number, options: ReceiveOptions): Promise<string> {
  const hash = createHash('sha256');
  const chunk = 4 * 1024 * 1024;
  // Two buffers: the next read runs while this one is hashed.
  const buffers = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let last = 0;
  let pending = handle.read(buffers[0]!, 0, chunk, 0);
  for (let position = 0, turn = 0; ; turn ^= 1) {
    const { bytesRead } = await pending;
    if (bytesRead === 0) break;
    position += bytesRead;
    pending = handle.read(buffers[turn ^ 1]!, 0, chunk, position);
    hash.update(buffers[turn]!.subarray(0, bytesRead));
    if (Date.now() - last >= PROGRESS_EVERY_MS) {
      last = Date.now();
      options.progress({ phase: 'verifying', percent: bytes ? (position * 100) / bytes : 100, message: 'SHA-256' });
    }
  }
  return hash.digest('hex');
}
