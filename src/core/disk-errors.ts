import { HvError } from './errors.js';

// A write that fails because its file system is full, over quota or read-only is the
// host's problem, not the request's: it becomes one typed error that names the directory,
// the setting that chose it, and what to do. Every place hvagent writes its own files
// (locks, job records, temporary files) maps its failures here, and only here.

/** Where hvagent writes: how a person recognises it, and the setting that moves it. */
export interface WritePlace {
  /** e.g. "the lock directory" */
  readonly what: string;
  /** e.g. "paths.lock_dir" (or "TMPDIR") */
  readonly setting: string;
  readonly path: string;
}

const FULL: Record<string, string> = { ENOSPC: 'no space left on its file system', EDQUOT: 'the disk quota of its file system is used up' };

/** The typed error for a write in `place` that failed for lack of space or a read-only file system; undefined for any other failure. */
export function diskError(error: unknown, place: WritePlace): HvError | undefined {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === undefined) return undefined;
  const details = { path: place.path, setting: place.setting, errno };
  const full = FULL[errno];
  if (full) {
    return new HvError('DISK_FULL', `Cannot write in ${place.what} ${place.path} (${place.setting}): ${full} (${errno}). Free space there, or set ${place.setting} to a directory on another file system`, details, { cause: error });
  }
  if (errno === 'EROFS') {
    return new HvError('DISK_READ_ONLY', `Cannot write in ${place.what} ${place.path} (${place.setting}): its file system is mounted read-only (EROFS). Remount it read-write, or set ${place.setting} to another directory`, details, { cause: error });
  }
  return undefined;
}

/** Runs `work`, which writes in `place`; a full, over-quota or read-only file system there is thrown as its typed error. */
export function writingIn<T>(place: WritePlace, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw diskError(error, place) ?? error;
  }
}
