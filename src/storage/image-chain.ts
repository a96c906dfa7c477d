import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { HvError } from '../core/errors.js';
import { isInside } from '../files/containment.js';
import { runProcess } from '../process/run.js';
import { openNoFollow, readQcow2Header } from './qcow2-header.js';
import type { ImageFormat } from './types.js';

// An image named by path (vm create disk=, volume create source= and backing=) lies inside
// paths.images, but a qcow2 file names other files: its backing file (and that one's, down
// the chain) and an external data file. QEMU opens them all for the guest, and libvirt
// re-owns them to libvirt-qemu: a backing file of /etc/shadow hands the guest the host's
// file. So every file of the chain must lie in the allowed directories too.
//
// Two passes. First the qcow2 headers are read here, one file at a time, and each file a
// header names is checked before it is opened: nothing outside is ever opened, not even a
// FIFO or a device that would hang the read. Then `qemu-img info --backing-chain` (which
// opens exactly those files, all now known to be inside) reports the chain as QEMU itself
// sees it, probed formats included (a backing file without a format could be probed as
// vmdk, whose extents name yet other files): every file it names is checked again, and any
// format other than raw and qcow2 is refused.

/** A chain longer than this is refused (qemu-img itself gives up far sooner on a loop). */
const MAX_CHAIN = 16;
const CHAIN_TIMEOUT_MS = 30_000;

interface ChainEntry {
  filename: string;
  format: string;
  'format-specific'?: { type?: string; data?: { 'data-file'?: string } };
}

/**
 * Refuses (NOT_AUTHORIZED, naming `input`) an image whose backing chain or external data
 * file leads out of `allowedRoots`; `path` is the image's real path, already inside them.
 */
export async function checkImageChain(input: string, path: string, format: ImageFormat, allowedRoots: readonly string[], signal?: AbortSignal): Promise<void> {
  // A raw image is never probed (the format is always given): it names no other file.
  if (format === 'raw') return;
  const roots = realRoots(allowedRoots);
  const refuse = (what: string, file: string) =>
    new HvError('NOT_AUTHORIZED', `Input '${input}': ${path} has ${what} ${file} outside the allowed image directories (${allowedRoots.join(', ')}); refused`, { input });
  const inside = (what: string, file: string): string => {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new HvError('NOT_FOUND', `Input '${input}': ${path} has ${what} ${file}, which does not exist`, { input });
    }
    if (!roots.some((root) => isInside(root, real))) throw refuse(what, file);
    // Never a FIFO or a device, which opening or reading could hang on.
    if (!statSync(real).isFile()) throw new HvError('INPUT_INVALID', `Input '${input}': ${path} has ${what} ${file}, which is not a regular file`, { input });
    return real;
  };

  let current = path;
  for (let depth = 0; ; depth += 1) {
    if (depth >= MAX_CHAIN) throw new HvError('INPUT_INVALID', `Input '${input}': ${path} has a backing chain longer than ${MAX_CHAIN} images`, { input });
    const header = await headerOf(current);
    if (!header) break;
    const near = (name: string) => (isAbsolute(name) ? name : resolve(dirname(current), name));
    if (header.externalDataFile) {
      if (header.dataFile === null) throw new HvError('INPUT_INVALID', `Input '${input}': ${current} has an external data file whose name cannot be read`, { input });
      inside('the external data file', near(header.dataFile));
    }
    if (header.backing === null) break;
    // json: and protocol names (nbd:, http:) are not files; a relative name with ':' is read so by QEMU.
    if (header.backing.startsWith('json:') || (!isAbsolute(header.backing) && header.backing.includes(':'))) throw refuse('the backing file', header.backing);
    if (header.backingFormat !== null && header.backingFormat !== 'qcow2' && header.backingFormat !== 'raw') {
      throw new HvError('INPUT_INVALID', `Input '${input}': ${current} has a backing file of format ${header.backingFormat}; only raw and qcow2 are accepted`, { input });
    }
    current = inside('the backing file', near(header.backing));
    if (header.backingFormat === 'raw') break;
  }

  const { stdout } = await runProcess('qemu-img', ['info', '--backing-chain', '--output=json', '-U', '-f', format, path], { signal, timeoutMs: CHAIN_TIMEOUT_MS }).catch(
    (error: unknown) => {
      throw new HvError('INPUT_INVALID', `Input '${input}': qemu-img cannot read the backing chain of ${path}`, { input }, { cause: error });
    },
  );
  for (const entry of JSON.parse(stdout) as ChainEntry[]) {
    inside('the backing file', entry.filename);
    if (entry.format !== 'qcow2' && entry.format !== 'raw') {
      throw new HvError('INPUT_INVALID', `Input '${input}': ${entry.filename} in the chain of ${path} is ${entry.format}; only raw and qcow2 are accepted`, { input });
    }
    const dataFile = entry['format-specific']?.data?.['data-file'];
    if (dataFile !== undefined) inside('the external data file', isAbsolute(dataFile) ? dataFile : resolve(dirname(entry.filename), dataFile));
  }
}

function realRoots(roots: readonly string[]): string[] {
  return roots.flatMap((root) => {
    try {
      return [realpathSync(root)];
    } catch {
      return [];
    }
  });
}

async function headerOf(path: string) {
  const handle = await openNoFollow(path);
  try {
    return (await handle.stat()).isFile() ? await readQcow2Header(handle) : undefined;
  } finally {
    await handle.close();
  }
}
