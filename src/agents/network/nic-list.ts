import type { ActionHandler } from '../contract.js';
import { readVmNics } from '../../network/domain-nics.js';
import { mustLocate } from '../../libvirt/domains/locate.js';
import { vmName } from '../vm/common.js';
import { nicEntries } from './nic-entries.js';

export const nicList: ActionHandler = async (context) => {
  const { config, signal } = context;
  const vm = await mustLocate(config, vmName(context), signal);
  const nics = await nicEntries(config, await readVmNics(vm, signal), signal);
  return { name: vm.name, state: vm.state, vm_class: vm.vmClass, nics, count: nics.length };
};
