import type { FileHandle } from 'node:fs/promises';
import { HvError } from '../../core/errors.js';
import { ToolError } from '../../process/failure.js';
import { runProcess } from '../../process/run.js';
import { readQcow2Header } from '../../storage/qcow2-header.js';
import { checkMembers, HostileMember } from '../archive-check.js';
import { listArchive, ListingError } from '../tar-listing.js';
import type { StoredForm } from './expect.js';
import type { ContentKind } from './sniff.js';

// The whole received file checked as the catalogue will use it, before it is kept: an image
// standalone (a backing file or an external data file could name any file of the host) and
// readable by QEMU, an archive listed and every member checked (archive-check.ts).

export interface Inspected {
  /** What the catalogue entry says: the image format, and the file's extension. */
  format: 'qcow2' | 'raw' | undefined;
  extension: string;
  virtualSizeMb: number | undefined;
}

const QEMU_IMG_TIMEOUT_MS = 60_000;

export async function inspectStored(form: StoredForm, kind: ContentKind, file: { path: string; handle: FileHandle; bytes: number }, shown: string, signal: AbortSignal): Promise<Inspected> {
  const refuse = (problem: string, cause?: unknown): never => {
    throw new HvError('INPUT_INVALID', `Input 'source': ${shown} ${problem}; nothing was kept`, { input: 'source' }, { cause });
  };
  switch (form) {
    case 'raw':
      return { format: 'raw', extension: 'raw', virtualSizeMb: Math.ceil(file.bytes / 1048576) };
    case 'iso':
      return { format: undefined, extension: 'iso', virtualSizeMb: undefined };
    case 'qcow2': {
      const header = await readQcow2Header(file.handle);
      if (!header) return refuse('is not a qcow2 image');
      if (header.backing !== null) refuse(`is a qcow2 image that depends on its backing file ${JSON.stringify(header.backing)}: a template must be standalone (qemu-img convert -O qcow2 it into one file first)`);
      if (header.externalDataFile) refuse('is a qcow2 image whose data lies in an external file: a template must be standalone');
      const info = await qemuImgInfo(file.path, signal).catch((error: unknown) => {
        if (error instanceof ToolError && !error.cancelled) refuse(`is not a qcow2 image QEMU can open (${error.stderr.split('\n')[0]})`, error);
        throw error;
      });
      if (info.encrypted) refuse('is an encrypted qcow2 image: a template must open without a secret');
      return { format: 'qcow2', extension: 'qcow2', virtualSizeMb: Math.ceil(info['virtual-size'] / 1048576) };
    }
    case 'archive': {
      try {
        checkMembers(await listArchive(file.path, signal));
      } catch (error) {
        if (error instanceof HostileMember || error instanceof ListingError) refuse(`is refused: ${error.message}`, error);
        if (error instanceof ToolError && !error.cancelled) refuse(`is not a tar archive tar can read (${error.stderr.split('\n')[0]})`, error);
        throw error;
      }
      return { format: undefined, extension: kind === 'gzip' ? 'tar.gz' : kind === 'xz' ? 'tar.xz' : 'tar', virtualSizeMb: undefined };
    }
  }
}

async function qemuImgInfo(path: string, signal: AbortSignal): Promise<{ 'virtual-size': number; encrypted?: boolean }> {
  const { stdout } = await runProcess('qemu-img', ['info', '--output=json', '-f', 'qcow2', path], { signal, timeoutMs: QEMU_IMG_TIMEOUT_MS });
  return JSON.parse(stdout) as { 'virtual-size': number; encrypted?: boolean };
}
