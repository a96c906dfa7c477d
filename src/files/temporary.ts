import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStart } from '../process/identity.js';

// hvagent's private temporary directories (a domain's XML, an unpacking's exclude list, a
// cloud-init seed): 0700, removed when their work ends. A SIGKILL skips that removal, so
// each name carries its maker's pid and start time, and the request that finishes a killed
// request's work (src/recovery/) removes them too.

const OWNER = `${process.pid}.${processStart(process.pid) ?? 'x'}`;

/** A new private directory under TMPDIR, for `purpose` (lower-case letters). */
export function temporaryDirectory(purpose: string): string {
  return mkdtempSync(join(tmpdir(), `hvagent-${purpose}-${OWNER}-`));
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
