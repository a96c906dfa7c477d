import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { HvConfig } from '../../config/schema.js';
import { readCatalogue } from '../catalogue.js';
import { namedFiles } from '../prune.js';

/**
 * Removes a file an import renamed into the catalogue `directory`, unless the manifest
 * names it: the import was killed after it committed (then it is a template), or before
 * (then it is nobody's). Returns whether it was removed.
 */
export async function removeUnlessNamed(config: HvConfig, directory: string, path: string): Promise<boolean> {
  const catalogue = await readCatalogue({ ...config, templates: { ...config.templates, catalogue: directory } });
  const named = new Set(catalogue.entries.flatMap((entry) => namedFiles(entry).map((file) => resolve(join(catalogue.directory, file)))));
  if (named.has(resolve(path))) return false;
  rmSync(path, { force: true });
  return true;
}
