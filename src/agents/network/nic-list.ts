import type { ActionHandler } from '../contract.js';
import { listVmNics } from '../../network/nic-entries.js';
import { vmName } from '../vm/common.js';

export const nicList: ActionHandler = async (context) => {
  const { vm, nics } = await listVmNics(context.config, vmName(context), context.signal);
  return { name: vm.name, state: vm.state, vm_class: vm.vmClass, nics, count: nics.length };
};
