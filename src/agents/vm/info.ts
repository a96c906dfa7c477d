import type { ActionHandler } from '../contract.js';
import { describeVm, locateVm } from '../../vm/info.js';
import { vmName } from './common.js';

export const info: ActionHandler = async (context) => ({ ...(await describeVm(context.config, vmName(context), context.signal)) });

export const locate: ActionHandler = async (context) => ({ ...(await locateVm(context.config, vmName(context), context.signal)) });
