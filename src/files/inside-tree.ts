import { closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HvError } from '../core/errors.js';

// Writing into a tree hvagent did not make (an unpacked template, a container's root):
// nothing is followed through a symlink of that tree, because /etc or /var/lib in it could
// point anywhere on the host.

/**
 * mkdir -p of `relative` inside `root`, refusing any component that is a symlink or not a
 * directory (CONFIG_INVALID: the tree came from a template); `what` names the file for the
 * message.
 */
export function ensureDirectoryInside(root: string, relative: string, what: string): string {
  let current = root;
  for (const segment of relative.split('/')) {
    current = join(current, segment);
    let stats;
    try {
      stats = lstatSync(current);
    } catch {
      mkdirSync(current, { mode: 0o755 });
      continue;
    }
    if (!stats.isDirectory()) {
      throw new HvError('CONFIG_INVALID', `The template's ${current.slice(root.length)} is ${stats.isSymbolicLink() ? 'a symlink' : 'not a directory'}: ${what} cannot be written there`);
    }
  }
  return current;
}

/** Replaces `file` with `content`, never writing through a symlink. */
export function writeFileNoFollow(file: string, content: string, mode = 0o644): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  removeEntry(file);
  const fd = openSync(file, flags, mode);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** Removes a file or symlink (never what it points to); nothing when absent. */
export function removeEntry(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
