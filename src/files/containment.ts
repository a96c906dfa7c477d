import { lstatSync, mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { PoolConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';

// Every path hvagent is asked to use stays where the operator allowed it, whatever the
// request or a file says, so that libvirt never hands a guest a file of the host:
//   - paths named in a request (kernels, disks, root directories) resolve, symlinks
//     followed, inside paths.images;
//   - files a template catalogue entry names resolve inside the catalogue directory;
//   - a pool is one real directory (never a symlink), and a volume one entry of it that
//     is never followed through a symlink.

export type EntryKind = 'file' | 'directory';

export function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

// ── paths named in a request ──

/** The real path of a request's `input`, which must exist inside one of `allowedRoots` (`rootsAre`: what they are called). */
export function resolveAllowedPath(input: string, path: string, kind: EntryKind, allowedRoots: readonly string[], rootsAre = 'the allowed image directories'): string {
  if (!path.startsWith('/') || path.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new HvError('INPUT_INVALID', `Input '${input}' must be an absolute path without . or .. segments`, { input });
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new HvError('NOT_FOUND', `Input '${input}': ${path} does not exist`, { input });
  }
  const roots = allowedRoots.flatMap((root) => {
    try {
      return [realpathSync(root)];
    } catch {
      return [];
    }
  });
  if (!roots.some((root) => isInside(root, real))) {
    throw new HvError('NOT_AUTHORIZED', `Input '${input}': ${path} is outside ${rootsAre} (${allowedRoots.join(', ')})`, {
      input,
    });
  }
  const stats = statSync(real);
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory()) {
    throw new HvError('INPUT_INVALID', `Input '${input}': ${path} is not a ${kind}`, { input });
  }
  return real;
}

/**
 * A directory a request wants made or used (a new pool's), which must lie strictly
 * inside one of `allowedRoots`: its deepest existing ancestor is resolved (symlinks
 * followed) and what is left is appended, so no symlink can lead it elsewhere. The path
 * itself, when it exists, must be a real directory, not a symlink to one.
 */
export function resolveNewDirectory(input: string, path: string, allowedRoots: readonly string[]): { path: string; exists: boolean } {
  const segments = path.split('/').slice(1);
  if (!path.startsWith('/') || segments.some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw new HvError('INPUT_INVALID', `Input '${input}' must be an absolute path without empty, . or .. segments`, { input });
  }
  const lookUp = (at: string) => {
    try {
      return lstatSync(at, { throwIfNoEntry: false });
    } catch (error) {
      throw new HvError('INPUT_INVALID', `Input '${input}': ${path} cannot be a directory (${(error as NodeJS.ErrnoException).code ?? 'error'} at ${at})`, { input });
    }
  };
  let existing = path;
  while (!lookUp(existing)) existing = dirname(existing);
  const stats = lookUp(path);
  if (stats?.isSymbolicLink()) throw new HvError('INPUT_INVALID', `Input '${input}': ${path} is a symlink; name the directory it points to`, { input });
  if (stats && !stats.isDirectory()) throw new HvError('INPUT_INVALID', `Input '${input}': ${path} exists and is not a directory`, { input });
  const real = join(realpathSync(existing), path.slice(existing.length));
  const roots = allowedRoots.flatMap((root) => {
    try {
      return [realpathSync(root)];
    } catch {
      return [];
    }
  });
  if (!roots.some((root) => real !== root && isInside(root, real))) {
    const why = roots.includes(real) ? 'is an allowed directory itself; name a directory inside it' : 'is not inside the allowed directories';
    throw new HvError('NOT_AUTHORIZED', `Input '${input}': ${path} ${why} (${allowedRoots.join(', ')})`, { input });
  }
  return { path: real, exists: stats !== undefined };
}

// ── files a catalogue names, relative to its directory ──

/** Why a catalogue-relative path is refused, or undefined when its spelling is acceptable. */
export function relativePathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/')) return 'is absolute (paths are relative to the catalogue directory)';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '..')) return "has a '..' segment";
  if (segments.some((segment) => segment === '.' || segment === '')) return "has an empty or '.' segment";
  return undefined;
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

// ── pools and their volumes ──

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
