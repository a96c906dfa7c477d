import type { ActionHandler } from '../contract.js';
import { modifyVm } from '../../vm/resources.js';
import { changeReply, vmName } from './common.js';

export const modify: ActionHandler = async (context) => {
  const { inputs } = context;
  const change = {
    ...(inputs.memory_mb !== undefined && { memoryMb: Number(inputs.memory_mb) }),
    ...(inputs.vcpus !== undefined && { vcpus: Number(inputs.vcpus) }),
    ...(inputs.autostart !== undefined && { autostart: inputs.autostart === true }),
    ...(inputs.eject_cdrom === true && { ejectCdrom: true }),
  };
  const { vm, changed, state, applied } = await modifyVm(context.config, vmName(context), change, context);
  return changeReply(vm, changed, state, { applied });
};
