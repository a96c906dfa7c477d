import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PoolConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { poolDirectory } from './containment.js';

// A pool's directory, opened once (O_DIRECTORY | O_NOFOLLOW) and then used only through
// that descriptor: every file of a volume operation is named /proc/<pid>/fd/<fd>/<entry>,
// which the kernel resolves to the directory this process holds, whatever is renamed or
// symlinked at the configured path meanwhile. Checking the path once and then using it by
// name (the old way) let a directory swapped for a symlink during a create put volumes
// and part files outside the pool. Child processes (qemu-img) are handed the same names:
// /proc/<our pid>/fd/… resolves for them too (same user).

export class HeldDirectory {
  private constructor(
    /** The canonical path of the pool directory as configured, for replies and domain XML. */
    readonly path: string,
    private readonly fd: number,
    private readonly identity: { dev: number; ino: number },
  ) {}

  /**
   * Opens the configured `path`, whose last component must be a directory and never a
   * symlink (its parents may be symlinks, as the configuration allows); `pool` names it in
   * errors. What was opened is then asked where it is: a directory that is not at the
   * configured place (a symlink swapped in before the open) is refused.
   */
  static open(pool: string, path: string): HeldDirectory {
    const moved = () => new HvError('CONFLICT', `Storage pool '${pool}': ${path} is no longer the pool's directory (a symlink or another file was put in its place); nothing was done`, { pool });
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOTDIR') throw moved();
      throw error;
    }
    try {
      const expected = join(realpathSync(dirname(path)), basename(path));
      if (readlinkSync(`/proc/self/fd/${fd}`) !== expected) throw moved();
      const stats = fstatSync(fd);
      return new HeldDirectory(expected, fd, { dev: stats.dev, ino: stats.ino });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The name of `entry` inside the held directory, for this process and its children. */
  at(entry = ''): string {
    const self = `/proc/${process.pid}/fd/${this.fd}`;
    return entry === '' ? self : join(self, entry);
  }

  /** Where `entry` is, as the configured path spells it (what a reply or a domain names). */
  named(entry: string): string {
    return join(this.path, entry);
  }

  /** Whether the configured path still is this directory (not renamed away, not replaced). */
  stillInPlace(): boolean {
    try {
      const now = lstatSync(this.path);
      return now.isDirectory() && now.dev === this.identity.dev && now.ino === this.identity.ino;
    } catch {
      return false;
    }
  }

  /**
   * After `entry` was made: when the directory is no longer at the configured path (moved
   * away or replaced meanwhile), the entry is not in the pool, so `remove` undoes it and the
   * create is refused.
   */
  async refuseUnlessInPlace(pool: string, entry: string, remove: (at: string) => Promise<void>): Promise<void> {
    if (this.stillInPlace()) return;
    await remove(this.at(entry));
    throw new HvError('CONFLICT', `Storage pool '${pool}': its directory ${this.path} was moved or replaced during the create; nothing was made`, { pool, name: entry });
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Runs `work` on the pool's directory, held open (made first when `create`); undefined
 * when it does not exist and may not be created (then `work` is not run).
 */
export function withPoolDirectory<T>(pool: string, config: PoolConfig, create: true, work: (directory: HeldDirectory) => Promise<T>): Promise<T>;
export function withPoolDirectory<T>(pool: string, config: PoolConfig, create: false, work: (directory: HeldDirectory) => Promise<T>): Promise<T | undefined>;
export async function withPoolDirectory<T>(pool: string, config: PoolConfig, create: boolean, work: (directory: HeldDirectory) => Promise<T>): Promise<T | undefined> {
  // Checked first for the configuration's own mistakes (a symlink, a file), in their words.
  if (poolDirectory(pool, config, create) === undefined) return undefined;
  const held = HeldDirectory.open(pool, config.path!);
  try {
    return await work(held);
  } finally {
    held.close();
  }
}
