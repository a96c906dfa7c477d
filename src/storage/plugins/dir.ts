import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HvError } from '../../core/errors.js';
import { poolDirectory, volumeEntry } from '../../files/containment.js';
import { validateVolumeName, VOLUME_NAME } from '../names.js';
import type { Measured, PoolTarget, StoragePlugin, VolumeTarget } from './plugin.js';

// dir pools: one directory per volume, a container's root. It has no size of its own:
// capacity is 0 and limits do not apply; allocation is what its files take.

const directoryOf = (target: PoolTarget, create = false) => poolDirectory(target.pool, target.config, create);

export const dirPlugin: StoragePlugin = {
  type: 'dir',
  attach: 'directory',
  supports: { size: false, backing: false, source: false, resize: false },
  validateName: (name) => validateVolumeName(name),
  pathOf: (target, name) => join(directoryOf(target) ?? target.config.path!, name),
  async create(target) {
    directoryOf(target, true);
    // mkdir(2) fails on any existing entry, a symlink included: one of two racing creates wins.
    await mkdir(target.path, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') throw new HvError('CONFLICT', `Volume '${target.name}' already exists in pool '${target.pool}'`, { pool: target.pool, name: target.name });
      throw error;
    });
  },
  async delete(target) {
    const path = existingVolume(target);
    if (!path) return false;
    // rm does not follow symlinks inside the tree: it removes the links themselves.
    await rm(path, { recursive: true, force: true });
    return true;
  },
  async resize(target) {
    throw new HvError('UNSUPPORTED', `Volume '${target.name}' is a directory (pool '${target.pool}'): it has no size to change`);
  },
  async measure(target) {
    const path = existingVolume(target);
    return path === undefined ? undefined : measureDirectory(target.name, path);
  },
  async list(target) {
    const directory = directoryOf(target);
    if (!directory) return [];
    const entries = await readdir(directory, { withFileTypes: true });
    const volumes = entries.filter((entry) => entry.isDirectory() && VOLUME_NAME.test(entry.name) && !entry.name.includes('..'));
    return Promise.all(volumes.map((entry) => measureDirectory(entry.name, join(directory, entry.name))));
  },
  activate: async () => undefined,
  deactivate: async () => undefined,
};

/** The volume's directory, or undefined when there is none; anything else in its place is refused. */
function existingVolume(target: VolumeTarget): string | undefined {
  const directory = directoryOf(target);
  if (!directory) return undefined;
  const { path, stats } = volumeEntry(directory, target.name, target.pool);
  if (!stats) return undefined;
  if (!stats.isDirectory()) throw new HvError('CONFLICT', `'${target.name}' in pool '${target.pool}' is not a directory volume`, { pool: target.pool, name: target.name });
  return path;
}

async function measureDirectory(name: string, path: string): Promise<Measured> {
  return { name, path, format: null, capacityBytes: 0, allocationBytes: await allocatedBytes(path), backing: null };
}

/** Like `du -s`: blocks of everything under `path`, symlinks not followed, each inode once. */
async function allocatedBytes(path: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (at: string): Promise<void> => {
    const stats = await lstat(at).catch(() => undefined);
    if (!stats) return;
    const inode = `${stats.dev}:${stats.ino}`;
    if (seen.has(inode)) return;
    seen.add(inode);
    total += stats.blocks * 512;
    if (!stats.isDirectory()) return;
    const children = await readdir(at).catch(() => [] as string[]);
    for (const child of children) await walk(join(at, child));
  };
  await walk(path);
  return total;
}
