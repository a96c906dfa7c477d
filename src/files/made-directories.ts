import { mkdirSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isInside, lstatOrUndefined } from './containment.js';

// A directory a request makes with its missing parents (`mkdir -p`), and its undo: the
// same directories removed again, deepest first, each only while it is empty. What was
// put into one since (a volume, another pool's directory) keeps it, and its parents.

/** The outermost directory `mkdir -p path` would make, or undefined when `path` exists. */
export function firstMissing(path: string): string | undefined {
  if (lstatOrUndefined(path)) return undefined;
  let first = path;
  while (!lstatOrUndefined(dirname(first))) first = dirname(first);
  return first;
}

export function makeDirectories(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
}

/**
 * Removes `path` and each parent up to `outermost` while they are empty; harmless when they
 * were never made. Whether everything up to `outermost` is gone.
 */
export function removeMadeDirectories(path: string, outermost: string): boolean {
  // A record that does not say what a mkdir -p made: nothing is touched.
  if (!isInside(outermost, path)) return false;
  for (let at = path; ; at = dirname(at)) {
    try {
      rmdirSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
    if (at === outermost) return true;
  }
}
