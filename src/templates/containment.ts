import { realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

// Every file a catalogue entry names must stay inside the catalogue directory: no
// absolute path, no `.`/`..` segment, no NUL, and no symlink (anywhere on the way)
// leading out. Whatever the manifest says, hvagent never hands a guest a host file.

export type EntryKind = 'file' | 'directory';

/** Why a catalogue-relative path is refused, or undefined when its spelling is acceptable. */
export function relativePathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/')) return 'is absolute (paths are relative to the catalogue directory)';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '..')) return "has a '..' segment";
  if (segments.some((segment) => segment === '.' || segment === '')) return "has an empty or '.' segment";
  return undefined;
}

export function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/**
 * The real path of `relative` inside the (real) catalogue directory `root`, or a
 * sentence saying why not (for the caller's CONFIG_INVALID message).
 */
export function resolveInside(root: string, relative: string, kind: EntryKind): { path: string } | { problem: string } {
  const spelling = relativePathProblem(relative);
  if (spelling) return { problem: `'${relative}' ${spelling}` };
  let real: string;
  try {
    real = realpathSync(join(root, relative));
  } catch {
    return { problem: `'${relative}' does not exist in the catalogue` };
  }
  if (!isInside(root, real)) return { problem: `'${relative}' leads out of the catalogue (to ${real})` };
  const stats = statSync(real);
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory()) return { problem: `'${relative}' is not a ${kind}` };
  return { path: real };
}
