import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writingIn, type WritePlace } from '../core/disk-errors.js';

/** TMPDIR as a place hvagent writes (core/disk-errors.ts). */
export function temporaryDirectory(): WritePlace {
  return { what: 'the temporary directory', setting: 'TMPDIR', path: tmpdir() };
}

/**
 * Runs `work` with `content` in a private file (0600, in a fresh 0700 directory under
 * TMPDIR), removed afterwards. A full or read-only TMPDIR is DISK_FULL or DISK_READ_ONLY
 * naming it, never a bare ENOSPC.
 */
export async function withScratchFile<T>(prefix: string, name: string, content: string | Uint8Array, work: (file: string) => Promise<T>): Promise<T> {
  const place = temporaryDirectory();
  const directory = writingIn(place, () => mkdtempSync(join(place.path, prefix)));
  try {
    const file = join(directory, name);
    writingIn(place, () => writeFileSync(file, content, { mode: 0o600 }));
    return await work(file);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
