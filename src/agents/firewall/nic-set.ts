import type { ActionHandler } from '../contract.js';
import { setNicFirewall } from '../../network/nic-firewall-set.js';
import { givenText } from '../network/common.js';
import { changeReply, vmName } from '../vm/common.js';

export const nicSet: ActionHandler = async (context) => {
  const request = givenText(context, { filter: 'filter', allow: 'allow', ruleSets: 'rule_sets' });
  const { vm, changed, mac, applied, firewall } = await setNicFirewall(context.config, vmName(context), String(context.inputs.mac), request, context);
  return changeReply(vm, changed, vm.state, { mac, applied, firewall });
};
