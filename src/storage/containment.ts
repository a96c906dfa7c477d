import { lstatSync, mkdirSync, realpathSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { PoolConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';

// A file or directory pool is one directory; a volume is one entry in it, named by a
// validated single path segment. Nothing under a pool is followed through a symlink: a
// symlink where a volume should be is refused, and so is a pool directory that is itself
// a symlink (it could be re-pointed anywhere; configure its target instead).

/**
 * The pool's directory, canonical (parent symlinks resolved), created when `create` is
 * set; undefined when it does not exist yet and may not be created.
 */
export function poolDirectory(pool: string, config: PoolConfig, create: boolean): string | undefined {
  const configured = config.path!;
  let stats = lstatOrUndefined(configured);
  if (!stats && create) {
    mkdirSync(configured, { recursive: true, mode: 0o755 });
    stats = lstatSync(configured);
  }
  if (!stats) return undefined;
  if (stats.isSymbolicLink()) {
    throw new HvError('CONFIG_INVALID', `Storage pool '${pool}': ${configured} is a symlink; set path to the directory it points to`, { pool });
  }
  if (!stats.isDirectory()) throw new HvError('CONFIG_INVALID', `Storage pool '${pool}': ${configured} is not a directory`, { pool });
  return realpathSync(configured);
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The entry `name` (already validated) in `directory`: its lstat, or undefined; a symlink is refused. */
export function volumeEntry(directory: string, name: string, pool: string): { path: string; stats: Stats | undefined } {
  const path = join(directory, name);
  const stats = lstatOrUndefined(path);
  if (stats?.isSymbolicLink()) {
    throw new HvError('NOT_AUTHORIZED', `Volume '${name}' of pool '${pool}' is a symlink (${path}); hvagent never follows symlinks in a pool`, {
      pool,
      name,
    });
  }
  return { path, stats };
}
