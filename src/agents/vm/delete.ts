import type { ActionHandler } from '../contract.js';
import { deleteVm as deleteOperation } from '../../vm/delete.js';
import { changeReply, vmName } from './common.js';

export const deleteVm: ActionHandler = async (context) => {
  const name = vmName(context);
  const options = { force: context.inputs.force === true, removeVolumes: context.inputs.remove_volumes === true };
  const { vm, changed, removedVolumes, keptVolumes } = await deleteOperation(context.config, name, options, context);
  if (!vm) return { name, changed, state: 'absent', vm_class: null, removed_volumes: [], kept_volumes: [] };
  return changeReply(vm, changed, 'absent', { removed_volumes: removedVolumes, kept_volumes: keptVolumes });
};
