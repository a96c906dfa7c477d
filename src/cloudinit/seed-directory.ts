import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDirectoryInside, removeEntry, writeFileNoFollow } from '../files/inside-tree.js';
import { NOCLOUD_FILES, type NoCloudFiles } from './nocloud.js';

// A container's NoCloud seed: the same three files in its root's /var/lib/cloud/seed/nocloud,
// where cloud-init's NoCloud datasource looks first. The root is a template's unpacked
// tree, so nothing in it is followed through a symlink.

export const NOCLOUD_SEED_DIRECTORY = 'var/lib/cloud/seed/nocloud';

export function writeSeedDirectory(root: string, files: NoCloudFiles): void {
  const directory = ensureDirectoryInside(root, NOCLOUD_SEED_DIRECTORY, 'the cloud-init seed');
  for (const name of NOCLOUD_FILES) writeFileNoFollow(join(directory, name), files[name], name === 'user-data' ? 0o600 : 0o644);
}

/** Removes the seed's files again (the directories may be the template's: they stay). */
export function removeSeedDirectory(root: string): void {
  let directory = root;
  for (const segment of NOCLOUD_SEED_DIRECTORY.split('/')) {
    directory = join(directory, segment);
    try {
      if (!lstatSync(directory).isDirectory()) return; // a symlink or a file: nothing of ours is behind it
    } catch {
      return;
    }
  }
  for (const name of NOCLOUD_FILES) removeEntry(join(directory, name));
}
