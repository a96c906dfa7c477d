import type { ActionHandler } from '../contract.js';
import { pruneCatalogue } from '../../templates/prune.js';

export const prune: ActionHandler = async ({ config, signal, deadline }) => {
  const pruned = await pruneCatalogue(config, { signal, deadline }, true);
  return {
    changed: pruned.removed.length > 0,
    removed_files: pruned.removed,
    kept_files: pruned.kept.map(({ file, vms, volumes }) => ({ file, used_by: vms, volumes })),
  };
};
