import type { ActionContext, ActionHandler } from '../contract.js';
import { changeNetworkState, type NetworkStateChange } from '../../network/network-state.js';
import { networkChangeReply, networkName } from './common.js';

const change = (what: (context: ActionContext) => NetworkStateChange): ActionHandler => async (context) =>
  networkChangeReply(await changeNetworkState(context.config, networkName(context), what(context), context));

export const start = change(() => ({ start: true }));
export const stop = change((context) => ({ stop: true, force: context.inputs.force === true }));
export const autostart = change((context) => ({ autostart: context.inputs.enabled === true }));
