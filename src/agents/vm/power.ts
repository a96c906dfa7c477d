import type { ActionContext, ActionHandler } from '../contract.js';
import { changePower, shutdownVm, type PowerVerb } from '../../vm/power.js';
import { changeReply, vmName } from './common.js';

const verb =
  (power: PowerVerb): ActionHandler =>
  async (context) => {
    const { vm, changed, state } = await changePower(context.config, vmName(context), power, context);
    return changeReply(vm, changed, state);
  };

export const start = verb('start');
export const poweroff = verb('poweroff');
export const suspend = verb('suspend');
export const resume = verb('resume');
export const reboot = verb('reboot');

export const shutdown: ActionHandler = async (context: ActionContext) => {
  const options = { timeoutMs: Number(context.inputs.timeout) * 1000, force: context.inputs.force === true };
  const { vm, changed, state, forced } = await shutdownVm(context.config, vmName(context), options, context);
  return changeReply(vm, changed, state, { forced });
};
