import type { ActionHandler } from '../contract.js';
import { attachNic } from '../../network/nic-attach.js';
import { changeReply, vmName } from '../vm/common.js';
import { givenText } from './common.js';

export const nicAttach: ActionHandler = async (context) => {
  const request = givenText(context, { network: 'network', bridge: 'bridge', mac: 'mac', model: 'model', filter: 'filter', allow: 'allow', ruleSets: 'rule_sets' });
  const { vm, changed, mac, applied, nic } = await attachNic(context.config, vmName(context), request, context);
  return changeReply(vm, changed, vm.state, { mac, applied, nic });
};
