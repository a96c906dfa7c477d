import type { ActionHandler } from '../contract.js';
import { attachNic } from '../../network/nic-attach.js';
import { changeReply, vmName } from '../vm/common.js';

export const nicAttach: ActionHandler = async (context) => {
  const { inputs } = context;
  const text = (input: string) => (inputs[input] === undefined ? {} : { [input]: String(inputs[input]) });
  const request = { ...text('network'), ...text('bridge'), ...text('mac'), ...text('model') };
  const { vm, changed, mac, applied, nic } = await attachNic(context.config, vmName(context), request, context);
  return changeReply(vm, changed, vm.state, { mac, applied, nic });
};
