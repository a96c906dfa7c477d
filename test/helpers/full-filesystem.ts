// A small tmpfs filled to the last byte and the last inode: a "full disk" for the tests of
// what hvagent does when it cannot write its own files. Mounting needs root.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const CAN_MOUNT = process.getuid?.() === 0;
export const CANNOT_MOUNT_WHY = 'mounting a tmpfs needs root';

export interface FullFilesystem {
  /** A directory made before the file system was filled (it exists, nothing more fits in it). */
  readonly directories: Record<string, string>;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs under a fresh `prefix` directory, makes `names` in it, then fills it up (`readOnly`: mounts it read-only instead). */
export async function fullFilesystem(prefix: string, names: readonly string[], readOnly = false): Promise<FullFilesystem> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k,nr_inodes=64,mode=0755', `${prefix}tmpfs`, root]);
  const directories = Object.fromEntries(names.map((name) => [name, join(root, name)]));
  for (const directory of Object.values(directories)) mkdirSync(directory);
  if (readOnly) await execa('mount', ['-o', 'remount,ro', root]);
  else fill(root);
  return {
    directories,
    async unmount() {
      await execa('umount', [root], { reject: false });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function fill(root: string): void {
  const descriptor = openSync(join(root, 'filler'), 'w');
  try {
    const block = Buffer.alloc(4096);
    for (;;) writeSync(descriptor, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(descriptor);
  }
  for (let inode = 0; ; inode += 1) {
    try {
      closeSync(openSync(join(root, `inode-${inode}`), 'wx'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      return;
    }
  }
}
