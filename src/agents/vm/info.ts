import type { ActionHandler } from '../contract.js';
import { describeVm } from '../../vm/info.js';
import { vmName } from './common.js';

export const info: ActionHandler = async (context) => ({ ...(await describeVm(context.config, vmName(context), context.signal)) });
