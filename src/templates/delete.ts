import { unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { resolveInside } from '../files/containment.js';
import { lookUpRef } from './catalogue.js';
import { catalogueDirectory, syncDirectory } from './catalogue-files.js';
import { editManifest } from './manifest-write.js';
import { namedFiles, pruneCatalogue, withTemplateFilesExclusive } from './prune.js';
import { parseTemplateRef, templateRef } from './ref.js';
import { describeUsers, inUse, readFileUsers } from './usage.js';

// `template delete`: the entry leaves the manifest and its files leave the catalogue, unless
// a VM's disk chain (or a volume) still uses its file: then TEMPLATE_IN_USE names them and
// nothing changes. A template that does not exist is `changed: false`. A PXE template's TFTP
// tree stays (a libvirt network may serve it); only its entry goes.

export interface DeleteResult {
  /** TYPE:NAME of the template deleted (or looked for). */
  ref: string;
  changed: boolean;
  /** Files removed (real paths), this template's and old versions nobody uses any more. */
  removed: string[];
}

export async function deleteTemplate(config: HvConfig, ref: string, ctx: OperationContext): Promise<DeleteResult> {
  const written = parseTemplateRef(ref, 'ref');
  let directory: string;
  try {
    directory = catalogueDirectory(config, false);
  } catch {
    return { ref: written.type ? templateRef(written.type, written.name) : written.name, changed: false, removed: [] };
  }
  const deleted = await withTemplateFilesExclusive(config, directory, ctx, true, async () => {
    const plan = await editManifest(config, directory, ctx.deadline, async (editor) => {
      const { type, name, entry } = lookUpRef(editor.entries, ref, 'ref');
      const shown = type === undefined ? name : templateRef(type, name);
      if (!entry) return { ref: shown, files: [] as string[] };
      const files = namedFiles(entry).flatMap((relative) => {
        const resolved = resolveInside(directory, relative, 'file');
        return 'path' in resolved ? [{ relative, path: resolved.path }] : [];
      });
      if (entry.type === 'image' || entry.type === 'iso') {
        const usersOf = await readFileUsers(config, ctx.signal);
        for (const { path } of files) {
          const users = usersOf(path);
          if (inUse(users)) {
            throw new HvError('TEMPLATE_IN_USE', `Template ${shown} is in use by ${describeUsers(users)} (${path} is in their disk chains): delete those first; nothing was changed`, {
              input: 'ref',
              used_by: users.vms,
              volumes: users.volumes,
            });
          }
        }
      }
      editor.remove(entry.type, entry.name);
      // A file another entry still names stays (a hand-written catalogue may share one).
      const stillNamed = editor.namedFiles;
      return { ref: shown, files: files.filter(({ relative }) => !stillNamed.has(relative)).map(({ path }) => path), changed: true };
    });
    // The manifest no longer names them (written and synced): now they can go.
    for (const file of plan.files) unlinkSync(file);
    for (const folder of new Set(plan.files.map((file) => dirname(file)))) syncDirectory(folder);
    return { ref: plan.ref, changed: 'changed' in plan, removed: plan.files };
  });
  const pruned = await pruneCatalogue(config, ctx, false);
  return { ...deleted!, removed: [...deleted!.removed, ...pruned.removed] };
}
