import { randomBytes } from 'node:crypto';
import { link, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HvError } from '../../core/errors.js';
import { poolDirectory, volumeEntry } from '../../files/containment.js';
import { withPoolDirectory, type HeldDirectory } from '../../files/held-directory.js';
import { validateVolumeName, VOLUME_NAME } from '../names.js';
import { openNoFollow, readQcow2Header } from '../qcow2-header.js';
import { qemuImg, qemuImgConvert, sizeArgument } from '../qemu-img.js';
import type { ImageFormat, StorageOpContext } from '../types.js';
import { MIB, type CreatePlan, type Measured, type PoolTarget, type StoragePlugin, type VolumeTarget } from './plugin.js';

// raw and qcow2 pools: one image file per volume, made by qemu-img under a hidden
// temporary name and linked into place. link(2) never replaces an existing entry, so of
// two racing creates exactly one wins, the other gets CONFLICT, and a failed or killed
// create never leaves a half-made volume under the real name. Every file is reached
// through the pool directory held open (files/held-directory.ts), never by its path.

function directoryOf(target: PoolTarget): string | undefined {
  return poolDirectory(target.pool, target.config, false);
}

export function imageFilePlugin(format: ImageFormat): StoragePlugin {
  const fileCreate = (target: VolumeTarget, plan: CreatePlan, ctx: StorageOpContext) =>
    withPoolDirectory(target.pool, target.config, true, async (directory) => {
      const part = directory.at(`.${target.name}.part-${randomBytes(4).toString('hex')}`);
      try {
        await makeImage(format, part, plan, ctx);
        await link(part, directory.at(target.name)).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') throw new HvError('CONFLICT', `Volume '${target.name}' already exists in pool '${target.pool}'`, { pool: target.pool, name: target.name });
          throw error;
        });
      } finally {
        await rm(part, { force: true });
      }
      await directory.refuseUnlessInPlace(target.pool, target.name, unlink);
      return measureFile(format, target.name, directory.at(target.name), directory.named(target.name));
    });

  /** The regular file of the volume in the held directory, or undefined; anything else in its place is refused. */
  const existing = (directory: HeldDirectory, target: VolumeTarget) => {
    const { stats } = volumeEntry(directory.at(), target.name, target.pool);
    if (stats && !stats.isFile()) throw notAVolume(target);
    return stats !== undefined;
  };

  return {
    type: format,
    attach: 'file',
    supports: { size: true, backing: format === 'qcow2', source: true, resize: true },
    validateName: (name) => validateVolumeName(name),
    pathOf: (target, name) => join(directoryOf(target) ?? target.config.path!, name),
    create: fileCreate,
    async delete(target) {
      const removed = await withPoolDirectory(target.pool, target.config, false, async (directory) => {
        // A create killed while it copied leaves its part file; the caller holds the volume's
        // lock, so no live create of this name is writing one.
        await removePartFiles(directory.at(), target.name);
        if (!existing(directory, target)) return false;
        await unlink(directory.at(target.name));
        return true;
      });
      return removed ?? false;
    },
    async resize(target, current, sizeMb, shrink, ctx) {
      if (format === 'raw' && shrink && sizeMb * MIB < current.allocationBytes) {
        // qemu-img would simply truncate; like libvirt (vol-resize), refuse to cut away written data.
        throw new HvError(
          'INPUT_INVALID',
          `Cannot shrink raw volume '${target.name}' to ${sizeMb} MiB: ${Math.ceil(current.allocationBytes / MIB)} MiB of it are allocated (written), which shrinking below would destroy`,
          { pool: target.pool, name: target.name },
        );
      }
      await withPoolDirectory(target.pool, target.config, false, async (directory) => {
        if (!existing(directory, target)) throw new HvError('NOT_FOUND', `No volume '${target.name}' in pool '${target.pool}'`, { pool: target.pool, name: target.name });
        await qemuImg(['resize', '-q', '-f', format, ...(shrink ? ['--shrink'] : []), directory.at(target.name), sizeArgument(sizeMb)], ctx, `resize volume '${target.name}'`);
      });
    },
    async measure(target) {
      return withPoolDirectory(target.pool, target.config, false, async (directory) =>
        existing(directory, target) ? measureFile(format, target.name, directory.at(target.name), directory.named(target.name)) : undefined,
      );
    },
    async list(target) {
      const listed = await withPoolDirectory(target.pool, target.config, false, async (directory) => {
        const entries = await readdir(directory.at(), { withFileTypes: true });
        // Only regular files with volume names: temporary parts, symlinks and strays are not volumes.
        const files = entries.filter((entry) => entry.isFile() && VOLUME_NAME.test(entry.name) && !entry.name.includes('..'));
        const measured = await Promise.all(files.map((entry) => measureFile(format, entry.name, directory.at(entry.name), directory.named(entry.name)).catch(() => undefined)));
        return measured.filter((volume): volume is Measured => volume !== undefined);
      });
      return listed ?? [];
    },
    activate: async () => undefined,
    deactivate: async () => undefined,
  };
}

/** Removes `.<name>.part-<hex>`: what a killed create of volume `name` left behind. */
async function removePartFiles(directory: string, name: string): Promise<void> {
  const prefix = `.${name}.part-`;
  const entries = await readdir(directory).catch(() => [] as string[]);
  await Promise.all(entries.filter((entry) => entry.startsWith(prefix) && /^[0-9a-f]{8}$/.test(entry.slice(prefix.length))).map((entry) => rm(join(directory, entry), { force: true })));
}

async function makeImage(format: ImageFormat, part: string, plan: CreatePlan, ctx: StorageOpContext): Promise<void> {
  const size = plan.sizeMb === undefined ? [] : [sizeArgument(plan.sizeMb)];
  if (plan.source) {
    await qemuImgConvert(['-f', plan.source.format, '-O', format, plan.source.path, part], ctx, `copy ${plan.source.path}`);
    if (plan.grows) await qemuImg(['resize', '-q', '-f', format, part, ...size], ctx, 'grow the copy');
    return;
  }
  const backing = plan.backing ? ['-b', plan.backing.path, '-F', plan.backing.format] : [];
  await qemuImg(['create', '-q', '-f', format, ...backing, part, ...size], ctx, 'create the image');
}

/** Size and backing from the file itself (no process): the qcow2 header, or the length of a raw file; `path` is what it is called. */
async function measureFile(format: ImageFormat, name: string, at: string, path: string): Promise<Measured> {
  const handle = await openNoFollow(at);
  try {
    const stats = await handle.stat();
    const header = format === 'qcow2' ? await readQcow2Header(handle) : undefined;
    return {
      name,
      path,
      // A file without a qcow2 header in a qcow2 pool is raw data: never probe it as more.
      format: header ? 'qcow2' : 'raw',
      capacityBytes: header?.virtualSize ?? stats.size,
      allocationBytes: stats.blocks * 512,
      backing: header?.backing ?? null,
    };
  } finally {
    await handle.close();
  }
}

/** The virtual size of an image named as a source or backing (bytes). */
export async function imageVirtualSize(path: string, format: ImageFormat): Promise<number> {
  const handle = await openNoFollow(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new HvError('NOT_FOUND', `Image ${path} does not exist`);
    if (error.code === 'ELOOP') throw new HvError('INPUT_INVALID', `Image ${path} is a symlink; name the file it points to`);
    throw error;
  });
  try {
    if (format === 'raw') return (await handle.stat()).size;
    const header = await readQcow2Header(handle);
    if (!header) throw new HvError('INPUT_INVALID', `Image ${path} is not a qcow2 file`);
    return header.virtualSize;
  } finally {
    await handle.close();
  }
}

function notAVolume(target: VolumeTarget): HvError {
  return new HvError('CONFLICT', `'${target.name}' in pool '${target.pool}' is not a volume file`, { pool: target.pool, name: target.name });
}
