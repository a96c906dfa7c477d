import { createHash } from 'node:crypto';
import { constants, unlinkSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { HvError } from '../../core/errors.js';
import { runProcess } from '../../process/run.js';
import type { Received, ReceiveOptions } from './received.js';
import { contentKind, HEAD_BYTES } from './sniff.js';
import type { OpenedSource } from './source.js';

// A local file that needs no decompressing is copied by cp: copy_file_range(2) in the
// kernel, holes kept, and a reflink (no copy at all) on file systems that share extents.
// cp reads the file through the descriptor the import opened (/dev/fd/3), never its path
// again. Everything is checked on the copy, which is what is kept: its head sniffed, its
// SHA-256 read back as it is written, when one is to be verified. The caller flushes the
// copy to disk as it grows (flush.ts), or leaves that to the template's first use (durable.ts).

/**
 * Progress is reported at most this often. Not more: each report may write the job record,
 * and a rename on the file system the copy is being flushed to can wait hundreds of
 * milliseconds for the journal, blocking the thread that keeps the flushes going.
 */
const PROGRESS_EVERY_MS = 1000;
const COPY_TIMEOUT_MS = 60 * 60_000;
/** The hash has caught up with the copy: it looks again after this long. */
const CATCH_UP_MS = 20;

export async function copyInKernel(
  source: OpenedSource,
  file: FileHandle,
  part: { readonly path: string; handle: FileHandle },
  options: ReceiveOptions,
  tooLarge: () => HvError,
): Promise<Received> {
  const total = source.totalBytes ?? 0;
  if (total > options.maxBytes) throw tooLarge();
  const report = async (phase: string) => {
    const { size } = await stat(part.path);
    options.progress({ phase, percent: total ? Math.min(100, (size * 100) / total) : 100, message: `${(size / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB` });
  };
  if (options.alone && !options.hashSource) {
    // cp truncates a file that exists, and on ext4 a file truncated to nothing is written
    // back as soon as it is closed (auto_da_alloc): cp's exit would wait for 1 GiB of
    // writeback to be queued (measured 2-3× the copy). A file cp makes itself is not.
    await part.handle.close();
    unlinkSync(part.path);
  }
  const progress = setInterval(() => void report('copying').catch(() => undefined), PROGRESS_EVERY_MS);
  const copy = { done: false, abandoned: false };
  const copying = runProcess('cp', ['--', '/dev/fd/3', part.path], { descriptors: [file.fd], signal: options.signal, timeoutMs: COPY_TIMEOUT_MS }).finally(() => (copy.done = true));
  const hashing = options.hashSource ? hashBehindCopy(part.handle, copy, total, options) : undefined;
  hashing?.catch(() => undefined); // a failed copy is the error to report
  try {
    await copying;
    if (part.handle.fd < 0) part.handle = await open(part.path, constants.O_RDWR | constants.O_NOFOLLOW);
    clearInterval(progress);
    await report('copying');
    options.check(contentKind(await readHead(part.handle, HEAD_BYTES)));
    const bytes = (await part.handle.stat()).size;
    return { bytesIn: bytes, bytesStored: bytes, compression: undefined, sha256: await hashing };
  } finally {
    copy.abandoned = true; // refused or failed: the rest of the hash is not needed
    clearInterval(progress);
    await hashing?.catch(() => undefined);
  }
}

export async function readHead(handle: FileHandle, bytes: number): Promise<Buffer> {
  const head = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(head, 0, bytes, 0);
  return head.subarray(0, bytesRead);
}

/**
 * The SHA-256 of the copy, read while cp writes it: cp writes each byte once, in order, and
 * what lies below the file's size is written (or a hole of the source, zeros either way).
 * Reading at the end of what is there, it waits for more until the copy has ended; then it
 * reads to the end. So it is the hash of the very bytes kept, and costs little more than cp.
 */
export async function hashBehindCopy(handle: FileHandle, copy: { readonly done: boolean; readonly abandoned?: boolean }, total: number, options: Pick<ReceiveOptions, 'progress'>): Promise<string> {
  const hash = createHash('sha256');
  const chunk = 4 * 1024 * 1024;
  // Two buffers: the next read runs while this one is hashed.
  const buffers = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let position = 0;
  // Whether the copy had ended before the read began: then a read of nothing is the end.
  const read = (buffer: Buffer) => {
    const ended = copy.done;
    return handle.read(buffer, 0, chunk, position).then(({ bytesRead }) => ({ bytesRead, ended }));
  };
  let last = 0;
  let turn = 0;
  let pending = read(buffers[turn]!);
  for (;;) {
    const { bytesRead, ended } = await pending;
    if (copy.abandoned) return '';
    if (bytesRead === 0) {
      if (ended) break;
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_MS));
      pending = read(buffers[turn]!);
      continue;
    }
    const current = buffers[turn]!;
    position += bytesRead;
    turn ^= 1;
    pending = read(buffers[turn]!);
    hash.update(current.subarray(0, bytesRead));
    if (copy.done && Date.now() - last >= PROGRESS_EVERY_MS) {
      last = Date.now();
      options.progress({ phase: 'verifying', percent: total ? Math.min(100, (position * 100) / total) : 100, message: 'SHA-256' });
    }
  }
  return hash.digest('hex');
}
