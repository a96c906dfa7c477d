import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writingIn, type WritePlace } from '../core/disk-errors.js';
import { processStart } from '../process/identity.js';

// hvagent's private temporary directories (a domain's XML, an unpacking's exclude list, a
// cloud-init seed): 0700, removed when their work ends. A SIGKILL skips that removal, so
// each name carries its maker's pid and start time, and the request that finishes a killed
// request's work (src/recovery/) removes them too. A full or read-only TMPDIR is
// DISK_FULL or DISK_READ_ONLY naming it (core/disk-errors.ts), never a bare ENOSPC.

const OWNER = `${process.pid}.${processStart(process.pid) ?? 'x'}`;

/** TMPDIR as a place hvagent writes. */
export function temporaryPlace(): WritePlace {
  return { what: 'the temporary directory', setting: 'TMPDIR', path: tmpdir() };
}

/** A new private directory under TMPDIR, for `purpose` (lower-case letters). */
export function temporaryDirectory(purpose: string): string {
  const place = temporaryPlace();
  return writingIn(place, () => mkdtempSync(join(place.path, `hvagent-${purpose}-${OWNER}-`)));
}

/** Runs `work` with `content` in a private 0600 file named `name`, in a directory for `purpose` removed afterwards. */
export async function withTemporaryFile<T>(purpose: string, name: string, content: string | Uint8Array, work: (file: string) => Promise<T>): Promise<T> {
  const directory = temporaryDirectory(purpose);
  try {
    const file = join(directory, name);
    writingIn(temporaryPlace(), () => writeFileSync(file, content, { mode: 0o600 }));
    return await work(file);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Where this process makes them (recorded with its intents: another process may have another TMPDIR). */
export function temporaryRoot(): string {
  return tmpdir();
}

/** Removes what process `owner` (`PID.START`, as in an intent's name) left in `root`; returns their names. */
export function removeTemporaryOf(root: string, owner: string): string[] {
  const mine = new RegExp(`^hvagent-[a-z]+-${owner.replace('.', '\\.')}-[A-Za-z0-9]{6}$`);
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => mine.test(name));
  } catch {
    return [];
  }
  for (const name of names) rmSync(join(root, name), { recursive: true, force: true });
  return names;
}
