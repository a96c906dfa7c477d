import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { HvError } from '../../core/errors.js';
import { runProcess } from '../../process/run.js';
import { copyInKernel, readHead } from './kernel-copy.js';
import type { Received, ReceiveOptions } from './received.js';
import { compressionOf, contentKind, HEAD_BYTES, type ContentKind } from './sniff.js';
import type { OpenedSource } from './source.js';

// One pass from the source to a temporary file, in constant memory: the source's bytes are
// counted (progress) and hashed when a checksum is to be verified, then decompressed when
// they are gzip or xz (an image or ISO; an archive is kept as it comes, tar reads it
// compressed), then written, up to the size limit. Nothing is written before the first HEAD_BYTES
// of content have been looked at: a file that is not what the import expects is refused
// before it is downloaded whole. Runs of zeros are skipped, not written: the file stays sparse.
// A local file that needs no decompressing is copied by the kernel instead (kernel-copy.ts).
// The caller flushes the file to disk meanwhile (flush.ts).

/** Sparse writes: the content is looked at in pieces aligned to this in the file; pieces of zeros are skipped. */
const ZERO_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(ZERO_BLOCK);
/** Progress is reported at most this often. */
const PROGRESS_EVERY_MS = 200;

export async function receive(source: OpenedSource, part: { readonly path: string; handle: FileHandle }, options: ReceiveOptions): Promise<Received> {
  const tooLarge = () =>
    new HvError('QUOTA_EXCEEDED', `Input 'source': ${source.shown} is larger than templates.max_import_mb (${Math.floor(options.maxBytes / 1048576)} MiB); nothing was kept`, {
      input: 'source',
    });
  if (source.file && !(options.decompress && compressionOf(await readHead(source.file, 8)))) {
    try {
      return await copyInKernel(source, source.file, part, options, tooLarge);
    } finally {
      source.close();
    }
  }
  const file = part.handle;
  const meter = new Meter(source, options);
  const sink = new SparseSink(file, options.check, options.maxBytes, tooLarge);
  try {
    source.stream.on('error', (error) => meter.destroy(error as Error));
    const { head, rest } = await peek(source.stream.pipe(meter), 8);
    const compression = options.decompress ? compressionOf(head) : undefined;
    if (compression === 'zstd' || compression === 'bzip2') {
      throw new HvError('INPUT_INVALID', `Input 'source': ${source.shown} is ${compression}-compressed: hvagent decompresses gzip and xz`, { input: 'source' });
    }
    if (compression === 'xz') {
      await runProcess('xz', ['--decompress', '--stdout', '--threads=1'], {
        signal: options.signal,
        inputStream: rest,
        consumeStdout: (stdout) => pipeline(stdout, sink),
      });
    } else {
      await (compression === 'gzip' ? pipeline(rest, createGunzip(), sink) : pipeline(rest, sink));
    }
    if (source.totalBytes !== undefined && meter.bytes !== source.totalBytes && source.remote) {
      throw new HvError('DOWNLOAD_FAILED', `Input 'source': ${source.shown} ended after ${meter.bytes} of ${source.totalBytes} bytes; nothing was kept`, { input: 'source' });
    }
    return { bytesIn: meter.bytes, bytesStored: sink.bytes, compression, sha256: meter.hash?.digest('hex') };
  } catch (error) {
    throw source.explain(error);
  } finally {
    source.close();
  }
}

/** The first `bytes` of a stream, and the whole stream again (those bytes included). */
async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; rest: Readable }> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const finish = () => {
      stream.off('readable', onReadable).off('end', finish).off('error', reject);
      resolve(Buffer.concat(chunks));
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (have < bytes && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        have += chunk.length;
      }
      if (have >= bytes) finish();
    };
    stream.on('readable', onReadable).once('end', finish).once('error', reject);
  });
  const rest = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      yield* stream;
    })(),
    { objectMode: false },
  );
  return { head, rest };
}

/** Counts and (when asked) hashes the source's bytes; reports progress. The sink limits what is kept. */
class Meter extends Transform {
  bytes = 0;
  readonly hash: Hash | undefined;
  #lastReport = 0;

  constructor(
    private readonly source: OpenedSource,
    private readonly options: ReceiveOptions,
  ) {
    super({ highWaterMark: 4 * 1024 * 1024 });
    this.hash = options.hashSource ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.source.alive();
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    const now = Date.now();
    if (now - this.#lastReport >= PROGRESS_EVERY_MS) {
      this.#lastReport = now;
      this.report();
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.report();
    done();
  }

  private report(): void {
    const { totalBytes, remote } = this.source;
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    this.options.progress({
      phase: remote ? 'downloading' : 'reading',
      ...(totalBytes ? { percent: Math.min(100, (this.bytes * 100) / totalBytes) } : {}),
      message: `${mib(this.bytes)}${totalBytes ? ` of ${mib(totalBytes)}` : ''} MiB`,
    });
  }
}

/** Writes the content at its offsets, skipping aligned blocks of zeros; looks at the head before writing any of it. */
class SparseSink extends Writable {
  bytes = 0;
  #head: Buffer[] | undefined = [];
  #headBytes = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly check: (kind: ContentKind) => void,
    private readonly maxBytes: number,
    private readonly tooLarge: () => HvError,
  ) {
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.take(chunk).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    (async () => {
      if (this.#head) await this.release();
      // Skipped zeros at the end still count: the file has the content's length.
      await this.file.truncate(this.bytes);
    })().then(() => done(), done);
  }

  private async take(chunk: Buffer): Promise<void> {
    if (this.#head) {
      this.#head.push(chunk);
      this.#headBytes += chunk.length;
      if (this.#headBytes >= HEAD_BYTES) await this.release();
      return;
    }
    await this.write_(chunk);
  }

  private async release(): Promise<void> {
    const head = Buffer.concat(this.#head!);
    this.#head = undefined;
    this.check(contentKind(head));
    await this.write_(head);
  }

  private async write_(chunk: Buffer): Promise<void> {
    const start = this.bytes;
    if (start + chunk.length > this.maxBytes) throw this.tooLarge();
    this.bytes += chunk.length;
    // Runs of non-zero pieces are written in one call. Pieces end at the file's block
    // boundaries; a piece of zeros (even part of a block) needs no writing: the file is new,
    // and what is never written reads as zeros.
    let runStart = -1;
    let at = 0;
    while (at < chunk.length) {
      const end = Math.min(chunk.length, at + ZERO_BLOCK - ((start + at) % ZERO_BLOCK));
      const zero = chunk.subarray(at, end).equals(ZEROS.subarray(0, end - at));
      if (zero && runStart >= 0) {
        await writeAll(this.file, chunk.subarray(runStart, at), start + runStart);
        runStart = -1;
      } else if (!zero && runStart < 0) {
        runStart = at;
      }
      at = end;
    }
    if (runStart >= 0) await writeAll(this.file, chunk.subarray(runStart), start + runStart);
  }
}

/** pwrite(2) may write less than asked (a full disk says so on the next call). */
async function writeAll(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
