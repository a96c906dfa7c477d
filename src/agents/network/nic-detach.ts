import type { ActionHandler } from '../contract.js';
import { detachNic } from '../../network/nic-detach.js';
import { changeReply, vmName } from '../vm/common.js';

export const nicDetach: ActionHandler = async (context) => {
  const { vm, changed, mac, applied } = await detachNic(context.config, vmName(context), String(context.inputs.mac), context);
  return changeReply(vm, changed, vm.state, { mac, applied });
};
