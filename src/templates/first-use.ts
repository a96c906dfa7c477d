import { constants, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { warn } from '../core/warnings.js';
import { resolveInside } from '../files/containment.js';
import { findTemplate, lookUpRef, readCatalogue, templateIn } from './catalogue.js';
import { catalogueId } from './catalogue-files.js';
import { currentBoot, reachedDisk, type Unflushed } from './durable.js';
import type { ManifestEntry } from './manifest-schema.js';
import { editManifest } from './manifest-write.js';
import { templateRef, type TemplateType } from './ref.js';
import type { Template } from './types.js';

// A template imported with templates.import_flush: before_use may still be only in the page
// cache when the import replies (durable.ts). Whatever uses its bytes (a clone, a copy, an
// unpacking, an attached ISO: every provision goes through templateForUse) first makes sure
// they are on disk: in the import's boot by flushing the file (at once when the kernel has
// written it back already, ~30 s after the import), in a later boot by checking that they
// got there whole. Either way the entry then loses its `unflushed` mark. A file that did
// not reach the disk whole is never used: its entry is removed, the file too, a warning
// says so, and the request that wanted it fails with TEMPLATE_LOST.

/** How long settling an entry may wait for the catalogue's lock. */
const LOCK_WAIT_MS = 60_000;

/** findTemplate, for a request about to use the template's file: on disk first. */
export async function templateForUse(config: HvConfig, ref: string, input: string, bareType?: TemplateType, signal?: AbortSignal): Promise<Template> {
  const catalogue = await readCatalogue(config);
  const { entry } = lookUpRef(catalogue.entries, ref, input, bareType);
  if (!entry || !unflushedOf(entry)) return templateIn(catalogue, ref, signal, input, bareType);
  const lost = await settleEntry(config, catalogue.directory, entry, signal);
  if (lost) throw lost;
  // Settling rewrote the manifest: read as it is now.
  return findTemplate(config, ref, signal, input, bareType);
}

/**
 * Makes the entry's file durable, or drops the entry when, after a restart, its file is
 * found incomplete: then the TEMPLATE_LOST error that says so (already given as a warning).
 */
export async function settleEntry(config: HvConfig, directory: string, entry: ManifestEntry, signal?: AbortSignal): Promise<HvError | undefined> {
  if (entry.type === 'pxe' || !entry.unflushed) return undefined;
  const record = entry.unflushed;
  const relative = importedFile(entry);
  const resolved = resolveInside(directory, relative, 'file');
  const ref = templateRef(entry.type, entry.name);
  // Unusable for another reason (a symlink leading out, the file gone): the catalogue reports it.
  if (!('path' in resolved)) return undefined;
  const { path } = resolved;
  const problem = record.boot_id === currentBoot() ? undefined : await reachedDisk(path, record, signal);
  if (problem === undefined) {
    await flush(path);
    await editManifest(config, directory, Date.now() + LOCK_WAIT_MS, (editor) => {
      const current = sameImport(editor.entries, entry, relative, record);
      if (current) editor.put(withoutMark(current));
    });
    return undefined;
  }
  const dropped = await editManifest(config, directory, Date.now() + LOCK_WAIT_MS, (editor) => (sameImport(editor.entries, entry, relative, record) ? editor.remove(entry.type, entry.name) : false));
  if (!dropped) return undefined; // another request settled it meanwhile
  rmSync(path, { force: true });
  const lost = new HvError(
    'TEMPLATE_LOST',
    `Template ${ref} was removed from the catalogue: it was imported at ${entry.imported_at ?? 'an unknown time'} and the host restarted before its file reached the disk (${problem}); import it again`,
    { template: ref, catalogue: catalogueId(directory), file: relative, problem },
  );
  warn(lost);
  return lost;
}

/** The entry's `unflushed` record: its file is not yet known to be on disk. */
export function unflushedOf(entry: ManifestEntry): Unflushed | undefined {
  return entry.type === 'pxe' ? undefined : entry.unflushed;
}

async function flush(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** The entry as it is now, if it is still the import that was looked at. */
function sameImport(entries: readonly ManifestEntry[], looked: ManifestEntry, relative: string, record: Unflushed): ManifestEntry | undefined {
  const current = entries.find((candidate) => candidate.type === looked.type && candidate.name === looked.name);
  const mark = current && unflushedOf(current);
  if (!current || current.type === 'pxe' || mark?.data_map !== record.data_map || mark.boot_id !== record.boot_id) return undefined;
  return importedFile(current) === relative ? current : undefined;
}

/** The file an import wrote: an image's or ISO's file, an archive template's archive. */
function importedFile(entry: Exclude<ManifestEntry, { type: 'pxe' }>): string {
  return entry.type === 'image' || entry.type === 'iso' ? entry.file : entry.archive;
}

function withoutMark(entry: ManifestEntry): ManifestEntry {
  if (entry.type === 'pxe') return entry;
  const { unflushed: _settled, ...rest } = entry;
  return rest as ManifestEntry;
}
