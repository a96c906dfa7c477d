import { readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { lockKey, takeLock, type HeldLock } from '../files/locks.js';
import { catalogueDirectory, catalogueId, IMPORTED_FILE, sweepPartFiles, syncDirectory, TYPE_DIRECTORY } from './catalogue-files.js';
import type { ManifestEntry } from './manifest-schema.js';
import { editManifest } from './manifest-write.js';
import { describeUsers, inUse, readFileUsers, type FileUsers } from './usage.js';

// Old versions of imported templates go once nothing needs them. A replaced (or deleted)
// template's file stays while any VM's disk chain or any volume uses it; prune removes each
// file hvagent imported (NAME+ID.EXT) that the manifest no longer names and that nobody uses,
// and the part files of killed imports. It runs after every import and delete, and as
// `template prune`.
//
// A provision reads a template's path from the manifest and only later clones it: between
// the two, nothing on the host shows that the file is needed. So every request that uses
// catalogue files holds the catalogue's file lock shared from before it reads the manifest
// until its VM is defined (shareTemplateFiles), and a file is removed only under that lock
// held exclusively.

export interface PruneResult {
  /** Files removed (real paths). */
  removed: string[];
  /** Old versions kept because something uses them. */
  kept: Array<{ file: string } & FileUsers>;
  /** The files were in use by a request just starting (a provision): nothing was looked at this time. */
  busy: boolean;
}

interface PruneContext {
  signal?: AbortSignal;
  deadline: number;
}

const NOTHING: PruneResult = { removed: [], kept: [], busy: false };

/** Takes the catalogue's file lock shared: until released, no file the manifest named meanwhile is removed. */
export async function shareTemplateFiles(config: HvConfig, waitSeconds: number): Promise<HeldLock> {
  let directory: string;
  try {
    directory = catalogueDirectory(config, false);
  } catch {
    return { release: () => undefined }; // no catalogue, no files
  }
  return takeLock(lockKey.templateFiles(catalogueId(directory)), { directory: config.paths.lock_dir, shared: true }, Math.max(1, waitSeconds));
}

/**
 * Holds the catalogue's file lock exclusively for `work`: no request is between reading the
 * manifest and defining a VM that uses what it read. `wait` false: undefined when a request
 * holds it now, rather than waiting.
 */
export async function withTemplateFilesExclusive<T>(config: HvConfig, directory: string, ctx: PruneContext, wait: boolean, work: () => Promise<T>): Promise<T | undefined> {
  const key = lockKey.templateFiles(catalogueId(directory));
  const options = { directory: config.paths.lock_dir };
  const held = wait ? await takeLock(key, options, Math.max(1, Math.floor((ctx.deadline - Date.now()) / 1000) - 1)) : await takeLock(key, options, 0);
  if (!held) return undefined;
  try {
    return await work();
  } finally {
    held.release();
  }
}

export async function pruneCatalogue(config: HvConfig, ctx: PruneContext, wait: boolean): Promise<PruneResult> {
  let directory: string;
  try {
    directory = catalogueDirectory(config, false);
  } catch {
    return NOTHING;
  }
  const parts = sweepPartFiles(directory);
  const pruned = await withTemplateFilesExclusive(config, directory, ctx, wait, () =>
    // Under the manifest's lock too: an import renames its new file into place and names it
    // in the manifest under that lock, so no file seen here is about to be named.
    editManifest(config, directory, ctx.deadline, (editor) => removeUnused(config, directory, editor.namedFiles, ctx.signal)),
  );
  return pruned ? { ...pruned, removed: [...parts, ...pruned.removed], busy: false } : { removed: parts, kept: [], busy: true };
}

/** Removes the imported files that no entry (usable or not) names and nobody uses. The caller holds both locks. */
export async function removeUnused(config: HvConfig, directory: string, named: ReadonlySet<string>, signal?: AbortSignal): Promise<Omit<PruneResult, 'busy'>> {
  const candidates = Object.values(TYPE_DIRECTORY).flatMap((folder) => {
    let names: string[];
    try {
      names = readdirSync(join(directory, folder));
    } catch {
      return [];
    }
    return names.filter((name) => IMPORTED_FILE.test(name) && !named.has(`${folder}/${name}`)).map((name) => join(directory, folder, name));
  });
  if (candidates.length === 0) return { removed: [], kept: [] };
  const usersOf = await readFileUsers(config, signal);
  const removed: string[] = [];
  const kept: PruneResult['kept'] = [];
  for (const file of candidates) {
    const users = usersOf(file);
    if (inUse(users)) {
      kept.push({ file, ...users });
      continue;
    }
    unlinkSync(file);
    removed.push(file);
  }
  for (const folder of new Set(removed.map((file) => dirname(file)))) syncDirectory(folder);
  return { removed, kept };
}

/** The catalogue-relative files an entry names. */
export function namedFiles(entry: ManifestEntry): string[] {
  switch (entry.type) {
    case 'image':
    case 'iso':
      return [entry.file];
    case 'lxc':
    case 'tar':
      return [entry.archive, ...(entry.overlay === undefined ? [] : [entry.overlay])];
    case 'pxe':
      return [];
  }
}

export function keptMessage(kept: PruneResult['kept']): string {
  return kept.map((entry) => `${entry.file} (used by ${describeUsers(entry)})`).join('; ');
}
