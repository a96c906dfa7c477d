import type { ActionHandler } from '../contract.js';
import { deleteTemplate } from '../../templates/delete.js';

export const deleteAction: ActionHandler = async ({ inputs, config, signal, deadline, progress }) => {
  const deleted = await deleteTemplate(config, String(inputs.ref), { signal, deadline, progress });
  return { ref: deleted.ref, changed: deleted.changed, removed_files: deleted.removed };
};
