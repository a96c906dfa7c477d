import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { runProcess } from '../process/run.js';

// What lets `template import` reply before its file is on disk (templates.import_flush:
// before_use, docs/RELIABILITY.md "Imported templates: durable before first use"), and
// what tells, after the host restarted, whether such a file reached the disk whole.
//
// The entry records the boot it was imported in, the file's size, and a digest of its data
// map: the byte ranges that hold data (FIEMAP, through filefrag). In the boot of the import
// the file is complete in the page cache, and the first use flushes it (fdatasync). In
// another boot it is checked: on ext4 in its default journalled modes (data=ordered,
// data=journal) a block's data is on disk before the journal commits the extent that makes
// it readable, and a block still in flight at a power loss reads as a hole or an
// `unwritten` extent, or lies past the size the journal kept. So the same size, every
// extent written, and the same ranges as at the import mean every byte reached the disk.
// Nothing is read but the extent map: no hash of the content at the import (measured:
// 1.7-2× a `cp` of the file, docs/PERFORMANCE.md P9) nor at the check.

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';
const FILEFRAG_TIMEOUT_MS = 60_000;
/** Extent flags of data that is not (or not known to be) on disk. */
const NOT_ON_DISK = new Set(['unwritten', 'delalloc', 'unknown_loc']);

/** What an entry whose file is not yet known to be on disk records (catalogue.yaml `unflushed`). */
export interface Unflushed {
  /** The boot in which it was imported (/proc/sys/kernel/random/boot_id). */
  boot_id: string;
  /** The file's size then. */
  bytes: number;
  /** SHA-256 of the file's data ranges then ("START-END" in bytes, one a line). */
  data_map: string;
}

export function currentBoot(): string {
  return readFileSync(BOOT_ID_FILE, 'utf8').trim();
}

/**
 * Whether the file system holding `directory` keeps the promise above: ext4 with ordered or
 * journalled data and barriers. Anywhere else (data=writeback, nobarrier, XFS, btrfs, NFS, …)
 * an import flushes before it replies.
 */
export function flushCanWait(directory: string): boolean {
  const { dev } = statSync(directory);
  const device = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00))}`;
  let found: { type: string; options: string[] } | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (fields[2] !== device || separator < 0) continue;
    found = { type: fields[separator + 1]!, options: (fields[separator + 3] ?? '').split(',') };
  }
  if (found?.type !== 'ext4') return false;
  return !found.options.some((option) => option === 'data=writeback' || option === 'nobarrier' || option === 'barrier=0');
}

interface Extent {
  start: number;
  /** Exclusive. */
  end: number;
  onDisk: boolean;
}

async function extents(path: string, signal?: AbortSignal): Promise<Extent[]> {
  const { stdout } = await runProcess('filefrag', ['-e', '--', path], { signal, timeoutMs: FILEFRAG_TIMEOUT_MS });
  const block = /\(\d+ blocks? of (\d+) bytes\)/.exec(stdout);
  if (!block) throw new Error(`filefrag gave no block size for ${path}`);
  const size = Number(block[1]);
  const found: Extent[] = [];
  for (const line of stdout.split('\n')) {
    // "N: START.. END: PSTART.. PEND: LENGTH:[ EXPECTED:] FLAGS" (EXPECTED only after a jump).
    const fields = line.split(':');
    const logical = /^\s*(\d+)\.\.\s*(\d+)\s*$/.exec(fields[1] ?? '');
    if ((fields.length !== 5 && fields.length !== 6) || !/^\s*\d+$/.test(fields[0]!) || !logical) continue;
    const flags = fields.at(-1)!.trim().split(',');
    found.push({ start: Number(logical[1]) * size, end: (Number(logical[2]) + 1) * size, onDisk: !flags.some((flag) => NOT_ON_DISK.has(flag)) });
  }
  return found;
}

/** SHA-256 of the ranges holding data, adjacent extents joined (how they are split may change when written back). */
function mapDigest(found: readonly Extent[]): string {
  const ranges: Array<[number, number]> = [];
  for (const { start, end } of [...found].sort((a, b) => a.start - b.start)) {
    const last = ranges.at(-1);
    if (last && last[1] >= start) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  }
  return createHash('sha256').update(ranges.map(([start, end]) => `${start}-${end}\n`).join('')).digest('hex');
}

/** What to record for a file just written and not flushed: the data it holds now (in the page cache or on disk). */
export async function unflushedRecord(path: string, bytes: number, signal?: AbortSignal): Promise<Unflushed> {
  return { boot_id: currentBoot(), bytes, data_map: mapDigest(await extents(path, signal)) };
}

/**
 * In a boot after the import's: whether the file is all on disk as it was written. A
 * problem, for the record, when it is not.
 */
export async function reachedDisk(path: string, record: Unflushed, signal?: AbortSignal): Promise<string | undefined> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    return `its file cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (size !== record.bytes) return `its file has ${size} bytes, not the ${record.bytes} imported`;
  const found = await extents(path, signal);
  const missing = found.filter((extent) => !extent.onDisk);
  if (missing.length > 0) return `${missing.reduce((sum, extent) => sum + extent.end - extent.start, 0)} bytes of its file never reached the disk`;
  if (mapDigest(found) !== record.data_map) return 'parts of its file that held data at the import are holes now';
  return undefined;
}
